// The 2026-07-28 (modern) era over HTTP: the official v2 client (@modelcontextprotocol/client)
// end to end, then raw requests for what the transport must refuse: headers that do not mirror the
// body (-32020), an unknown method (404, -32601), an unsupported version (-32022), GET and DELETE
// (405). Progress travels on a request's own SSE stream, closing that stream cancels the request,
// and subscriptions/listen carries resource changes until the client leaves or the server stops.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

import { TOOL_NAMES, waitFor } from './lib/harness.mjs';
import {
  modernHeaders, modernRequest, sseMessages, startHttpServer, withHttpServer,
} from './lib/http.mjs';

async function connectV2(url, mode) {
  const client = new Client({ name: 'e2e-http-v2', version: '1.0.0' }, { capabilities: {}, versionNegotiation: { mode } });
  const transport = new StreamableHTTPClientTransport(url);
  await client.connect(transport);
  return { client, transport };
}

/** POSTs a modern request; `headers` may override or (with undefined) drop the mirrored ones. */
function post(srv, body, headers = {}, signal) {
  const merged = modernHeaders(body, headers);
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  return fetch(srv.url, { method: 'POST', headers: merged, body: JSON.stringify(body), signal });
}

async function expectError(response, status, code, pattern) {
  assert.equal(response.status, status);
  const body = await response.json();
  assert.equal(body.error.code, code, JSON.stringify(body));
  if (pattern) assert.match(body.error.message, pattern);
  return body;
}

for (const [label, mode] of [['pinned', { pin: '2026-07-28' }], ['auto', 'auto']]) {
  test(`v2 client over HTTP (${label}): 2026-07-28, no session, a job end to end with progress`, withHttpServer(async (srv) => {
    const { client, transport } = await connectV2(srv.url, mode);
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
      assert.equal(transport.sessionId, undefined, 'modern HTTP has no session');
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());

      const done = await client.callTool({ name: 'execute', arguments: { command: 'echo modern', wait_seconds: 10 } });
      assert.equal(done.structuredContent.output, 'modern\n');

      const job = await client.callTool({ name: 'execute', arguments: { command: 'exec sleep 30' } });
      const progressed = [];
      const waited = await client.callTool(
        { name: 'wait', arguments: { job_id: job.structuredContent.job_id, timeout_seconds: 3 } },
        { onprogress: (p) => progressed.push(p) },
      );
      assert.equal(waited.structuredContent.reason, 'timeout');
      assert.ok(progressed.length >= 1, 'progress arrived on the request stream');
      await client.callTool({ name: 'kill', arguments: { job_id: job.structuredContent.job_id } });
    } finally {
      await client.close();
    }
  }));
}

test('the headers must mirror the body: missing or different is 400 with -32020', withHttpServer(async (srv) => {
  const call = modernRequest(7, 'tools/call', { name: 'list', arguments: {} });
  const ok = await post(srv, call);
  assert.equal(ok.status, 200);
  const answer = await ok.json();
  assert.equal(answer.id, 7);
  assert.equal(answer.result.resultType, 'complete');
  assert.equal(ok.headers.get('mcp-session-id'), null, 'no session is minted');

  await expectError(await post(srv, call, { 'mcp-protocol-version': undefined }), 400, -32020, /MCP-Protocol-Version/);
  await expectError(await post(srv, call, { 'mcp-method': undefined }), 400, -32020, /Mcp-Method header is required/);
  await expectError(await post(srv, call, { 'mcp-method': 'tools/list' }), 400, -32020, /Mcp-Method header value 'tools\/list'/);
  await expectError(await post(srv, call, { 'mcp-name': undefined }), 400, -32020, /Mcp-Name header is required/);
  const renamed = await expectError(await post(srv, call, { 'mcp-name': 'kill' }), 400, -32020, /'kill' does not match body value 'list'/);
  assert.equal(renamed.id, 7);
  await expectError(await post(srv, call, { 'mcp-name': '=?base64?not base64?=' }), 400, -32020, /base64/);
  const otherVersion = modernRequest(8, 'tools/list');
  await expectError(await post(srv, otherVersion, { 'mcp-protocol-version': '2025-11-25' }), 400, -32020);

  // A name a header cannot carry as it is travels base64-encoded.
  const encoded = await post(srv, call, { 'mcp-name': `=?base64?${Buffer.from('list').toString('base64')}?=` });
  assert.equal(encoded.status, 200);
  await encoded.body?.cancel();
}));

test('unknown method 404 (-32601), unsupported version 400 (-32022), GET and DELETE 405, notifications 202', withHttpServer(async (srv) => {
  await expectError(await post(srv, modernRequest(1, 'prompts/list')), 404, -32601);
  const future = modernRequest(2, 'tools/list', {}, { 'io.modelcontextprotocol/protocolVersion': '2099-01-01' });
  const unsupported = await expectError(await post(srv, future, { 'mcp-protocol-version': '2099-01-01' }), 400, -32022);
  assert.ok(unsupported.error.data.supported.includes('2026-07-28'));
  assert.equal(unsupported.error.data.requested, '2099-01-01');

  for (const method of ['GET', 'DELETE']) {
    const refused = await fetch(srv.url, { method, headers: { accept: 'text/event-stream', 'mcp-protocol-version': '2026-07-28' } });
    assert.equal(refused.status, 405, method);
    assert.equal(refused.headers.get('allow'), 'POST');
    await refused.body?.cancel();
  }
  const discover = await post(srv, modernRequest(3, 'server/discover'));
  assert.equal(discover.status, 200);
  assert.deepEqual((await discover.json()).result.capabilities.resources, { subscribe: true, listChanged: true });

  const notification = await fetch(srv.url, {
    method: 'POST',
    headers: modernHeaders({ method: 'notifications/cancelled' }),
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 99 } }),
  });
  assert.equal(notification.status, 202);
}));

test('a body nested deeper than 100 levels is refused (400) before anything copies it; the server lives on', withHttpServer(async (srv) => {
  // 200,000 levels: dumping such a value recursed once per level and overflowed the stack.
  const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
  const body = JSON.stringify(modernRequest(1, 'tools/list')).replace('"params":{', `"params":{"x":${deep},`);
  const refused = await fetch(srv.url, { method: 'POST', headers: modernHeaders({ method: 'tools/list' }), body });
  await expectError(refused, 400, -32600, /nest deeper than 100 levels/);
  const ok = await post(srv, modernRequest(2, 'tools/list'));
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
}));

test('two clients may use the same request id at once: each gets its own answer', withHttpServer(async (srv) => {
  const slow = post(srv, modernRequest(1, 'tools/call', { name: 'execute', arguments: { command: 'sleep 0.3; echo slow', wait_seconds: 10 } }));
  const fast = post(srv, modernRequest(1, 'tools/call', { name: 'execute', arguments: { command: 'echo fast', wait_seconds: 10 } }));
  const [a, b] = await Promise.all([slow, fast]);
  assert.equal((await a.json()).result.structuredContent.output, 'slow\n');
  assert.equal((await b.json()).result.structuredContent.output, 'fast\n');
}));

test('closing a request stream cancels the request: a long wait ends at once', withHttpServer(async (srv) => {
  const started = await (await post(srv, modernRequest(1, 'tools/call', { name: 'execute', arguments: { command: 'exec sleep 30' } }))).json();
  const jobId = started.result.structuredContent.job_id;
  const requestLines = () => (srv.stderr().match(/http: POST \/mcp /g) ?? []).length;
  const before = requestLines();
  const abort = new AbortController();
  const wait = modernRequest(2, 'tools/call', { name: 'wait', arguments: { job_id: jobId, timeout_seconds: 25 } }, { progressToken: 'w' });
  const response = await post(srv, wait, {}, abort.signal);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /^text\/event-stream/);
  abort.abort();
  // The server logs each request when it is done with it: the wait must end now, not in 25 s.
  await waitFor(() => requestLines() > before, { timeoutMs: 5000, what: 'the cancelled wait to end' });

  const status = await (await post(srv, modernRequest(3, 'tools/call', { name: 'status', arguments: { job_id: jobId } }))).json();
  assert.equal(status.result.structuredContent.status, 'running', 'cancelling the wait leaves the job alone');
  await post(srv, modernRequest(4, 'tools/call', { name: 'kill', arguments: { job_id: jobId } }));
}));

test('subscriptions/listen: acknowledged, then list changes and resource updates stamped with its id', withHttpServer(async (srv) => {
  const started = await (await post(srv, modernRequest(1, 'tools/call', { name: 'execute', arguments: { command: 'exec sleep 30' } }))).json();
  const jobId = started.result.structuredContent.job_id;
  const abort = new AbortController();
  const listen = modernRequest('sub-1', 'subscriptions/listen', {
    notifications: {
      resourcesListChanged: true,
      toolsListChanged: true,
      resourceSubscriptions: [`job://${jobId}`, 'job://not-a-job'],
    },
  });
  const response = await post(srv, listen, {}, abort.signal);
  assert.equal(response.status, 200);
  const messages = sseMessages(response);

  const ack = (await messages.next()).value;
  assert.equal(ack.method, 'notifications/subscriptions/acknowledged');
  assert.equal(ack.params._meta['io.modelcontextprotocol/subscriptionId'], 'sub-1');
  assert.deepEqual(ack.params.notifications, { resourcesListChanged: true, resourceSubscriptions: [`job://${jobId}`] },
    'only what the server will honour: the tool list never changes, and unknown jobs are dropped');

  await post(srv, modernRequest(2, 'tools/call', { name: 'execute', arguments: { command: 'true' } }));
  await post(srv, modernRequest(3, 'tools/call', { name: 'kill', arguments: { job_id: jobId } }));
  const seen = [];
  for await (const message of messages) {
    seen.push(message);
    assert.equal(message.params._meta['io.modelcontextprotocol/subscriptionId'], 'sub-1');
    const listChanged = seen.some((m) => m.method === 'notifications/resources/list_changed');
    const updated = seen.some((m) => m.method === 'notifications/resources/updated' && m.params.uri === `job://${jobId}`);
    if (listChanged && updated) break;
  }
  assert.ok(!seen.some((m) => m.method === 'notifications/message'), 'no job-end log messages: they were not asked for');
  abort.abort();
}));

test('the v2 client\'s listen(): list changes reach its handler; a server stopping ends it gracefully', async () => {
  const srv = await startHttpServer();
  let client;
  try {
    ({ client } = await connectV2(srv.url, { pin: '2026-07-28' }));
    const changes = [];
    client.setNotificationHandler('notifications/resources/list_changed', (n) => changes.push(n));
    const subscription = await client.listen({ resourcesListChanged: true });
    assert.deepEqual(subscription.honoredFilter, { resourcesListChanged: true });
    await client.callTool({ name: 'execute', arguments: { command: 'true' } });
    await waitFor(() => changes.length > 0, { what: 'a list change on the subscription' });

    const exited = srv.terminate();
    assert.equal(await subscription.closed, 'graceful', 'the final result ended the subscription');
    assert.deepEqual(await exited, { code: 0, signal: null }, srv.stderr());
  } finally {
    await client?.close();
    await srv.stop();
  }
});
