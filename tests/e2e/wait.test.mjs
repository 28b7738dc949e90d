// Waiting instead of polling: wait until exit, until a pattern, to a (clamped) timeout; progress
// notifications during a long wait; cancellation; execute with wait_seconds; job time limits.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { processAlive, waitFor, withServer } from './lib/harness.mjs';

test('wait until the job exits returns its new output and final status', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { command: 'sleep 0.3; echo done; exit 3' });
  const result = await srv.call('wait', { job_id });
  assert.equal(result.reason, 'exited');
  assert.equal(result.status, 'failed');
  assert.equal(result.exit_code, 3);
  assert.equal(result.output, 'done\n');
  assert.equal(result.next_offset, 5);
  assert.ok(result.elapsed_seconds < 30, 'returned at the exit, not at the timeout');
}));

test('wait until a pattern returns as soon as a line matches, the job still running', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', {
    command: 'for i in 1 2 3; do echo tick $i; sleep 0.1; done; echo "Listening on :8080"; sleep 100',
  });
  const result = await srv.call('wait', { job_id, until: 'Listening on|error' });
  assert.equal(result.reason, 'matched');
  assert.equal(result.status, 'running');
  assert.equal(result.match.line, 'Listening on :8080');
  assert.ok(result.output.includes('Listening on :8080'));
  assert.equal(result.exit_code, null);
  await srv.call('kill', { job_id, signal: 'KILL' });
}));

test('wait matches output no client was shown yet, unless offset says otherwise', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { command: 'echo ready; sleep 100' });
  await waitFor(async () => (await srv.call('status', { job_id })).output_bytes === 6, { what: 'ready printed' });
  // Printed before the wait began, but never shown: an agent that ran execute then wait sees it.
  const first = await srv.call('wait', { job_id, until: 'ready', timeout_seconds: 5 });
  assert.equal(first.reason, 'matched');
  assert.equal(first.output, 'ready\n');
  assert.equal(first.next_offset, 6);
  // Shown now: a second wait looks only at what comes after.
  const fresh = await srv.call('wait', { job_id, until: 'ready', timeout_seconds: 0.3 });
  assert.equal(fresh.reason, 'timeout', 'output already shown is not matched again');
  assert.equal(fresh.output, '');
  const from_start = await srv.call('wait', { job_id, until: 'ready', offset: 0 });
  assert.equal(from_start.reason, 'matched');
  assert.equal(from_start.match.offset, 0);
  await srv.call('kill', { job_id, signal: 'KILL' });
}));

test('wait times out, and clamps a long timeout to the configured ceiling', withServer({ env: { MCP_BG_MAX_WAIT: '1s' } }, async (srv) => {
  const { job_id } = await srv.call('execute', { command: 'sleep 100' });
  const short = await srv.call('wait', { job_id, timeout_seconds: 0.3 });
  assert.equal(short.reason, 'timeout');
  assert.equal(short.timeout_seconds, 0.3);
  assert.ok(short.elapsed_seconds >= 0.3);
  const clamped = await srv.call('wait', { job_id, timeout_seconds: 999 });
  assert.equal(clamped.reason, 'timeout');
  assert.equal(clamped.timeout_seconds, 1, 'the effective timeout is reported');
  await srv.call('kill', { job_id, signal: 'KILL' });
}));

test('a bad pattern is a tool error naming until', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { command: 'true' });
  const text = await srv.callError('wait', { job_id, until: '(unclosed' });
  assert.match(text, /until/);
  assert.match(text, /RE2/);
}));

test('progress notifications arrive while a wait is long', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { command: 'sleep 100' });
  const progress = [];
  const result = await srv.client.callTool(
    { name: 'wait', arguments: { job_id, timeout_seconds: 5 } },
    undefined,
    { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true, timeout: 20_000 },
  );
  assert.equal(result.structuredContent.reason, 'timeout');
  assert.ok(progress.length >= 2, `expected >= 2 progress notifications in 5 s, got ${progress.length}`);
  for (let i = 1; i < progress.length; ++i) assert.ok(progress[i].progress > progress[i - 1].progress);
  assert.equal(progress[0].total, 5);
  assert.match(progress[0].message, /elapsed/);
  await srv.call('kill', { job_id, signal: 'KILL' });
}));

test('cancelling a wait ends it and the server keeps serving at once', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { command: 'sleep 100' });
  const controller = new AbortController();
  const pending = srv.client.callTool(
    { name: 'wait', arguments: { job_id, timeout_seconds: 40 } }, undefined, { signal: controller.signal });
  controller.abort('no longer needed');
  await assert.rejects(pending);
  const started = Date.now();
  assert.equal((await srv.call('status', { job_id })).status, 'running');
  assert.ok(Date.now() - started < 2000);
  await srv.call('kill', { job_id, signal: 'KILL' });
}));

test('execute with wait_seconds returns a fast command\'s result in one call', withServer(async (srv) => {
  const fast = await srv.call('execute', { command: 'echo hello; echo oops >&2', wait_seconds: 10 });
  assert.equal(fast.status, 'completed');
  assert.equal(fast.exit_code, 0);
  assert.equal(fast.output.split('\n').sort().join('\n'), '\nhello\noops');
  assert.equal(fast.truncated, false);
  const slow = await srv.call('execute', { command: 'sleep 100', wait_seconds: 0.2 });
  assert.equal(slow.status, 'running');
  assert.equal(slow.exit_code, undefined, 'no exit code for a job still running');
  await srv.call('kill', { job_id: slow.job_id, signal: 'KILL' });
}));

test('a job over its timeout_seconds is stopped and marked timed_out', withServer(async (srv) => {
  const { job_id, pid } = await srv.call('execute', { command: 'sleep 100', timeout_seconds: 0.3 });
  const result = await srv.call('wait', { job_id, timeout_seconds: 10 });
  assert.equal(result.reason, 'exited');
  assert.equal(result.status, 'timed_out');
  const status = await srv.call('status', { job_id });
  assert.equal(status.status, 'timed_out');
  assert.equal(status.signal, 'SIGTERM');
  assert.ok(status.duration_seconds < 5);
  assert.equal((await srv.call('list', { status: 'timed_out' })).jobs.length, 1);
  await waitFor(() => !processAlive(pid), { what: 'the job process to be gone' });
}));

test('MCP_BG_JOB_TIMEOUT sets the default time limit', withServer({ env: { MCP_BG_JOB_TIMEOUT: '300ms' } }, async (srv) => {
  const { job_id } = await srv.call('execute', { command: 'sleep 100' });
  const result = await srv.call('wait', { job_id, timeout_seconds: 10 });
  assert.equal(result.status, 'timed_out');
  const quick = await srv.call('execute', { command: 'true', wait_seconds: 5 });
  assert.equal(quick.status, 'completed', 'a job inside the limit is unaffected');
}));

test('status says when a job is blocked reading its stdin', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { command: 'read answer; echo "got $answer"; sleep 100' });
  await waitFor(async () => (await srv.call('status', { job_id })).waiting_for_input === true,
                { what: 'waiting_for_input to become true' });
  const answered = await srv.call('interact', { job_id, input: 'yes' });
  assert.equal(answered.output, 'got yes\n');
  // Now it sleeps: not reading its stdin any more.
  assert.equal((await srv.call('status', { job_id })).waiting_for_input, false);
  await srv.call('kill', { job_id, signal: 'KILL' });
}));
