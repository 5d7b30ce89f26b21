// The TypeScript SDK (@modelcontextprotocol/sdk) against a protected MCP server, as
// tests/tests/clients.rs runs it:
//
//   MCP_URL=http://127.0.0.1:PORT/mcp ADMIN_TOKEN=… GUEST_TOKEN=… node sdk-client.mjs
//
// Prints one JSON object on stdout: what the SDK returned or threw for each step, unjudged
// (the Rust test asserts on it). Tokens come from the environment, never the command line.
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { extractWWWAuthenticateParams } from "@modelcontextprotocol/sdk/client/auth.js";

const url = new URL(required("MCP_URL"));
const sdkVersion = JSON.parse(
  readFileSync(new URL("./node_modules/@modelcontextprotocol/sdk/package.json", import.meta.url)),
).version;

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
}

// What an error carries, whichever SDK class threw it (McpError, StreamableHTTPError, …).
function describe(error) {
  return { name: error?.constructor?.name ?? typeof error, code: error?.code ?? null, message: String(error?.message ?? error), data: error?.data ?? null };
}

// A client whose requests carry `token` (if any) through requestInit.headers; `responses`
// collects each HTTP answer's status and the SDK's own reading of its WWW-Authenticate header.
async function connect(token, responses) {
  const recordingFetch = async (input, init) => {
    const response = await fetch(input, init);
    const params = extractWWWAuthenticateParams(response);
    responses.push({
      method: init?.method ?? "GET",
      status: response.status,
      resource_metadata: params.resourceMetadataUrl?.href ?? null,
      error: params.error ?? null,
    });
    return response;
  };
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers }, fetch: recordingFetch });
  const client = new Client({ name: "mcp-rbac-e2e-ts", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

async function step(body) {
  try {
    return { ok: await body() };
  } catch (error) {
    return { threw: describe(error) };
  }
}

const toolNames = (list) => list.tools.map((t) => t.name).sort();
const out = { client: "@modelcontextprotocol/sdk", version: sdkVersion };

for (const role of ["admin", "guest"]) {
  const client = await connect(required(`${role.toUpperCase()}_TOKEN`), []);
  out[role] = {
    protocol: client.transport?.protocolVersion ?? null,
    tools: (await step(async () => toolNames(await client.listTools()))),
  };
  if (role === "guest") {
    out.guest.allowed = await step(() => client.callTool({ name: "list_products", arguments: {} }));
    out.guest.denied = await step(() => client.callTool({ name: "delete_product", arguments: { id: 2 } }));
  }
  await client.close();
}

const responses = [];
out.no_token = await step(() => connect(null, responses));
out.no_token.responses = responses;
// Follow the challenge as an OAuth client would: the metadata document it names.
const metadataUrl = responses.find((r) => r.resource_metadata)?.resource_metadata;
if (metadataUrl) {
  const metadata = await fetch(metadataUrl);
  out.no_token.metadata = { status: metadata.status, body: await metadata.json().catch(() => null) };
}

console.log(JSON.stringify(out));
