// The HTTP transport locked to its owner: the bearer token (MCP_BG_AUTH_TOKEN or auth_token_file),
// allowed hosts, CORS for listed origins, a non-loopback bind only with a token, and the bounds
// settings. The official v1 SDK client where a client would call; raw requests and sockets for
// what only a browser, an attacker or a slow client sends.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { runBinary, scratchDir, waitFor } from './lib/harness.mjs';
import {
  JSON_HEADERS, connectClient, initializeBody, rawRequest, rawSession, startHttpServer, structured,
  withHttpServer,
} from './lib/http.mjs';

const TOKEN = 'e2e-token-7f3c9a1b5d2e4f60a8b7c6d5';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const AUTH_LINE = `Authorization: Bearer ${TOKEN}\r\n`;
const WITH_TOKEN = { env: { MCP_BG_AUTH_TOKEN: TOKEN } };
const APP_ORIGIN = 'https://app.example.com';

function postInitialize(srv, headers = {}) {
  return fetch(srv.url, { method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body: initializeBody() });
}

/** A raw TCP connection to the server; `received()` is everything read so far, `closed` settles on close. */
async function connection(port, host = '127.0.0.1') {
  const socket = net.connect({ host, port });
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  let received = '';
  socket.on('data', (chunk) => (received += chunk));
  socket.on('error', () => {});  // a reset shows as 'close'
  const closed = new Promise((resolve) => socket.once('close', resolve));
  return { socket, closed, received: () => received };
}

/** Resolves true if `promise` settles within `ms`, false otherwise (the bound the test asserts). */
function within(promise, ms) {
  let timer;
  return Promise.race([
    promise.then(() => true),
    new Promise((resolve) => { timer = setTimeout(() => resolve(false), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** Whether a new connection gets an answer to GET /healthz (false: closed unanswered). */
async function servedOn(port) {
  const conn = await connection(port);
  conn.socket.write(healthzRequest(port));
  const answered = await Promise.race([
    waitFor(() => conn.received().includes('"status":"ok"'), { timeoutMs: 2000 }).then(() => true, () => false),
    conn.closed.then(() => false),
  ]);
  conn.socket.destroy();
  return answered;
}

const healthzRequest = (port) => `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;

test('with a token: missing or wrong is 401 with WWW-Authenticate; the right one works with the SDK client; it never shows', async () => {
  const srv = await startHttpServer(['--log-level', 'debug', '--env-exclude', '', '--redact', 'false'], WITH_TOKEN);
  try {
    const missing = await postInitialize(srv);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="mcp-background-job"');
    assert.equal(missing.headers.get('mcp-session-id'), null);
    const missingBody = await missing.json();
    assert.equal(missingBody.id, null);
    assert.match(missingBody.error.message, /Authorization: Bearer <token>/);

    const wrong = await postInitialize(srv, { authorization: `Bearer ${TOKEN.slice(0, -1)}x` });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate'), /^Bearer realm="mcp-background-job", error="invalid_token"/);
    assert.match((await wrong.json()).error.message, /token is wrong/);

    const basic = await postInitialize(srv, { authorization: 'Basic dXNlcjpwYXNz' });
    assert.equal(basic.status, 401);
    assert.match((await basic.json()).error.message, /Bearer scheme/);

    // A path the server does not serve is 404 for everyone, token or not (below).
    const unknown = await fetch(`${srv.base}/nope`);
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
    const health = await fetch(`${srv.base}/healthz`);
    assert.equal(health.status, 200, '/healthz is for load balancers: no token');
    assert.equal((await health.json()).status, 'ok');

    // The SDK client without the token cannot connect, and says why.
    await assert.rejects(connectClient(srv.url), (error) => {
      assert.equal(error.code, 401);
      assert.match(error.message, /Authorization: Bearer/);
      return true;
    });

    const { client, transport } = await connectClient(srv.url, { headers: AUTH });
    try {
      const started = structured(await client.callTool({
        name: 'execute', arguments: { command: 'echo "job sees [${MCP_BG_AUTH_TOKEN-unset}]"' },
      }));
      const waited = structured(await client.callTool({ name: 'wait', arguments: { job_id: started.job_id, timeout_seconds: 10 } }));
      assert.equal(waited.status, 'completed');
      const out = structured(await client.callTool({ name: 'output', arguments: { job_id: started.job_id } }));
      // env_exclude is empty here, so a job inherits everything the server has: the token is
      // not among it.
      assert.equal(out.output, 'job sees [unset]\n');
      const policy = await client.callTool({ name: 'policy', arguments: {} });
      assert.ok(!JSON.stringify(policy).includes(TOKEN), 'the policy tool does not show the token');
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  } finally {
    assert.equal(await srv.stop(), 0);
  }
  const stderr = srv.stderr();
  assert.match(stderr, /\[info\] http: POST \/mcp 401/, 'the request log saw the refusals (and nothing of the token)');
  assert.match(stderr, /bearer token from MCP_BG_AUTH_TOKEN/);
  assert.ok(!stderr.includes(TOKEN), `the token is in the server's stderr:\n${stderr}`);
  assert.ok(!stderr.includes(TOKEN.slice(0, 12)), 'no part of the token is in stderr');
});

test('the token from auth_token_file, which must be private', async () => {
  const dir = scratchDir();
  const file = path.join(dir, 'token');
  fs.writeFileSync(file, `${TOKEN}\n`, { mode: 0o600 });
  const srv = await startHttpServer(['--auth-token-file', file]);
  try {
    assert.equal((await postInitialize(srv)).status, 401);
    const ok = await postInitialize(srv, AUTH);
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('mcp-session-id'), /^[0-9a-f]{32}$/);
  } finally {
    assert.equal(await srv.stop(), 0);
  }
  assert.match(srv.stderr(), new RegExp(`bearer token from ${file}`));

  fs.chmodSync(file, 0o644);
  const refused = await runBinary(['--http', '127.0.0.1:0', '--auth-token-file', file]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /chmod 600/);
  assert.ok(!refused.stderr.includes(TOKEN));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('http_allowed_hosts: a listed name is accepted in Host and Origin, an unlisted one is 403', withHttpServer(async (srv) => {
  const port = srv.url.port;
  const listed = await rawRequest(srv, { headers: { host: `mcp.test.example:${port}` } });
  assert.equal(listed.status, 200);
  const listedPost = await rawRequest(srv, {
    method: 'POST', path: '/mcp',
    headers: { host: `MCP.test.example:${port}`, origin: `http://mcp.test.example:${port}`, ...JSON_HEADERS },
    body: initializeBody(),
  });
  assert.equal(listedPost.status, 200);
  assert.match(listedPost.headers['mcp-session-id'], /^[0-9a-f]{32}$/);

  const unlisted = await rawRequest(srv, { headers: { host: `other.test.example:${port}` } });
  assert.equal(unlisted.status, 403);
  assert.match(JSON.parse(unlisted.text).error.message, /http_allowed_hosts/);
  const unlistedOrigin = await rawRequest(srv, {
    method: 'POST', path: '/mcp', headers: { origin: 'http://other.test.example', ...JSON_HEADERS }, body: initializeBody(),
  });
  assert.equal(unlistedOrigin.status, 403);
}, ['--http-allowed-hosts', 'mcp.test.example']));

test('CORS: a listed origin gets its preflight (no token needed) and readable responses; others are refused', withHttpServer(async (srv) => {
  const preflight = (origin) => rawRequest(srv, {
    method: 'OPTIONS', path: '/mcp',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, mcp-session-id, mcp-protocol-version',
    },
  });
  const allowed = await preflight(APP_ORIGIN);
  assert.equal(allowed.status, 204);
  assert.equal(allowed.headers['access-control-allow-origin'], APP_ORIGIN);
  assert.equal(allowed.headers['access-control-allow-methods'], 'GET, POST, DELETE, OPTIONS');
  for (const name of ['Content-Type', 'Accept', 'Authorization', 'Mcp-Session-Id', 'MCP-Protocol-Version', 'Mcp-Method', 'Mcp-Name', 'Last-Event-ID']) {
    assert.ok(allowed.headers['access-control-allow-headers'].split(', ').includes(name), name);
  }
  assert.match(allowed.headers['access-control-max-age'], /^\d+$/);
  assert.equal(allowed.text, '');

  const foreign = await preflight('https://evil.example');
  assert.equal(foreign.status, 403);
  assert.equal(foreign.headers['access-control-allow-origin'], undefined);
  const ownButUnlisted = await preflight(`http://localhost:3000`);
  assert.equal(ownButUnlisted.status, 403);
  assert.match(JSON.parse(ownButUnlisted.text).error.message, /http_cors_origins/);

  // The real request: readable by the page (Allow-Origin), with the session id exposed.
  const post = await postInitialize(srv, { origin: APP_ORIGIN, ...AUTH });
  assert.equal(post.status, 200);
  assert.equal(post.headers.get('access-control-allow-origin'), APP_ORIGIN);
  assert.match(post.headers.get('vary'), /Origin/);
  assert.ok(post.headers.get('access-control-expose-headers').split(', ').includes('Mcp-Session-Id'));
  assert.match(post.headers.get('mcp-session-id'), /^[0-9a-f]{32}$/);
  await post.body?.cancel();

  // A 401 to the page is readable too, so that it can say what is missing.
  const unauthorized = await postInitialize(srv, { origin: APP_ORIGIN });
  assert.equal(unauthorized.status, 401);
  assert.equal(unauthorized.headers.get('access-control-allow-origin'), APP_ORIGIN);
  assert.ok(unauthorized.headers.get('access-control-expose-headers').includes('WWW-Authenticate'));
  await unauthorized.body?.cancel();

  // Not a cross-origin request: no CORS headers.
  const plain = await postInitialize(srv, AUTH);
  assert.equal(plain.status, 200);
  assert.equal(plain.headers.get('access-control-allow-origin'), null);
  await plain.body?.cancel();
}, ['--http-cors-origins', APP_ORIGIN], WITH_TOKEN));

test('a non-loopback bind: refused without a token (exit 2), served with one', async () => {
  const refused = await runBinary(['--http', '0.0.0.0:0']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /not a loopback address/);
  assert.match(refused.stderr, /MCP_BG_AUTH_TOKEN/);
  assert.match(refused.stderr, /auth_token_file/);

  const srv = await startHttpServer([], { address: '0.0.0.0:0', ...WITH_TOKEN });
  try {
    assert.equal(srv.url.hostname, '0.0.0.0');
    const url = new URL(srv.url);
    url.hostname = '127.0.0.1';
    const { client, transport } = await connectClient(url, { headers: AUTH });
    try {
      const done = structured(await client.callTool({ name: 'execute', arguments: { command: 'echo over-the-wire', wait_seconds: 10 } }));
      assert.equal(done.output, 'over-the-wire\n');
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});

test('bound to a specific non-loopback address, that address is accepted in Host', async (t) => {
  const address = Object.values(os.networkInterfaces()).flat()
    .find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;
  if (!address) {
    t.skip('this machine has no non-loopback IPv4 address');
    return;
  }
  const srv = await startHttpServer([], { address: `${address}:0`, ...WITH_TOKEN });
  try {
    const { client, transport } = await connectClient(srv.url, { headers: AUTH });
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.length > 0);
    } finally {
      await transport.terminateSession();
      await client.close();
    }
    const foreign = await rawRequest(srv, { headers: { host: 'rebound.example' } });
    assert.equal(foreign.status, 403);
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});

test('http_max_connections: beyond the bound a connection is closed unanswered, and a freed slot serves again', withHttpServer(async (srv) => {
  const port = Number(srv.url.port);
  // Two connections, each proven counted by the server: it answered a request on it.
  const held = [];
  for (let i = 0; i < 2; ++i) {
    const conn = await connection(port);
    conn.socket.write(healthzRequest(port));
    await waitFor(() => conn.received().includes('"status":"ok"'), { what: `an answer on connection ${i + 1}` });
    held.push(conn);
  }
  const third = await connection(port);
  third.socket.write(healthzRequest(port));
  assert.ok(await within(third.closed, 5000), 'the third connection is closed');
  assert.equal(third.received(), '', 'and nothing is answered on it');

  held[0].socket.end();
  await held[0].closed;
  // The server notices the close on its next turn: the slot frees, and a new connection is served.
  await waitFor(() => servedOn(port), { what: 'a connection served after one of the two closed' });
  held[1].socket.destroy();
}, ['--http-max-connections', '2']));

test('http_header_timeout, http_idle_timeout and http_max_sessions take effect', withHttpServer(async (srv) => {
  const port = Number(srv.url.port);
  // A header never finished: cut off at the configured 300 ms, well before the default 10 s.
  const slow = await connection(port);
  slow.socket.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
  assert.ok(await within(slow.closed, 5000), 'the unfinished header is cut off');

  // An idle keep-alive connection: closed at the configured 500 ms, not the default 60 s.
  const idle = await connection(port);
  idle.socket.write(healthzRequest(port));
  await waitFor(() => idle.received().includes('"status":"ok"'), { what: 'the healthz answer' });
  assert.ok(await within(idle.closed, 5000), 'the idle connection is closed');

  // One session at most: a second one ends the first (least recently used, idle).
  const first = await rawSession(srv);
  await rawSession(srv);
  const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  const stale = await fetch(srv.url, { method: 'POST', headers: { ...JSON_HEADERS, 'mcp-session-id': first }, body: list });
  assert.equal(stale.status, 404);
  await stale.body?.cancel();
}, ['--http-header-timeout', '300ms', '--http-idle-timeout', '500ms', '--http-max-sessions', '1']));

test('bad HTTP settings stop start-up with exit 2 and say what is allowed', async () => {
  for (const [args, pattern] of [
    [['--http-max-connections', '0'], /invalid --http-max-connections .*from 1 to 100000/],
    [['--http-cors-origins', '*'], /list the origins/],
    [['--http-allowed-hosts', 'host.example:80'], /has a port/],
    [['--http-idle-timeout', 'soon'], /invalid --http-idle-timeout/],
  ]) {
    const result = await runBinary(['--http', '127.0.0.1:0', ...args]);
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, pattern);
  }
  const short = await runBinary(['--http', '127.0.0.1:0'], { MCP_BG_AUTH_TOKEN: 'too-short' });
  assert.equal(short.code, 2);
  assert.match(short.stderr, /shorter than 16 characters/);
  assert.ok(!short.stderr.includes('too-short'));
});

/** The server's memory high-water mark (VmHWM, in KiB), from /proc. */
function peakKib(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)[1]);
}

/** A request head declaring a body of `length` bytes; the body is the caller's to send (or not). */
function headDeclaring(port, { method = 'POST', path: target = '/mcp', length, extra = '' }) {
  return `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
    `Accept: application/json, text/event-stream\r\nContent-Length: ${length}\r\n${extra}\r\n`;
}

test('with a token: a request without it is answered from its header, and its body is never read', withHttpServer(async (srv) => {
  const port = Number(srv.url.port);
  // The header declares 4 MiB that never come: the server that waited for them would answer only
  // at its 30 s body timeout. The guard decides from the header, at once.
  for (const [target, status] of [['/mcp', 401], ['/metrics', 401], ['/register', 404], ['/nope', 404]]) {
    const conn = await connection(port);
    conn.socket.write(headDeclaring(port, { path: target, length: 4 << 20 }));
    await waitFor(() => conn.received().startsWith(`HTTP/1.1 ${status} `), { what: `${status} for ${target} before any body byte` });
    assert.match(conn.received(), /\r\nConnection: close\r\n/i, 'the unread body ends the connection');
    assert.ok(await within(conn.closed, 5000), 'and the server closes it');
    conn.socket.destroy();
  }
  // A request without a body keeps its connection: two refusals on one socket.
  const conn = await connection(port);
  const bare = `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`;
  conn.socket.write(bare + bare);
  await waitFor(() => conn.received().split('HTTP/1.1 401 ').length === 3, { what: 'two 401s on one connection' });
  conn.socket.destroy();
}, [], WITH_TOKEN));

test('the attack from issue 10: 30 connections sending 4 MiB bodies without the token leave the server\'s memory where it was', withHttpServer(async (srv) => {
  const port = Number(srv.url.port);
  const before = peakKib(srv.proc.pid);
  const body = Buffer.alloc(4 << 20, 'x');
  const conns = await Promise.all(Array.from({ length: 30 }, () => connection(port)));
  for (const conn of conns) {
    conn.socket.write(headDeclaring(port, { length: body.length }));
    conn.socket.write(body);
  }
  await waitFor(() => conns.every((conn) => conn.received().startsWith('HTTP/1.1 401 ')), { timeoutMs: 20_000, what: '30 answers of 401' });
  await Promise.all(conns.map((conn) => within(conn.closed, 10_000)));
  const grownMib = (peakKib(srv.proc.pid) - before) / 1024;
  // Holding the bodies would take 120 MiB (the issue saw RSS go from 11 to 131 MB); reading each
  // header, and throwing away what follows in 16 KiB pieces, takes a few.
  assert.ok(grownMib < 24, `the server's peak memory grew by ${grownMib.toFixed(1)} MiB`);
  // And it still serves the owner.
  const { client, transport } = await connectClient(srv.url, { headers: AUTH });
  try {
    assert.ok((await client.listTools()).tools.length > 0);
  } finally {
    await transport.terminateSession();
    await client.close();
  }
}, [], WITH_TOKEN));

test('a second Host or Origin header is 400, whichever comes first; HTTP/1.1 without Host is 400', withHttpServer(async (srv) => {
  const port = Number(srv.url.port);
  const ask = async (head) => {
    const conn = await connection(port);
    conn.socket.write(`${head}\r\n`);
    await waitFor(() => /\r\n\r\n/.test(conn.received()), { what: `an answer to ${JSON.stringify(head)}` });
    conn.socket.destroy();
    return conn.received();
  };
  const own = `Host: 127.0.0.1:${port}\r\n`;
  const foreign = 'Host: rebound.example\r\n';
  for (const hosts of [own + foreign, foreign + own, own + own]) {
    const answer = await ask(`GET /mcp HTTP/1.1\r\n${hosts}${AUTH_LINE}`);
    assert.match(answer, /^HTTP\/1\.1 400 /, hosts);
    assert.match(answer, /may each appear only once/);
  }
  const origins = `Origin: http://127.0.0.1:${port}\r\nOrigin: https://evil.example\r\n`;
  assert.match(await ask(`GET /healthz HTTP/1.1\r\n${own}${origins}`), /^HTTP\/1\.1 400 /);
  assert.match(await ask(`GET /healthz HTTP/1.1\r\n`), /^HTTP\/1\.1 400 [^]*must carry a Host header/);
  // One of each is served as before.
  assert.match(await ask(`GET /healthz HTTP/1.1\r\n${own}Origin: http://127.0.0.1:${port}\r\n`), /^HTTP\/1\.1 200 /);
}, [], WITH_TOKEN));

test('with a token, OAuth discovery finds nothing (404, as without one) and an OAuth client shows the server\'s message', withHttpServer(async (srv) => {
  const paths = [
    ['GET', '/.well-known/oauth-protected-resource'],
    ['GET', '/.well-known/oauth-protected-resource/mcp'],
    ['GET', '/.well-known/oauth-authorization-server'],
    ['GET', '/.well-known/openid-configuration'],
    ['POST', '/register'],
  ];
  for (const [method, target] of paths) {
    const response = await fetch(`${srv.base}${target}`, {
      method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{"redirect_uris":["http://127.0.0.1:1/cb"]}' : undefined,
    });
    assert.equal(response.status, 404, `${method} ${target}`);
    const body = await response.json();
    // The shape of an OAuth error (RFC 6749 section 5.2), which is how such clients read a failure.
    assert.equal(body.error, 'not_found');
    assert.match(body.error_description, /has no OAuth endpoints/);
  }
  // /mcp itself: 401 with the challenge RFC 6750 clients parse, and nothing that would send them
  // to look for a metadata document the server does not have (RFC 9728 resource_metadata).
  const challenge = await postInitialize(srv);
  assert.equal(challenge.status, 401);
  assert.equal(challenge.headers.get('www-authenticate'), 'Bearer realm="mcp-background-job"');
  await challenge.body?.cancel();

  // The official client with an OAuth provider, as Claude Code connects to an HTTP server: on the
  // 401 it runs discovery, then dynamic registration, and fails with what the server said.
  const provider = {
    get redirectUrl() { return 'http://127.0.0.1:1/callback'; },
    get clientMetadata() { return { redirect_uris: ['http://127.0.0.1:1/callback'], client_name: 'e2e-oauth' }; },
    clientInformation() { return undefined; },
    saveClientInformation() {},
    tokens() { return undefined; },
    saveTokens() {},
    redirectToAuthorization() { throw new Error('the test has no authorization server to go to'); },
    saveCodeVerifier() {},
    codeVerifier() { return ''; },
  };
  const client = new Client({ name: 'e2e-oauth', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(srv.url, { authProvider: provider });
  await assert.rejects(client.connect(transport), (error) => {
    assert.match(error.message, /has no OAuth endpoints/, error.message);
    assert.match(error.message, /Authorization: Bearer <token>/);
    assert.doesNotMatch(error.message, /ZodError|Invalid OAuth error response/);
    return true;
  });
  await client.close();
}, [], WITH_TOKEN));

test('without a token, paths that are not the server\'s are 404 alike, and a body sent to one is not read', withHttpServer(async (srv) => {
  const port = Number(srv.url.port);
  for (const target of ['/.well-known/oauth-protected-resource', '/register', '/nope']) {
    const response = await fetch(`${srv.base}${target}`);
    assert.equal(response.status, 404);
    assert.equal((await response.json()).error, 'not_found');
  }
  const conn = await connection(port);
  conn.socket.write(headDeclaring(port, { path: '/register', length: 4 << 20 }));
  await waitFor(() => conn.received().startsWith('HTTP/1.1 404 '), { what: '404 before any body byte' });
  conn.socket.destroy();
}));
