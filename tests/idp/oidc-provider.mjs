// oidc-provider as a real authorization server issuing RFC 8707 resource-bound JWT access tokens
// (`typ: at+jwt`) through the client credentials grant, for the end-to-end tests (tests/src/idp.rs).
//
//   node oidc-provider.mjs <port> [ES256|RS256] [jwt|opaque]
//       (port 0: the system picks; default ES256 and jwt)
//
// Binds 127.0.0.1; the issuer is `http://127.0.0.1:<port>`. Its JWKS holds an ES256 and an RS256
// key (generated at start); access tokens are signed with the algorithm given. Prints one JSON line
// `{"issuer": …, "port": …, "client_id": …, "client_secret": …}` on stdout once it listens. Exits
// when stdin closes (the test process went away) or on SIGTERM/SIGINT.
//
// Tokens: POST <token_endpoint> with HTTP Basic client authentication and
//   grant_type=client_credentials&resource=<resource URL>&scope=<space-separated scopes>
// Any absolute resource URL is a resource server whose audience is that URL and whose scopes
// are SCOPES below. With `opaque`, access tokens are opaque strings that a resource server checks
// through RFC 7662 introspection (POST <introspection_endpoint>, the same client's credentials).
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
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: SCOPES,
    },
  ],
  scopes: SCOPES.split(' '),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // Any authenticated client may introspect: the resource server uses the test client's
    // credentials.
    introspection: { enabled: true, allowedPolicy: async () => true },
    resourceIndicators: {
      enabled: true,
      getResourceServerInfo: (_ctx, resourceIndicator) => ({
        scope: SCOPES,
        audience: resourceIndicator,
        accessTokenTTL: 300,
        accessTokenFormat: format,
        ...(format === 'jwt' ? { jwt: { sign: { alg } } } : {}),
      }),
    },
  },
});
server.on('request', provider.callback());

process.stdout.write(
  `${JSON.stringify({ issuer, port: server.address().port, client_id: CLIENT_ID, client_secret: CLIENT_SECRET })}\n`,
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
