// Server-sent events on the 2025-11-25 (legacy) HTTP transport: a POST that asked for progress is
// answered as an SSE stream carrying it; GET opens the session's stream for what the server sends
// unasked (job-end messages, resource updates); streams per session are bounded; DELETE and
// shutdown close them; a request waiting at shutdown gets its real answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  JSON_HEADERS, connectClient, rawSession, sseMessages, startHttpServer, structured, withHttpServer,
} from './lib/http.mjs';

/** A raw legacy session: initialize + initialized; returns the headers its requests carry. */
async function legacySession(srv) {
  const session = await rawSession(srv);
  const headers = { ...JSON_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
  const initialized = await fetch(srv.url, {
    method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  assert.equal(initialized.status, 202);
  return headers;
}

async function call(srv, headers, id, name, args) {
  const response = await fetch(srv.url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }),
  });
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.id, id);
  assert.notEqual(body.result.isError, true, JSON.stringify(body));
  return body.result.structuredContent;
}

function openStream(srv, headers, signal) {
  return fetch(srv.url, {
    method: 'GET',
    headers: { accept: 'text/event-stream', 'mcp-session-id': headers['mcp-session-id'] },
    signal,
  });
}

test('the SDK client: a wait with a progressToken is answered as SSE, with progress before the result', withHttpServer(async (srv) => {
  const { client, transport } = await connectClient(srv.url);
  try {
    const job = structured(await client.callTool({ name: 'execute', arguments: { command: 'exec sleep 30' } }));
    const progressed = [];
    const waited = await client.callTool(
      { name: 'wait', arguments: { job_id: job.job_id, timeout_seconds: 3 } },
      undefined,
      { onprogress: (p) => progressed.push(p) },
    );
    assert.equal(structured(waited).reason, 'timeout');
    assert.ok(progressed.length >= 1, 'progress reached the client before the result');
    assert.match(progressed[0].message, new RegExp(`job ${job.job_id} running`));
    assert.equal(progressed[0].total, 3);
    structured(await client.callTool({ name: 'kill', arguments: { job_id: job.job_id } }));
  } finally {
    await transport.terminateSession();
    await client.close();
  }
}));

test('GET opens the session stream: job-end messages and resource updates arrive on it', withHttpServer(async (srv) => {
  const headers = await legacySession(srv);
  const abort = new AbortController();
  const stream = await openStream(srv, headers, abort.signal);
  assert.equal(stream.status, 200);
  assert.equal(stream.headers.get('x-accel-buffering'), 'no');
  const messages = sseMessages(stream);

  const job = await call(srv, headers, 1, 'execute', { command: 'exec sleep 30' });
  const subscribed = await fetch(srv.url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: `job://${job.job_id}` } }),
  });
  assert.equal(subscribed.status, 200);
  await subscribed.body?.cancel();
  await call(srv, headers, 3, 'kill', { job_id: job.job_id });

  const seen = [];
  for await (const message of messages) {
    seen.push(message);
    const ended = seen.some((m) => m.method === 'notifications/message' && m.params.data.includes(job.job_id));
    const updated = seen.some((m) => m.method === 'notifications/resources/updated' && m.params.uri === `job://${job.job_id}`);
    if (ended && updated) break;
  }
  assert.ok(seen.every((m) => m.jsonrpc === '2.0' && m.id === undefined), 'only notifications on the stream');
  abort.abort();
}));

test('streams per session are bounded (409), and DELETE closes them', withHttpServer(async (srv) => {
  const headers = await legacySession(srv);
  const open = [];
  for (let i = 0; i < 4; ++i) {  // the default http_max_streams_per_session
    const response = await openStream(srv, headers);
    assert.equal(response.status, 200);
    open.push(response);
  }
  const refused = await openStream(srv, headers);
  assert.equal(refused.status, 409);
  assert.match((await refused.json()).error.message, /http_max_streams_per_session/);

  const deleted = await fetch(srv.url, { method: 'DELETE', headers: { 'mcp-session-id': headers['mcp-session-id'] } });
  assert.equal(deleted.status, 204);
  for (const response of open) {
    const rest = [];
    for await (const message of sseMessages(response)) rest.push(message);
    assert.deepEqual(rest, [], 'the stream ends without a message');
  }
}));

test('a request waiting at shutdown gets its answer (the job was stopped), not an error', async () => {
  const srv = await startHttpServer();
  try {
    const headers = await legacySession(srv);
    const job = await call(srv, headers, 1, 'execute', { command: 'exec sleep 30' });
    // Asked with progress, the wait is answered as a stream: its header arriving proves the
    // server holds the request.
    const response = await fetch(srv.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0', id: 2, method: 'tools/call',
        params: { name: 'wait', arguments: { job_id: job.job_id, timeout_seconds: 30 }, _meta: { progressToken: 'p' } },
      }),
    });
    assert.equal(response.status, 200);
    const exited = srv.terminate();
    let answer;
    for await (const message of sseMessages(response)) {
      if (message.id === 2) answer = message;
    }
    assert.ok(answer, 'the wait was answered before the stream ended');
    assert.equal(answer.result.structuredContent.status, 'killed');
    assert.deepEqual(await exited, { code: 0, signal: null }, srv.stderr());
  } finally {
    await srv.stop();
  }
});
