// oidc-provider as a real authorization server issuing RFC 8707 resource-bound JWT access tokens
// (`typ: at+jwt`) through the client credentials grant, for the end-to-end tests (tests/src/idp.rs).
//
//   node oidc-provider.mjs <port> [ES256|RS256] [jwt|opaque]
//       (port 0: the system picks; default ES256 and jwt)
//
// Binds 127.0.0.1; the issuer is `http://127.0.0.1:<port>`. Its JWKS holds an ES256 and an RS256
// key (generated at start); access tokens are signed with the algorithm given. Prints one JSON line
// `{"issuer": …, "port": …, "client_id": …, "client_secret": …, "clients": {id: secret, …}}` on
// stdout once it listens. Exits when stdin closes (the test process went away) or on SIGTERM/SIGINT.
//
// Two confidential clients: `mcp-rbac-tests` (`client_id` above) and `readonly-agent` (an AI agent
// a deployment caps), both in `clients`.
//
// Tokens: POST <token_endpoint> with HTTP Basic client authentication and
//   grant_type=client_credentials&resource=<resource URL>&scope=<space-separated scopes>
// Any absolute resource URL is a resource server whose audience is that URL and whose scopes
// are SCOPES below.
//
// User tokens, for one user signed in through either client: the same request with
//   grant_type=urn:mcp-rbac:params:oauth:grant-type:test-user&username=<sub>&roles=<space-separated>
//   [&actor=<sub>&actor_client_id=<client>]
// gives a JWT access token whose `sub` is the user, `client_id` the client that asked, `roles` the
// roles given and, with `actor`, an RFC 8693 `act` claim naming the actor (a stand-in for a token
// exchange, which oidc-provider does not implement). JWT format only. With `opaque`, access tokens are opaque strings that a resource server checks
// through RFC 7662 introspection (POST <introspection_endpoint>, the same client's credentials).
//
// DPoP (RFC 9449, oidc-provider's `dPoP` feature): a client credentials request carrying a `DPoP`
// proof gets a token bound to the proof's key (`cnf.jkt`) with `token_type` `DPoP`; a request
// without one (every other test) gets a plain bearer token. No server nonce is asked for.
import http from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? 0);
const alg = process.argv[3] ?? 'ES256';
const format = process.argv[4] ?? 'jwt';
if (
  !Number.isInteger(port) || port < 0 || port > 65535
  || !['ES256', 'RS256'].includes(alg) || !['jwt', 'opaque'].includes(format)
) {
  console.error(`usage: node oidc-provider.mjs <port> [ES256|RS256] [jwt|opaque]; got ${process.argv.slice(2).join(' ')}`);
  process.exit(2);
}

const SCOPES = 'Guest.Read User.Read User.Write Admin.Read Admin.Write';
const CLIENT_ID = 'mcp-rbac-tests';
const CLIENT_SECRET = randomUUID();
const AGENT_ID = 'readonly-agent';
const AGENT_SECRET = randomUUID();
const USER_GRANT = 'urn:mcp-rbac:params:oauth:grant-type:test-user';

const resourceServerInfo = (resourceIndicator) => ({
  scope: SCOPES,
  audience: resourceIndicator,
  accessTokenTTL: 300,
  accessTokenFormat: format,
  ...(format === 'jwt' ? { jwt: { sign: { alg } } } : {}),
});

const jwk = (pair, keyAlg) => ({
  ...pair.privateKey.export({ format: 'jwk' }),
  alg: keyAlg,
  use: 'sig',
  kid: `${keyAlg.toLowerCase()}-${randomUUID()}`,
});
const keys = [
  jwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ES256'),
  jwk(generateKeyPairSync('rsa', { modulusLength: 2048 }), 'RS256'),
];

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject).listen(port, '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  jwks: { keys },
  clients: [[CLIENT_ID, CLIENT_SECRET], [AGENT_ID, AGENT_SECRET]].map(([id, secret]) => ({
    client_id: id,
    client_secret: secret,
    grant_types: ['client_credentials', USER_GRANT],
    response_types: [],
    redirect_uris: [],
    scope: SCOPES,
  })),
  // The user grant's roles and actor, as claims of its access tokens.
  extraTokenClaims: async (ctx, token) => {
    if (token.gty !== 'test_user') return undefined;
    const { roles, actor, actor_client_id: actorClientId } = ctx.oidc.params;
    return {
      roles: (roles ?? '').split(' ').filter(Boolean),
      ...(actor ? { act: { sub: actor, ...(actorClientId ? { client_id: actorClientId } : {}) } } : {}),
    };
  },
  scopes: SCOPES.split(' '),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true },
    // Any authenticated client may introspect: the resource server uses the test client's
    // credentials.
    introspection: { enabled: true, allowedPolicy: async () => true },
    resourceIndicators: {
      enabled: true,
      getResourceServerInfo: (_ctx, resourceIndicator) => resourceServerInfo(resourceIndicator),
    },
  },
});
provider.registerGrantType(USER_GRANT, async (ctx) => {
  const { client, params } = ctx.oidc;
  if (!params.username || !params.resource) {
    ctx.status = 400;
    ctx.body = { error: 'invalid_request', error_description: 'username and resource are required' };
    return;
  }
  const info = resourceServerInfo(params.resource);
  const resourceServer = {
    ...info,
    identifier: () => params.resource,
    get scopes() { return new Set(info.scope.split(' ')); },
  };
  const allowed = new Set(SCOPES.split(' '));
  const scope = (params.scope ?? '').split(' ').filter((s) => allowed.has(s)).join(' ') || undefined;
  const grant = new provider.Grant({ accountId: params.username, clientId: client.clientId });
  if (scope) grant.addResourceScope(params.resource, scope);
  const grantId = await grant.save();
  const token = new provider.AccessToken({
    accountId: params.username,
    client,
    grantId,
    gty: 'test_user',
    scope,
    resourceServer,
  });
  const value = await token.save();
  ctx.body = {
    access_token: value,
    token_type: token.tokenType,
    expires_in: token.expiration,
    ...(scope ? { scope } : {}),
  };
}, ['username', 'roles', 'actor', 'actor_client_id', 'resource', 'scope']);

server.on('request', provider.callback());

process.stdout.write(
  `${JSON.stringify({
    issuer,
    port: server.address().port,
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    clients: { [CLIENT_ID]: CLIENT_SECRET, [AGENT_ID]: AGENT_SECRET },
  })}\n`,
);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop).on('close', stop).resume();
