// Scheduling under load: beyond max_jobs a job is queued (position reported, higher priority
// first), starts when a slot frees, can be cancelled; the queue and the start rate are bounded.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { child, withServer } from './lib/harness.mjs';

test('beyond max_jobs jobs queue, start by priority, and kill cancels a queued one', withServer(
  { env: { MCP_BG_MAX_JOBS: '1' } },
  async (srv) => {
    const blocker = await srv.call('execute', { argv: child('sleep', 100_000) });
    assert.equal(blocker.status, 'running');
    const normal = await srv.call('execute', { command: 'echo normal', label: 'normal' });
    const urgent = await srv.call('execute', { command: 'echo urgent', priority: 10 });
    const doomed = await srv.call('execute', { command: 'echo doomed' });
    for (const job of [normal, urgent, doomed]) {
      assert.equal(job.status, 'queued');
      assert.equal(job.pid, null);
      assert.equal(job.started, null);
    }
    assert.equal(urgent.queue_position, 1);
    assert.equal((await srv.call('status', { job_id: normal.job_id })).queue_position, 2);
    assert.equal((await srv.call('status', { job_id: doomed.job_id })).queue_position, 3);
    const queued = (await srv.call('list', { status: 'queued' })).jobs;
    assert.deepEqual(queued.map((job) => job.job_id).sort(),
      [normal.job_id, urgent.job_id, doomed.job_id].sort());

    // Input waits for the job to start; the error says so.
    assert.match(await srv.callError('interact', { job_id: normal.job_id, input: 'x' }),
      /still queued/);

    const cancelled = await srv.call('kill', { job_id: doomed.job_id });
    assert.equal(cancelled.result, 'cancelled');
    assert.equal(cancelled.status, 'cancelled');
    assert.equal((await srv.call('status', { job_id: doomed.job_id })).status, 'cancelled');

    // wait on a queued job waits through the queue and the run.
    const waiting = srv.call('wait', { job_id: normal.job_id, timeout_seconds: 20 });
    await srv.call('kill', { job_id: blocker.job_id });
    const waited = await waiting;
    assert.equal(waited.status, 'completed');
    const first = await srv.call('status', { job_id: urgent.job_id });
    const second = await srv.call('status', { job_id: normal.job_id });
    assert.equal(first.status, 'completed');
    assert.ok(Date.parse(first.started) <= Date.parse(second.started), 'urgent started first');
    assert.equal((await srv.call('output', { job_id: normal.job_id })).output, 'normal\n');
    assert.equal((await srv.call('output', { job_id: doomed.job_id })).output, '',
      'a cancelled job never ran');
  },
));

test('a full queue refuses naming max_queued', withServer(
  { env: { MCP_BG_MAX_JOBS: '1', MCP_BG_MAX_QUEUED: '1' } },
  async (srv) => {
    await srv.call('execute', { argv: child('sleep', 100_000) });
    await srv.call('execute', { argv: child('sleep', 100_000) });
    assert.match(await srv.callError('execute', { command: 'true' }), /max_queued = 1/);
  },
));

test('max_starts_per_minute refuses with the time to the next start', withServer(
  { env: { MCP_BG_MAX_STARTS_PER_MINUTE: '2' } },
  async (srv) => {
    // A call refused for another reason costs no start.
    assert.match(await srv.callError('execute', { command: 'true', cwd: '/nonexistent' }),
      /does not exist/);
    await srv.call('execute', { command: 'true' });
    await srv.call('execute', { command: 'true' });
    const text = await srv.callError('execute', { command: 'true' });
    assert.match(text, /max_starts_per_minute/);
    assert.match(text, /next start is possible in \d+\.\d s/);
  },
));

test('with queue=false, max_jobs refuses as before', withServer(
  { env: { MCP_BG_MAX_JOBS: '1', MCP_BG_QUEUE: 'false' } },
  async (srv) => {
    await srv.call('execute', { argv: child('sleep', 100_000) });
    assert.match(await srv.callError('execute', { command: 'true' }), /max_jobs/);
  },
));
