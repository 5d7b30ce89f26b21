// oauth2-mock-server as a real OIDC issuer for the end-to-end tests (tests/src/idp.rs).
//
//   node mock-server.mjs <port>        (0: the system picks a free port)
//
// Binds 127.0.0.1; the issuer is `http://localhost:<port>` (the library's choice). Prints one JSON
// line `{"issuer": …, "port": …}` on stdout once it listens. Exits when stdin closes (the test
// process went away) or on SIGTERM/SIGINT.
//
// Tokens: POST /token (client_credentials) with optional form fields, copied into the token:
//   aud          the audience (the library's own field; repeat it for several)
//   sub          the subject
//   roles        space-separated → `roles` array
//   permissions  space-separated → `permissions` array
//   scope        the library's own field → `scope`
// Test-only route: POST /test/rotate generates a new RS256 key, publishes it beside the old ones
// in /jwks and signs every later token with it; answers {"kid": <new kid>, "kids": [all kids]}.
import { OAuth2Server, Events } from 'oauth2-mock-server';

const port = Number(process.argv[2] ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`usage: node mock-server.mjs <port>; got ${process.argv[2]}`);
  process.exit(2);
}

const server = new OAuth2Server();
const keys = server.issuer.keys;
let current = (await keys.generate('RS256')).kid;
// The library signs with its keys in turn; a rotating issuer signs with its newest key only.
const pick = keys.get.bind(keys);
keys.get = (kid) => pick(kid ?? current);

const list = (value) =>
  (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(' ')).filter(Boolean);

server.service.on(Events.BeforeTokenSigning, (token, req) => {
  const body = req.body ?? {};
  if (body.sub !== undefined) token.payload.sub = String(body.sub);
  for (const claim of ['roles', 'permissions']) {
    if (body[claim] !== undefined) token.payload[claim] = list(body[claim]);
  }
});

server.service.addRoute('POST', '/test/rotate', async (_req, res) => {
  current = (await keys.generate('RS256')).kid;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kid: current, kids: keys.toJSON().map((k) => k.kid) }));
});

await server.start(port, '127.0.0.1');
process.stdout.write(`${JSON.stringify({ issuer: server.issuer.url, port: server.address().port })}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop).on('close', stop).resume();
