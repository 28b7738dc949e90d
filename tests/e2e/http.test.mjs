// The HTTP transport (--http, 2025-11-25 Streamable HTTP): the official v1 SDK client over
// StreamableHTTPClientTransport, then raw fetch for what a client must never see work: requests
// without, with an unknown or with an ended session; foreign Host and Origin; oversize bodies.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';

import { TOOL_NAMES, runBinary } from './lib/harness.mjs';
import {
  JSON_HEADERS, connectClient, initializeBody, rawRequest, rawSession, startHttpServer, structured,
  withHttpServer,
} from './lib/http.mjs';

test('the SDK client over HTTP: initialize, tools/list, execute + wait + output', withHttpServer(async (srv) => {
  const { client, transport } = await connectClient(srv.url);
  try {
    assert.match(transport.sessionId, /^[0-9a-f]{32}$/);
    assert.equal(client.getServerVersion().name, 'mcp-background-job');
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());

    const started = structured(await client.callTool({ name: 'execute', arguments: { command: 'echo one; echo two' } }));
    const waited = structured(await client.callTool({ name: 'wait', arguments: { job_id: started.job_id, timeout_seconds: 10 } }));
    assert.equal(waited.reason, 'exited');
    assert.equal(waited.status, 'completed');
    const out = structured(await client.callTool({ name: 'output', arguments: { job_id: started.job_id } }));
    assert.equal(out.output, 'one\ntwo\n');

    // A progressToken still gets a plain JSON answer (progress needs the SSE stream).
    const slow = structured(await client.callTool({ name: 'execute', arguments: { command: 'sleep 0.3; echo late' } }));
    const progressed = [];
    const waitedWithProgress = await client.callTool(
      { name: 'wait', arguments: { job_id: slow.job_id, timeout_seconds: 10 } },
      undefined,
      { onprogress: (p) => progressed.push(p) },
    );
    assert.equal(structured(waitedWithProgress).status, 'completed');

    // Two calls at once on one session: each response reaches its own request.
    const [a, b] = await Promise.all([
      client.callTool({ name: 'execute', arguments: { command: 'sleep 0.2; echo a', wait_seconds: 5 } }),
      client.callTool({ name: 'execute', arguments: { command: 'echo b', wait_seconds: 5 } }),
    ]);
    assert.equal(structured(a).output, 'a\n');
    assert.equal(structured(b).output, 'b\n');
  } finally {
    await transport.terminateSession();
    await client.close();
  }
}));

test('jobs belong to the server: another session sees them, and they outlive a DELETE', withHttpServer(async (srv) => {
  const first = await connectClient(srv.url);
  const started = structured(await first.client.callTool({ name: 'execute', arguments: { command: 'exec sleep 30' } }));
  await first.transport.terminateSession();
  await first.client.close();

  const second = await connectClient(srv.url);
  try {
    const status = structured(await second.client.callTool({ name: 'status', arguments: { job_id: started.job_id } }));
    assert.equal(status.status, 'running');
    structured(await second.client.callTool({ name: 'kill', arguments: { job_id: started.job_id } }));
  } finally {
    await second.transport.terminateSession();
    await second.client.close();
  }
}));

test('Mcp-Session-Id: missing 400, unknown 404, ended 404; MCP-Protocol-Version checked', withHttpServer(async (srv) => {
  const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  const missing = await fetch(srv.url, { method: 'POST', headers: JSON_HEADERS, body: list });
  assert.equal(missing.status, 400);
  assert.match((await missing.json()).error.message, /Mcp-Session-Id/);

  const unknown = await fetch(srv.url, {
    method: 'POST', headers: { ...JSON_HEADERS, 'mcp-session-id': '0123456789abcdef0123456789abcdef' }, body: list,
  });
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();

  const session = await rawSession(srv);
  const withSession = { ...JSON_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
  const initialized = await fetch(srv.url, {
    method: 'POST', headers: withSession, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  assert.equal(initialized.status, 202);
  const ok = await fetch(srv.url, { method: 'POST', headers: withSession, body: list });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('content-type'), 'application/json');
  assert.equal((await ok.json()).result.tools.length, TOOL_NAMES.length);

  const badVersion = await fetch(srv.url, {
    method: 'POST', headers: { ...withSession, 'mcp-protocol-version': '1999-01-01' }, body: list,
  });
  assert.equal(badVersion.status, 400);
  await badVersion.body?.cancel();

  // Neither a request nor a notification: refused with the error, under the id it carried.
  const neither = await fetch(srv.url, { method: 'POST', headers: withSession, body: JSON.stringify({ jsonrpc: '2.0', id: 9 }) });
  assert.equal(neither.status, 400);
  const refusal = await neither.json();
  assert.equal(refusal.id, 9);
  assert.equal(refusal.error.code, -32600);

  const notJson = await fetch(srv.url, { method: 'POST', headers: withSession, body: '{nope' });
  assert.equal(notJson.status, 400);
  assert.equal((await notJson.json()).error.code, -32700);

  const getWithoutAccept = await fetch(srv.url, { method: 'GET', headers: { 'mcp-session-id': session } });
  assert.equal(getWithoutAccept.status, 406, 'the GET stream is text/event-stream only');
  await getWithoutAccept.body?.cancel();
  const getWithoutSession = await fetch(srv.url, { method: 'GET', headers: { accept: 'text/event-stream' } });
  assert.equal(getWithoutSession.status, 400);
  await getWithoutSession.body?.cancel();

  const deleted = await fetch(srv.url, { method: 'DELETE', headers: { 'mcp-session-id': session } });
  assert.equal(deleted.status, 204);
  const after = await fetch(srv.url, { method: 'POST', headers: withSession, body: list });
  assert.equal(after.status, 404);
  await after.body?.cancel();
  const deletedAgain = await fetch(srv.url, { method: 'DELETE', headers: { 'mcp-session-id': session } });
  assert.equal(deletedAgain.status, 404);
  await deletedAgain.body?.cancel();
}));

test('a DELETE ends a request still waiting; the job keeps running', withHttpServer(async (srv) => {
  const session = await rawSession(srv);
  const headers = { ...JSON_HEADERS, 'mcp-session-id': session };
  const call = (id, name, args) => fetch(srv.url, {
    method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }),
  });
  const started = await (await call(2, 'execute', { command: 'exec sleep 30' })).json();
  const jobId = started.result.structuredContent.job_id;
  const waiting = call(3, 'wait', { job_id: jobId, timeout_seconds: 30 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  const deleted = await fetch(srv.url, { method: 'DELETE', headers: { 'mcp-session-id': session } });
  assert.equal(deleted.status, 204);
  const ended = await waiting;
  assert.equal(ended.status, 404);
  await ended.body?.cancel();

  const other = await rawSession(srv);
  const status = await fetch(srv.url, {
    method: 'POST', headers: { ...JSON_HEADERS, 'mcp-session-id': other },
    body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'status', arguments: { job_id: jobId } } }),
  });
  assert.equal((await status.json()).result.structuredContent.status, 'running');
}));

test('DNS-rebinding protection: a foreign Host or Origin is 403', withHttpServer(async (srv) => {
  const foreignHost = await rawRequest(srv, { headers: { host: 'evil.example:80' } });
  assert.equal(foreignHost.status, 403);
  const rebound = await rawRequest(srv, {
    method: 'POST', path: '/mcp', headers: { host: `evil.example:${srv.url.port}`, 'content-type': 'application/json' },
    body: initializeBody(),
  });
  assert.equal(rebound.status, 403);
  assert.equal(rebound.headers['mcp-session-id'], undefined);

  const foreignOrigin = await fetch(srv.url, {
    method: 'POST', headers: { ...JSON_HEADERS, origin: 'https://evil.example' }, body: initializeBody(),
  });
  assert.equal(foreignOrigin.status, 403);
  await foreignOrigin.body?.cancel();

  const localOrigin = await fetch(srv.url, {
    method: 'POST', headers: { ...JSON_HEADERS, origin: `http://localhost:${srv.url.port}` }, body: initializeBody(),
  });
  assert.equal(localOrigin.status, 200);
  await localOrigin.body?.cancel();
  const localhostHost = await rawRequest(srv, { headers: { host: `localhost:${srv.url.port}` } });
  assert.equal(localhostHost.status, 200);
}));

test('a body over max_message_size is 413', withHttpServer(async (srv) => {
  const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { pad: 'x'.repeat(8192) } });
  const response = await fetch(srv.url, { method: 'POST', headers: JSON_HEADERS, body: big });
  assert.equal(response.status, 413);
  assert.match((await response.json()).error.message, /max_message_size/);
  // Without Content-Length (chunked), the limit is found while reading.
  const chunked = await rawRequest(srv, {
    method: 'POST', path: '/mcp', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    body: big,
  });
  assert.equal(chunked.status, 413);
  // The server still serves.
  await rawSession(srv);
}, ['--max-message-size', '4KiB']));

test('GET /healthz reports status, version, uptime and job counts', withHttpServer(async (srv) => {
  const response = await fetch(`${srv.base}/healthz`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/json');
  const body = await response.json();
  assert.equal(body.status, 'ok');
  assert.equal(typeof body.version, 'string');
  assert.ok(Number.isInteger(body.uptime_seconds) && body.uptime_seconds >= 0);
  assert.equal(body.jobs_running, 0);
  assert.equal(body.jobs_queued, 0);

  const { client, transport } = await connectClient(srv.url);
  try {
    structured(await client.callTool({ name: 'execute', arguments: { command: 'exec sleep 30' } }));
    const busy = await (await fetch(`${srv.base}/healthz`)).json();
    assert.equal(busy.jobs_running, 1);
  } finally {
    await transport.terminateSession();
    await client.close();
  }
  const unknownPath = await fetch(`${srv.base}/nope`);
  assert.equal(unknownPath.status, 404);
  await unknownPath.body?.cancel();
}));

test('a client that never finishes its header does not delay others, and is cut off', withHttpServer(async (srv) => {
  const slow = net.connect({ host: srv.url.hostname, port: Number(srv.url.port) });
  await new Promise((resolve, reject) => { slow.once('connect', resolve); slow.once('error', reject); });
  const closed = new Promise((resolve) => slow.once('close', () => resolve(Date.now())));
  slow.on('error', () => {});
  const since = Date.now();
  slow.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${srv.url.port}\r\n`);  // and nothing more

  const fast = await fetch(`${srv.base}/healthz`);
  assert.equal(fast.status, 200);
  await fast.body?.cancel();
  await rawSession(srv);

  // The header read bound (http_header_timeout) is 1 s here.
  const at = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve(null), 10_000))]);
  assert.notEqual(at, null, 'the slow connection is closed within 10 s');
  assert.ok(at - since >= 900, `closed after ${at - since} ms, not before the 1 s bound`);
}, ['--http-header-timeout', '1s']));

test('a non-loopback address is refused at start-up (exit 2); stdout stays empty on HTTP', async () => {
  const refused = await runBinary(['--http', '0.0.0.0:0']);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /not a loopback address/);

  const srv = await startHttpServer();
  try {
    await rawSession(srv);
  } finally {
    assert.equal(await srv.stop(), 0);
  }
  assert.equal(srv.stdout(), '');
});
