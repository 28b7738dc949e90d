// GET /metrics (Prometheus text) and job owners over HTTP: real jobs and tool calls through the
// official v1 SDK client, then a scrape that must have moved by exactly what was done; two
// clients with different names, each seeing both jobs with who started them, and `mine`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { UNKNOWN_ID } from './lib/harness.mjs';
import { rawRequest, structured, withHttpServer } from './lib/http.mjs';

/** The samples of a text exposition: Map of 'name{labels}' -> number. */
function parseMetrics(text) {
  const samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      assert.match(line, /^# (HELP|TYPE) mcp_bg_/, 'only HELP and TYPE comments, of our families');
      continue;
    }
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

async function scrape(srv) {
  const response = await rawRequest(srv, { path: '/metrics', headers: { host: srv.url.host } });
  assert.equal(response.status, 200);
  assert.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  return parseMetrics(response.text);
}

/** How much each sample moved from `before` to `after` (a sample absent before counts from 0). */
function delta(before, after, name) {
  assert.ok(after.has(name), `${name} is exposed`);
  return after.get(name) - (before.get(name) ?? 0);
}

async function connectAs(url, name) {
  const client = new Client({ name, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(url);
  await client.connect(transport);
  return { client, transport };
}

test('GET /metrics counts HTTP responses by code, and refuses other methods', withHttpServer(async (srv) => {
  const before = await scrape(srv);
  for (let i = 0; i < 2; i += 1) assert.equal((await rawRequest(srv, { path: '/healthz', headers: { host: srv.url.host } })).status, 200);
  assert.equal((await rawRequest(srv, { path: '/nowhere', headers: { host: srv.url.host } })).status, 404);
  const post = await rawRequest(srv, { method: 'POST', path: '/metrics', headers: { host: srv.url.host }, body: '' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET');
  const after = await scrape(srv);
  // A response is counted as it is written, so each scrape shows the one before it.
  assert.equal(delta(before, after, 'mcp_bg_http_requests_total{code="200"}'), 3);
  assert.equal(delta(before, after, 'mcp_bg_http_requests_total{code="404"}'), 1);
  assert.equal(delta(before, after, 'mcp_bg_http_requests_total{code="405"}'), 1);
  assert.equal(after.get('mcp_bg_http_sessions'), 0);
  assert.equal(after.get('mcp_bg_http_streams'), 0);
}));

test('jobs, their output and tool calls move the counters by what was done', withHttpServer(async (srv) => {
  const before = await scrape(srv);
  const { client, transport } = await connectAs(srv.url, 'metrics-e2e');
  try {
    const done = structured(await client.callTool({ name: 'execute', arguments: { command: 'printf 12345; exit 2', wait_seconds: 10 } }));
    assert.equal(done.status, 'failed');
    const finished = structured(await client.callTool({ name: 'execute', arguments: { command: 'printf abc', wait_seconds: 10 } }));
    assert.equal(finished.status, 'completed');
    const sleeper = structured(await client.callTool({ name: 'execute', arguments: { command: 'exec sleep 30' } }));
    const refused = await client.callTool({ name: 'execute', arguments: { command: 'echo forbidden' } });
    assert.equal(refused.isError, true);
    const unknown = await client.callTool({ name: 'status', arguments: { job_id: UNKNOWN_ID } });
    assert.equal(unknown.isError, true);
    structured(await client.callTool({ name: 'status', arguments: { job_id: sleeper.job_id } }));

    let after = await scrape(srv);
    assert.equal(after.get('mcp_bg_http_sessions'), 1);
    assert.equal(after.get('mcp_bg_jobs_running'), 1);
    assert.equal(delta(before, after, 'mcp_bg_jobs_started_total'), 3);
    assert.equal(delta(before, after, 'mcp_bg_jobs_ended_total{status="failed"}'), 1);
    assert.equal(delta(before, after, 'mcp_bg_jobs_ended_total{status="completed"}'), 1);
    assert.equal(delta(before, after, 'mcp_bg_job_output_bytes_total'), 8);
    assert.equal(delta(before, after, 'mcp_bg_job_output_dropped_bytes_total'), 0);
    assert.equal(delta(before, after, 'mcp_bg_tool_calls_total{outcome="ok",tool="execute"}'), 3);
    assert.equal(delta(before, after, 'mcp_bg_tool_calls_total{outcome="denied",tool="execute"}'), 1);
    assert.equal(delta(before, after, 'mcp_bg_tool_calls_total{outcome="error",tool="status"}'), 1);
    assert.equal(delta(before, after, 'mcp_bg_tool_calls_total{outcome="ok",tool="status"}'), 1);
    assert.equal(delta(before, after, 'mcp_bg_tool_call_duration_seconds_count{tool="execute"}'), 4);
    assert.equal(delta(before, after, 'mcp_bg_tool_call_duration_seconds_bucket{tool="execute",le="+Inf"}'), 4);

    const killed = structured(await client.callTool({ name: 'kill', arguments: { job_id: sleeper.job_id, signal: 'KILL' } }));
    assert.equal(killed.result, 'signalled');
    structured(await client.callTool({ name: 'wait', arguments: { job_id: sleeper.job_id, timeout_seconds: 10 } }));
    after = await scrape(srv);
    assert.equal(after.get('mcp_bg_jobs_running'), 0);
    assert.equal(delta(before, after, 'mcp_bg_jobs_ended_total{status="killed"}'), 1);
  } finally {
    await transport.terminateSession();
    await client.close();
  }
  assert.equal((await scrape(srv)).get('mcp_bg_http_sessions'), 0, 'DELETE ended the session');
}, ['--denied-commands', 'forbidden']));

test('two clients see every job with who started it; mine shows each its own', withHttpServer(async (srv) => {
  const alice = await connectAs(srv.url, 'alice');
  const bob = await connectAs(srv.url, 'bob');
  try {
    const jobA = structured(await alice.client.callTool({ name: 'execute', arguments: { command: 'exec sleep 30', label: 'a' } }));
    const jobB = structured(await bob.client.callTool({ name: 'execute', arguments: { command: 'exec sleep 30', label: 'b' } }));
    const sessionA = alice.transport.sessionId.slice(0, 8);
    const sessionB = bob.transport.sessionId.slice(0, 8);
    assert.notEqual(sessionA, sessionB);

    for (const { client } of [alice, bob]) {
      const { jobs } = structured(await client.callTool({ name: 'list', arguments: {} }));
      const byId = new Map(jobs.map((row) => [row.job_id, row]));
      assert.deepEqual([byId.get(jobA.job_id).client, byId.get(jobA.job_id).session], ['alice', sessionA]);
      assert.deepEqual([byId.get(jobB.job_id).client, byId.get(jobB.job_id).session], ['bob', sessionB]);
      const status = structured(await client.callTool({ name: 'status', arguments: { job_id: jobB.job_id } }));
      assert.equal(status.client, 'bob');
      assert.equal(status.session, sessionB);
    }
    const mineA = structured(await alice.client.callTool({ name: 'list', arguments: { mine: true } }));
    assert.deepEqual(mineA.jobs.map((row) => row.job_id), [jobA.job_id]);
    const mineB = structured(await bob.client.callTool({ name: 'list', arguments: { mine: true, status: 'running' } }));
    assert.deepEqual(mineB.jobs.map((row) => row.job_id), [jobB.job_id]);
    const notMine = await bob.client.callTool({ name: 'list', arguments: { mine: 'yes' } });
    assert.equal(notMine.isError, true, 'mine must be a boolean');

    // The whole session id is never shown: it would let any client act in that session.
    const everything = JSON.stringify(await alice.client.callTool({ name: 'list', arguments: {} }));
    assert.ok(!everything.includes(bob.transport.sessionId));
  } finally {
    for (const { client, transport } of [alice, bob]) {
      await transport.terminateSession();
      await client.close();
    }
  }
}));
