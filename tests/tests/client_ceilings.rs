//! Client ceilings end to end, over HTTP, with tokens of a real identity provider (`oidc-provider`,
//! `mcp_rbac_tests::idp`): one user through two clients, a token whose actor chain names the
//! capped client, and a server whose client policy refuses the clients it does not name.
//!
//! Needs the npm project in `tests/idp/`, which the first test installs (`mcp_rbac_tests::kits`).

use mcp_rbac::{ClientPolicy, Issuer, ServerBuilder};
use mcp_rbac_examples::products::policy::role_policy;
use mcp_rbac_examples::products::{Catalog, Products, Running};
use mcp_rbac_tests::fixtures::{eventually, products_trusting_issuer, EVENTUALLY};
use mcp_rbac_tests::idp::{jwt_parts, OidcProvider, AGENT_CLIENT};
use mcp_rbac_tests::{issuer_for, names, Mcp, Reply};
use serde_json::{json, Value};

/// The products server, stateless, trusting `issuer` through discovery with its own resource URL
/// as the audience, its decisions written to `audit_log`, its metrics served with `metrics`.
async fn products_trusting(
    issuer: &str,
    audit_log: Option<std::path::PathBuf>,
    metrics: bool,
) -> Running {
    products_trusting_issuer(issuer, |cli| {
        cli.audit_log = audit_log.clone();
        if metrics {
            cli.metrics = Some(([127, 0, 0, 1], 0).into());
        }
    })
    .await
}

fn text(reply: &Reply) -> &str {
    reply.result().expect("a result")["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
}

/// The 403 of a call the user may make and the client may not.
fn capped(reply: &Reply, tool: &str, required: &str, client: &str) {
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let error = reply.rpc_error().unwrap_or_else(|| panic!("{}", reply.raw));
    assert_eq!(error["code"], 403, "{}", reply.raw);
    assert_eq!(
        error["data"],
        json!({"tool": tool, "required": required, "reason": "client_ceiling"})
    );
    assert_eq!(
        error["message"],
        format!(
            "permission denied: tool `{tool}` requires {required}: the user holds it, but the \
             ceiling of client `{client}` (or of a client in the token's actor chain) does not \
             allow it"
        )
    );
}

async fn user_token(
    idp: &OidcProvider,
    client: &str,
    roles: &str,
    resource: &str,
    actor: Option<(&str, &str)>,
) -> String {
    idp.user_token(client, "alice", roles, resource, actor)
        .await
        .unwrap_or_else(|(status, body)| panic!("HTTP {status} {body}"))
}

/// Alice, an admin, signs in through two clients of the same IdP. Through `mcp-rbac-tests` (a
/// client the products policy does not name) she deletes; through `readonly-agent` (capped at
/// `Guest.Read`) the delete is a 403 with `data.reason = "client_ceiling"`, the body never runs,
/// reading still works, `tools/list` shows only what the agent may call, and the decision record
/// says `client_ceiling` and names the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_through_two_clients() {
    let dir = std::env::temp_dir().join(format!("mcp-rbac-ceilings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let audit = dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&audit);
    let idp = OidcProvider::start("ES256").await;
    let server = products_trusting(&idp.issuer, Some(audit.clone()), true).await;
    let url = server.url.clone();

    let through_app = user_token(&idp, idp.client_id(), "admin", &url, None).await;
    let through_agent = user_token(&idp, AGENT_CLIENT, "admin", &url, None).await;
    let (_, app_claims) = jwt_parts(&through_app);
    let (_, agent_claims) = jwt_parts(&through_agent);
    assert_eq!(app_claims["sub"], "alice");
    assert_eq!(agent_claims["sub"], "alice", "one user");
    assert_eq!(agent_claims["client_id"], AGENT_CLIENT);
    assert_eq!(app_claims["client_id"], idp.client_id());

    let app = Mcp::new(&url, Some(&through_app));
    let reply = app.call_tool("delete_product", json!({"id": 2})).await;
    assert_eq!(text(&reply), "product 2 deleted", "{}", reply.raw);
    let whoami = app.call_tool("whoami", json!({})).await;
    assert!(text(&whoami).contains("alice"), "{}", whoami.raw);

    let agent = Mcp::new(&url, Some(&through_agent));
    let reply = agent.call_tool("delete_product", json!({"id": 3})).await;
    capped(&reply, "delete_product", "Admin.Write", AGENT_CLIENT);
    let reply = agent
        .call_tool(
            "create_product",
            json!({"name": "kite", "price_cents": 100}),
        )
        .await;
    capped(
        &reply,
        "create_product",
        "any(User.Write, Admin.Write)",
        AGENT_CLIENT,
    );
    let reply = agent.call_tool("list_products", json!({})).await;
    assert!(reply.rpc_error().is_none(), "{}", reply.raw);
    assert_eq!(
        server.counters.get("delete_product"),
        1,
        "the body ran once"
    );

    let listed = names(&agent.list_tools().await, "tools");
    assert_eq!(listed, ["get_product", "list_products", "whoami"]);
    let listed = names(&app.list_tools().await, "tools");
    assert!(listed.contains(&"delete_product".to_owned()), "{listed:?}");

    let record: Value = eventually("the client_ceiling record", EVENTUALLY, || {
        let audit = audit.clone();
        async move {
            let text = std::fs::read_to_string(&audit).ok()?;
            text.lines()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|r| r["name"] == "delete_product" && r["decision"] == "deny")
        }
    })
    .await;
    assert_eq!(record["reason"], "client_ceiling", "{record}");
    assert_eq!(record["client"], AGENT_CLIENT, "{record}");
    assert_eq!(record["subject"], "alice", "{record}");

    // The decisions metric counts the refusal under the same reason. (The recorder is global to
    // this test binary, so other tests' decisions may be counted too: all of them refuse
    // `delete_product` for the ceiling but one, hence no assertion on other reasons.)
    let metrics = server.metrics.expect("the metrics address");
    let text = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    let series = |reason: &str| {
        text.lines().any(|line| {
            line.starts_with("mcp_rbac_decisions_total{")
                && [
                    "kind=\"tool\"",
                    "name=\"delete_product\"",
                    "decision=\"deny\"",
                    &format!("reason=\"{reason}\""),
                ]
                .iter()
                .all(|label| line.contains(label))
        })
    };
    assert!(series("client_ceiling"), "{text}");
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A token issued to an uncapped client whose actor chain (`act.client_id`) names the capped
/// client is capped like the client itself; an actor of a client the policy does not name is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_chain_naming_the_capped_client_is_capped() {
    let idp = OidcProvider::start("ES256").await;
    let server = products_trusting(&idp.issuer, None, false).await;
    let url = server.url.clone();

    let delegated = user_token(
        &idp,
        idp.client_id(),
        "admin",
        &url,
        Some(("agent-7", AGENT_CLIENT)),
    )
    .await;
    let (_, claims) = jwt_parts(&delegated);
    assert_eq!(
        claims["act"],
        json!({"sub": "agent-7", "client_id": AGENT_CLIENT})
    );
    assert_eq!(claims["client_id"], idp.client_id());
    let mcp = Mcp::new(&url, Some(&delegated));
    let reply = mcp.call_tool("delete_product", json!({"id": 2})).await;
    capped(&reply, "delete_product", "Admin.Write", idp.client_id());
    let reply = mcp.call_tool("get_product", json!({"id": 2})).await;
    assert!(reply.rpc_error().is_none(), "{}", reply.raw);

    let other_actor = user_token(
        &idp,
        idp.client_id(),
        "admin",
        &url,
        Some(("agent-8", "some-other-agent")),
    )
    .await;
    let reply = Mcp::new(&url, Some(&other_actor))
        .call_tool("delete_product", json!({"id": 2}))
        .await;
    assert_eq!(text(&reply), "product 2 deleted", "{}", reply.raw);
    assert_eq!(server.counters.get("delete_product"), 1);
    server.shutdown().await;
}

/// A server whose client policy caps the clients it does not name at nothing: the real IdP's
/// `mcp-rbac-tests` client is refused every permission (reason `client_ceiling`; the public
/// `whoami` stays open, as to every authenticated caller), `readonly-agent` may read and not
/// delete, and a user without the role is refused for want of it (`missing_permission`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deny_all_default_refuses_unnamed_clients() {
    let idp = OidcProvider::start("ES256").await;
    let clients = ClientPolicy::from_toml_str(
        "default = \"none\"\n[clients.readonly-agent]\npermissions = [\"Guest.Read\"]\n",
    )
    .expect("client policy");
    let server = ServerBuilder::new("http://127.0.0.1:0/mcp")
        .issuer(Issuer::discover(&idp.issuer))
        .role_policy(role_policy())
        .client_policy(clients)
        .stateless(true)
        .start(|| Products::new(Catalog::seeded()))
        .await
        .expect("server starts");
    let url = server.url().to_owned();

    let unnamed = Mcp::new(
        &url,
        Some(&user_token(&idp, idp.client_id(), "admin", &url, None).await),
    );
    for (tool, args, required) in [
        ("delete_product", json!({"id": 2}), "Admin.Write"),
        ("list_products", json!({}), "Guest.Read"),
    ] {
        let reply = unnamed.call_tool(tool, args).await;
        capped(&reply, tool, required, idp.client_id());
    }
    let reply = unnamed.call_tool("whoami", json!({})).await;
    assert!(reply.rpc_error().is_none(), "{}", reply.raw);
    assert_eq!(names(&unnamed.list_tools().await, "tools"), ["whoami"]);

    let agent = Mcp::new(
        &url,
        Some(&user_token(&idp, AGENT_CLIENT, "admin", &url, None).await),
    );
    let reply = agent.call_tool("list_products", json!({})).await;
    assert!(reply.rpc_error().is_none(), "{}", reply.raw);
    let reply = agent.call_tool("delete_product", json!({"id": 2})).await;
    capped(&reply, "delete_product", "Admin.Write", AGENT_CLIENT);

    // A guest through the agent lacks Admin.Write whatever the ceiling: the ordinary denial.
    let guest = Mcp::new(
        &url,
        Some(&user_token(&idp, AGENT_CLIENT, "guest", &url, None).await),
    );
    let reply = guest.call_tool("delete_product", json!({"id": 2})).await;
    let error = reply.rpc_error().expect("a JSON-RPC error");
    assert_eq!(error["code"], 403);
    assert_ne!(error["data"]["reason"], "client_ceiling", "{}", reply.raw);
    server.shutdown().await;
}

/// A verifier given to `Issuer::verifier` has its principals capped by the server builder too:
/// here the development issuer's verifier, with tokens naming a client through `azp`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principals_of_a_custom_verifier_are_capped() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let (issuer, verifier) = issuer_for(&url);
    let clients = ClientPolicy::from_toml_str(
        "default = \"none\"\n[clients.ide]\npermissions = [\"Admin.*\", \"Guest.Read\"]\n",
    )
    .expect("client policy");
    let server = ServerBuilder::new(&url)
        .issuer(Issuer::verifier(verifier, None::<String>))
        .client_policy(clients)
        .stateless(true)
        .start(|| Products::new(Catalog::seeded()))
        .await
        .expect("server starts");
    let token = |azp: &str| {
        issuer
            .token(json!({"sub": "bob", "azp": azp, "permissions": ["Admin.Write", "Guest.Read"]}))
    };
    let reply = Mcp::new(&url, Some(&token("ide")))
        .call_tool("delete_product", json!({"id": 2}))
        .await;
    assert_eq!(text(&reply), "product 2 deleted", "{}", reply.raw);
    let reply = Mcp::new(&url, Some(&token("stranger")))
        .call_tool("delete_product", json!({"id": 3}))
        .await;
    capped(&reply, "delete_product", "Admin.Write", "stranger");
    // A malformed actor chain is a refused token, not a skipped ceiling.
    let bad_act = issuer
        .token(json!({"sub": "bob", "azp": "ide", "act": "agent", "permissions": ["Admin.Write"]}));
    let reply = Mcp::new(&url, Some(&bad_act))
        .call_tool("delete_product", json!({"id": 3}))
        .await;
    assert_eq!(reply.status, 401, "{}", reply.raw);
    assert_eq!(
        reply.json["error_description"],
        "token claim `act` must be an object naming the actor's `sub`"
    );
    server.shutdown().await;
}
