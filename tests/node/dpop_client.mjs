// SPDX-License-Identifier: Apache-2.0
//
// dpop_client.mjs — an independent OAuth 2.0 DPoP client for haulgate,
// written with npm `jose` and node's https (no haulgate code), so a DPoP
// or JWS mistake shared by the gateway and its C test harness cannot hide.
// Over mTLS with a client certificate from the PKI directory it: checks the
// discovery documents, requests a DPoP-bound token (RFC 9449 §5), checks
// cnf.jkt against its own key's RFC 7638 thumbprint and the token's
// signature against the published JWKS, creates a tender and cancels it (a
// critical route) with fresh proofs carrying ath, then makes sure a token
// with a flipped signature character and a replayed proof are refused with
// 401. Exit 0 when every step behaves; otherwise 1 and a message naming the
// step. Usage:
//   node tests/node/dpop_client.mjs --base https://127.0.0.1:PORT --pki DIR [--client tms]
// (or HG_BASE, HG_PKI, HG_CLIENT in the environment). --base is the
// gateway's issuer URL, which is also the htu prefix of every proof.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from 'jose';

function args() {
  const out = {
    base: process.env.HG_BASE,
    pki: process.env.HG_PKI,
    client: process.env.HG_CLIENT || 'tms',
  };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i].replace(/^--/, '');
    if (!['base', 'pki', 'client'].includes(k) || i + 1 >= a.length) {
      usage(`unknown or incomplete argument '${a[i]}'`);
    }
    out[k] = a[++i];
  }
  if (!out.base || !out.pki) usage('--base and --pki are required');
  out.base = out.base.replace(/\/+$/, '');
  return out;
}

function usage(why) {
  console.error(`dpop_client: ${why}`);
  console.error('usage: node tests/node/dpop_client.mjs --base https://HOST:PORT --pki DIR [--client STEM]');
  process.exit(2);
}

class StepError extends Error {}
function check(cond, step, detail) {
  if (!cond) throw new StepError(`${step}: ${detail}`);
}

const opt = args();
const url = new URL(opt.base);
const agent = new https.Agent({
  cert: readFileSync(join(opt.pki, `${opt.client}.crt`)),
  key: readFileSync(join(opt.pki, `${opt.client}.key`)),
  ca: readFileSync(join(opt.pki, 'ca.crt')),
  minVersion: 'TLSv1.3',
  keepAlive: true,
});

// One HTTPS request; resolves {status, headers, body} (body a string).
function request(method, path, headers = {}, body = undefined) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body !== undefined) h['Content-Length'] = Buffer.byteLength(body);
    const req = https.request(
      { host: url.hostname, port: url.port || 443, method, path, headers: h, agent, timeout: 15000 },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function json(res, step) {
  try {
    return JSON.parse(res.body);
  } catch {
    throw new StepError(`${step}: response ${res.status} is not JSON: ${res.body.slice(0, 300)}`);
  }
}

const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwk = await exportJWK(publicKey);
const thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
let nonce; // the server's DPoP-Nonce, when it asks for one

// A DPoP proof (RFC 9449 §4.2) for method + the issuer URL + path.
async function proof(method, path, token) {
  const claims = { htm: method, htu: opt.base + path.split('?')[0], jti: randomUUID() };
  if (token) claims.ath = createHash('sha256').update(token).digest('base64url');
  if (nonce) claims.nonce = nonce;
  return new SignJWT(claims)
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
    .setIssuedAt()
    .sign(privateKey);
}

// A request with Authorization: DPoP and a fresh proof (or the one given);
// retried once with a server nonce when asked for one.
async function api(method, path, token, headers = {}, body = undefined, fixedProof = undefined) {
  for (let attempt = 0; ; attempt++) {
    const p = fixedProof ?? (await proof(method, path, token));
    const res = await request(method, path, { ...headers, Authorization: `DPoP ${token}`, DPoP: p }, body);
    const www = String(res.headers['www-authenticate'] ?? '');
    if (res.status === 401 && www.includes('use_dpop_nonce') && res.headers['dpop-nonce'] && attempt === 0 && !fixedProof) {
      nonce = res.headers['dpop-nonce'];
      continue;
    }
    return { res, proof: p };
  }
}

function tenderBody() {
  const hour = 3600 * 1000;
  const base = Math.floor(Date.now() / hour) * hour + 2 * 24 * hour;
  const iso = (ms) => new Date(ms).toISOString();
  return JSON.stringify({
    tmsLoadId: `NODE-${randomUUID()}`,
    origin: { name: 'Dallas DC', lat: 32.7767, lon: -96.797 },
    destination: { name: 'Houston yard', lat: 29.7604, lon: -95.3698 },
    pickupWindow: { start: iso(base), end: iso(base + 2 * hour) },
    deliveryWindow: { start: iso(base + 6 * hour), end: iso(base + 10 * hour) },
    weightLbs: 30000,
    equipment: 'dry_van',
    hazmat: false,
    lane: 'DAL-HOU',
    region: 'us-south',
  });
}

async function main() {
  // 1. discovery
  let res = await request('GET', '/.well-known/oauth-authorization-server');
  check(res.status === 200, 'metadata', `status ${res.status}`);
  const meta = json(res, 'metadata');
  check(meta.issuer === opt.base, 'metadata', `issuer ${meta.issuer}, expected ${opt.base}`);
  check(meta.token_endpoint === `${opt.base}/oauth2/token`, 'metadata', `token_endpoint ${meta.token_endpoint}`);
  check((meta.dpop_signing_alg_values_supported ?? []).includes('ES256'), 'metadata', 'ES256 is not a DPoP alg');
  res = await request('GET', new URL(meta.jwks_uri).pathname);
  check(res.status === 200, 'jwks', `status ${res.status}`);
  const jwks = createLocalJWKSet(json(res, 'jwks'));

  // 2. a DPoP-bound token
  let token;
  for (let attempt = 0; attempt < 2 && !token; attempt++) {
    res = await request(
      'POST',
      '/oauth2/token',
      { 'Content-Type': 'application/x-www-form-urlencoded', DPoP: await proof('POST', '/oauth2/token') },
      'grant_type=client_credentials&scope=tender%3Awrite+tender%3Aread',
    );
    const body = json(res, 'token');
    if (res.status === 400 && body.error === 'use_dpop_nonce' && res.headers['dpop-nonce']) {
      nonce = res.headers['dpop-nonce'];
      continue;
    }
    check(res.status === 200, 'token', `status ${res.status}: ${res.body}`);
    check(body.token_type === 'DPoP', 'token', `token_type ${body.token_type}`);
    check(String(res.headers['cache-control']).includes('no-store'), 'token', 'no Cache-Control: no-store');
    token = body.access_token;
  }
  check(token, 'token', 'no token after a nonce retry');
  const hdr = decodeProtectedHeader(token);
  check(hdr.typ === 'at+jwt', 'token', `typ ${hdr.typ}`);
  const claims = decodeJwt(token);
  check(claims.cnf?.jkt === thumbprint, 'token', `cnf.jkt ${claims.cnf?.jkt} is not our key's thumbprint ${thumbprint}`);
  check(claims.client_id === opt.client, 'token', `client_id ${claims.client_id}`);
  await jwtVerify(token, jwks, {
    issuer: opt.base,
    audience: opt.base,
    typ: 'at+jwt',
    algorithms: ['ES256', 'EdDSA'],
  }).catch((e) => {
    throw new StepError(`token: does not verify with the published JWKS: ${e.message}`);
  });
  console.log(`ok - DPoP-bound token, cnf.jkt ${thumbprint}, verified with the JWKS (kid ${hdr.kid})`);

  // 3. create a tender, then cancel it (a critical route)
  let r = await api(
    'POST',
    '/v1/tenders',
    token,
    { 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID() },
    tenderBody(),
  );
  check(r.res.status === 201, 'create', `status ${r.res.status}: ${r.res.body}`);
  const tender = json(r.res, 'create');
  const etag = r.res.headers.etag;
  check(tender.tenderId && etag, 'create', 'no tenderId or ETag');
  r = await api(
    'POST',
    `/v1/tenders/${tender.tenderId}/cancel`,
    token,
    { 'Content-Type': 'application/json', 'If-Match': etag, 'Idempotency-Key': randomUUID() },
    JSON.stringify({ reason: 'cancelled by the node jose client' }),
  );
  check(r.res.status === 200, 'cancel', `status ${r.res.status}: ${r.res.body}`);
  check(json(r.res, 'cancel').state === 'cancelled', 'cancel', `state ${json(r.res, 'cancel').state}`);
  console.log(`ok - created and cancelled tender ${tender.tenderId} with DPoP`);

  // 4. a flipped character in the token's signature: 401
  const parts = token.split('.');
  const s = parts[2];
  const at = Math.floor(s.length / 2);
  const flipped = s[at] === 'A' ? 'B' : 'A';
  const tampered = `${parts[0]}.${parts[1]}.${s.slice(0, at)}${flipped}${s.slice(at + 1)}`;
  r = await api('GET', '/v1/whoami', tampered);
  check(r.res.status === 401, 'tampered token', `status ${r.res.status}: ${r.res.body}`);
  check(
    String(r.res.headers['www-authenticate']).includes('error="invalid_token"'),
    'tampered token',
    `WWW-Authenticate ${r.res.headers['www-authenticate']}`,
  );
  console.log('ok - a token with a flipped signature character is refused (401 invalid_token)');

  // 5. the same proof twice: the second is a replay, 401
  r = await api('GET', '/v1/whoami', token);
  check(r.res.status === 200, 'whoami', `status ${r.res.status}: ${r.res.body}`);
  const replay = await api('GET', '/v1/whoami', token, {}, undefined, r.proof);
  check(replay.res.status === 401, 'replayed proof', `status ${replay.res.status}: ${replay.res.body}`);
  check(
    String(replay.res.headers['www-authenticate']).includes('error="invalid_dpop_proof"'),
    'replayed proof',
    `WWW-Authenticate ${replay.res.headers['www-authenticate']}`,
  );
  console.log('ok - a replayed DPoP proof is refused (401 invalid_dpop_proof)');
}

try {
  await main();
  agent.destroy();
  process.exit(0);
} catch (e) {
  agent.destroy();
  console.error(`dpop_client: FAILED ${e instanceof StepError ? e.message : e.stack}`);
  process.exit(1);
}
