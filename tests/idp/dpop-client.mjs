// An MCP client holding a DPoP key (RFC 9449), built on oauth4webapi (npm): it obtains a
// DPoP-bound access token from an authorization server through the client credentials grant and
// sends MCP requests over the streamable HTTP transport, each with `Authorization: DPoP <token>`
// and a fresh proof made by the library. For the end-to-end tests (tests/tests/dpop_real_idp.rs).
//
//   node dpop-client.mjs < config.json
//
// The configuration, one JSON object on stdin:
//   {"issuer": …, "client_id": …, "client_secret": …,
//    "resource": <the MCP endpoint URL, also the RFC 8707 resource>, "scope": …,
//    "requests": [{"method": …, "params": {…}}, …]}
//
// Prints one JSON line per step on stdout, never the access token or a proof signature:
//   {"step": "token", "token_type": <as the token endpoint sent it>, "claims": <the JWT's
//    claims>, "jwk": <the client's public key>, "dpop_header_sent": <bool>}
//   {"step": "request", "method": …, "status": …, "authorization_scheme": …,
//    "proof": <the proof's header and claims, or null>, "message": <the JSON-RPC answer>}
//    (`initialize`, then `notifications/initialized`, then each of `requests`)
//   {"step": "bearer", "status": …, "challenges": [{scheme, parameters}, …]}
//    (the same token sent as `Bearer` without a proof)
// and exits 0; on a failure it prints {"step": "error", "message": …} and exits 1.
import * as oauth from 'oauth4webapi';

const PROTOCOL = '2025-11-25';

const input = await new Promise((resolve, reject) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
  process.stdin.on('error', reject);
});

const emit = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

const decode = (segment) => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));

// The header and claims of a compact JWS, without its signature.
const jwsParts = (jws) => {
  const [header, payload] = jws.split('.');
  return { header: decode(header), claims: decode(payload) };
};

// What the library put on the wire for each request, for the report (no credential kept).
let lastSent = null;
const recordingFetch = async (url, init) => {
  const headers = new Headers(init?.headers);
  const proof = headers.get('dpop');
  lastSent = {
    authorization_scheme: headers.get('authorization')?.split(' ')[0] ?? null,
    proof: proof ? jwsParts(proof) : null,
  };
  return fetch(url, init);
};

// The JSON-RPC answer of a JSON or SSE body.
const message = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    for (const line of text.split('\n')) {
      if (!line.startsWith('data:')) continue;
      try {
        const value = JSON.parse(line.slice(5).trim());
        if ('id' in value && ('result' in value || 'error' in value)) return value;
      } catch { /* not JSON: the next line */ }
    }
    return null;
  }
};

try {
  const config = JSON.parse(input);
  const issuer = new URL(config.issuer);
  const resource = new URL(config.resource);
  const http = { [oauth.allowInsecureRequests]: true, [oauth.customFetch]: recordingFetch };

  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...http }),
  );
  const client = { client_id: config.client_id };
  const clientAuth = oauth.ClientSecretBasic(config.client_secret);
  const keyPair = await oauth.generateKeyPair('ES256', { extractable: true });
  const DPoP = oauth.DPoP(client, keyPair);

  const parameters = { resource: resource.href, scope: config.scope };
  let tokenResponse;
  let rawTokenType;
  let dpopHeaderSent;
  for (let attempt = 0; ; attempt += 1) {
    const response = await oauth.clientCredentialsGrantRequest(
      as, client, clientAuth, parameters, { DPoP, ...http },
    );
    dpopHeaderSent = lastSent.proof !== null;
    rawTokenType = (await response.clone().json().catch(() => ({}))).token_type ?? null;
    try {
      tokenResponse = await oauth.processClientCredentialsResponse(as, client, response);
      break;
    } catch (err) {
      // A server nonce asked for: the handle keeps it, the next proof carries it.
      if (attempt === 0 && oauth.isDPoPNonceError(err)) continue;
      throw err;
    }
  }
  const accessToken = tokenResponse.access_token;
  emit({
    step: 'token',
    token_type: rawTokenType,
    claims: jwsParts(accessToken).claims,
    jwk: await crypto.subtle.exportKey('jwk', keyPair.publicKey),
    dpop_header_sent: dpopHeaderSent,
  });

  const mcpHeaders = (extra) => new Headers({
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': PROTOCOL,
    ...extra,
  });
  let session = null;
  let id = 0;
  const send = async (method, params, options = { DPoP }) => {
    const notification = method.startsWith('notifications/');
    const body = JSON.stringify({
      jsonrpc: '2.0',
      ...(notification ? {} : { id: (id += 1) }),
      method,
      ...(params === undefined ? {} : { params }),
    });
    try {
      const response = await oauth.protectedResourceRequest(
        accessToken,
        'POST',
        resource,
        mcpHeaders(session ? { 'mcp-session-id': session } : {}),
        body,
        { ...options, ...http },
      );
      session = response.headers.get('mcp-session-id') ?? session;
      return { status: response.status, text: await response.text(), challenges: [] };
    } catch (err) {
      if (err instanceof oauth.WWWAuthenticateChallengeError) {
        return { status: err.response.status, text: await err.response.text(), challenges: err.cause };
      }
      throw err;
    }
  };
  const report = async (method, params) => {
    const answer = await send(method, params);
    emit({
      step: 'request',
      method,
      status: answer.status,
      ...lastSent,
      challenges: answer.challenges,
      message: message(answer.text),
    });
  };

  await report('initialize', {
    protocolVersion: PROTOCOL,
    capabilities: {},
    clientInfo: { name: 'oauth4webapi-dpop-client', version: '1' },
  });
  await report('notifications/initialized');
  for (const request of config.requests ?? []) {
    await report(request.method, request.params ?? {});
  }

  // The same token as a plain bearer token, without a proof.
  const bearer = await send('tools/list', {}, {});
  emit({
    step: 'bearer',
    status: bearer.status,
    ...lastSent,
    challenges: bearer.challenges,
    body: message(bearer.text),
  });
  process.exit(0);
} catch (err) {
  const cause = err?.cause?.message ? ` (${err.cause.message})` : '';
  emit({ step: 'error', message: `${err?.name ?? 'Error'}: ${err?.message ?? err}${cause}`, code: err?.code ?? null });
  process.exit(1);
}
