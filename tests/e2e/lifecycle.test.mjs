// Server lifecycle: protocol versions at initialize, invalid settings, eviction of finished jobs
// (max_finished, retention), and no zombies or leaked fds after many short jobs.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

import {
  TOOL_NAMES,
  child,
  jobChildrenOf,
  fdTable,
  inheritableFds,
  runBinary,
  serverBinary,
  serverEnvironment,
  withServer,
} from './lib/harness.mjs';

/** A bare JSON-RPC session over the SDK's stdio transport, to choose the initialize params. */
async function rawSession() {
  const transport = new StdioClientTransport({ command: serverBinary(), env: serverEnvironment(), stderr: 'pipe' });
  let stderr = '';
  transport.stderr.on('data', (chunk) => (stderr += chunk));
  const pending = new Map();
  transport.onmessage = (message) => {
    const waiter = pending.get(message.id);
    if (waiter) {
      pending.delete(message.id);
      waiter(message);
    }
  };
  await transport.start();
  let nextId = 1;
  return {
    async request(method, params) {
      const id = nextId++;
      const answer = new Promise((resolve, reject) => {
        pending.set(id, resolve);
        setTimeout(() => reject(new Error(`no answer to ${method} in 10 s; stderr: ${stderr}`)), 10_000).unref();
      });
      await transport.send({ jsonrpc: '2.0', id, method, params });
      return answer;
    },
    notify(method, params) {
      return transport.send({ jsonrpc: '2.0', method, ...(params ? { params } : {}) });
    },
    close: () => transport.close(),
  };
}

for (const version of ['2025-11-25', '2025-06-18', '2025-03-26']) {
  test(`initialize with protocol version ${version}`, async () => {
    const session = await rawSession();
    try {
      const init = await session.request('initialize', {
        protocolVersion: version,
        capabilities: {},
        clientInfo: { name: 'mcpbg-e2e-raw', version: '1.0.0' },
      });
      assert.equal(init.error, undefined, JSON.stringify(init.error));
      assert.equal(init.result.protocolVersion, version);
      assert.ok(init.result.capabilities?.tools, 'the server declares tools');
      assert.equal(typeof init.result.serverInfo?.name, 'string');
      assert.equal(typeof init.result.serverInfo?.version, 'string');
      await session.notify('notifications/initialized');
      const list = await session.request('tools/list', {});
      assert.deepEqual(list.result.tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
      const call = await session.request('tools/call', { name: 'list', arguments: {} });
      assert.deepEqual(call.result.structuredContent, { jobs: [] });
    } finally {
      await session.close();
    }
  });
}

test('the SDK client negotiates and knows the server', withServer(async (srv) => {
  const info = srv.client.getServerVersion();
  assert.equal(typeof info.name, 'string');
  assert.ok(srv.client.getServerCapabilities().tools);
}));

test('an invalid setting exits with code 2 naming the setting', async () => {
  const result = await runBinary([], { MCP_BG_MAX_JOBS: 'ten' });
  assert.equal(result.code, 2, `exit code; stderr: ${result.stderr}`);
  assert.match(result.stderr, /MCP_BG_MAX_JOBS/);
  assert.equal(result.stdout, '', 'nothing on stdout (the protocol channel)');

  const size = await runBinary([], { MCP_BG_MAX_OUTPUT_SIZE: '10XB' });
  assert.equal(size.code, 2, `MCP_BG_MAX_OUTPUT_SIZE=10XB; stderr: ${size.stderr}`);
  assert.match(size.stderr, /MCP_BG_MAX_OUTPUT_SIZE/);

  for (const [name, value] of [
    ['MCP_BG_MAX_JOBS', '0'],
    ['MCP_BG_MAX_READ_BYTES', 'lots'],
    ['MCP_BG_SHUTDOWN_GRACE', '-1s'],
    ['MCP_BG_LOG_LEVEL', 'loudest'],
  ]) {
    const bad = await runBinary([], { [name]: value });
    assert.equal(bad.code, 2, `${name}=${value}; stderr: ${bad.stderr}`);
    assert.match(bad.stderr, new RegExp(name), `${name}=${value}`);
  }

  const duration = await runBinary([], { MCP_BG_RETENTION: 'forever' });
  assert.equal(duration.code, 2, `MCP_BG_RETENTION=forever; stderr: ${duration.stderr}`);
  assert.match(duration.stderr, /MCP_BG_RETENTION/);
});

test('max_finished: the oldest finished job is evicted first; running jobs stay', withServer(
  { env: { MCP_BG_MAX_FINISHED: '2' } },
  async (srv) => {
    const running = await srv.call('execute', { argv: child('sleep', 100_000) });
    const jobs = [];
    for (let i = 0; i < 3; i += 1) jobs.push(await srv.run({ command: `echo ${i}`, label: `quick${i}` }));
    const listed = await srv.waitFor(async () => {
      const list = await srv.call('list', {});
      return list.jobs.length === 3 ? list : null;
    }, { what: 'the list to hold the running job and 2 finished ones' });
    assert.deepEqual(listed.jobs.map((j) => j.job_id), [jobs[2].job_id, jobs[1].job_id, running.job_id]);
    assert.match(await srv.callError('status', { job_id: jobs[0].job_id }), /no such job/);
    assert.match(await srv.callError('output', { job_id: jobs[0].job_id }), /no such job/);
    // One more finished job evicts the next oldest.
    const fourth = await srv.run({ command: 'echo 3' });
    await srv.waitFor(async () => {
      const ids = (await srv.call('list', {})).jobs.map((j) => j.job_id);
      return ids.length === 3 && !ids.includes(jobs[1].job_id) && ids.includes(fourth.job_id) && ids.includes(running.job_id);
    }, { what: `job ${jobs[1].job_id} to be evicted by a newer finished job` });
  },
));

test('max_finished defaults to 100', withServer(async (srv) => {
  // One after another, so that the first job is both the oldest started and the oldest finished.
  const ids = [];
  for (let i = 0; i < 101; i += 1) ids.push((await srv.run({ argv: ['true'] })).job_id);
  // A list page holds at most 50 jobs: follow next_cursor to see them all.
  const listAll = async () => {
    let page = await srv.call('list', {});
    const jobs = [...page.jobs];
    while (page.next_cursor) {
      page = await srv.call('list', { cursor: page.next_cursor });
      jobs.push(...page.jobs);
    }
    return jobs;
  };
  const listed = await srv.waitFor(async () => {
    const jobs = await listAll();
    return jobs.length === 100 ? jobs : null;
  }, { what: 'the list to hold 100 finished jobs' });
  assert.ok(!listed.some((j) => j.job_id === ids[0]), 'the oldest finished job is the one evicted');
}));

test('retention: finished jobs are evicted after MCP_BG_RETENTION; running ones are not', withServer(
  { env: { MCP_BG_RETENTION: '500ms', MCP_BG_CLEANUP_INTERVAL: '100ms' } },
  async (srv) => {
    const running = await srv.call('execute', { argv: child('sleep', 100_000) });
    const done = await srv.run({ command: 'echo short-lived' });
    assert.equal(done.status, 'completed');
    await srv.waitFor(async () => {
      const ids = (await srv.call('list', {})).jobs.map((j) => j.job_id);
      return !ids.includes(done.job_id) ? ids : null;
    }, { timeoutMs: 5000, what: 'the finished job to be evicted after 500 ms retention' });
    assert.match(await srv.callError('status', { job_id: done.job_id }), /no such job/);
    // The running job has outlived the retention and is still there.
    const status = await srv.call('status', { job_id: running.job_id });
    assert.equal(status.status, 'running');
    assert.ok(status.duration_seconds >= 0.5, `running job duration ${status.duration_seconds}`);
  },
));

test('20 short jobs: no zombie children, no leaked fds once finished and evicted', withServer(
  { env: { MCP_BG_RETENTION: '200ms', MCP_BG_CLEANUP_INTERVAL: '100ms' } },
  async (srv) => {
    const listEmpty = (what) =>
      srv.waitFor(async () => (await srv.call('list', {})).jobs.length === 0, { timeoutMs: 5000, what });

    // Warm up once, so that anything created lazily with the first job is in the baseline.
    await srv.run({ argv: child('both') });
    await listEmpty('the warm-up job to be evicted');
    const baseline = srv.fdCount();
    const baselineTable = fdTable(srv.pid);

    const modes = [['both'], ['exit', 0], ['exit', 3], ['spew', 10_000]];
    const ids = [];
    for (let i = 0; i < 20; i += 1) {
      const args = i % 5 === 4 ? { command: `echo job${i} && echo err >&2` } : { argv: child(...modes[i % modes.length]) };
      ids.push((await srv.call('execute', args)).job_id);
    }
    // A few killed ones too.
    const victims = [];
    for (let i = 0; i < 3; i += 1) victims.push(await srv.call('execute', { argv: child('sleep', 100_000) }));
    for (const v of victims) await srv.call('kill', { job_id: v.job_id });

    // Every job process is reaped as soon as it has ended.
    await srv.waitFor(() => srv.zombies().length === 0 && jobChildrenOf(srv.pid).length === 0, {
      timeoutMs: 10_000,
      what: 'no children and no zombies of the server',
    });
    await listEmpty('every finished job to be evicted');
    await srv.waitFor(() => srv.fdCount() <= baseline, {
      timeoutMs: 5000,
      what: `the server's fd count to return to ${baseline} (baseline ${JSON.stringify(baselineTable)})`,
    }).catch((error) => {
      error.message += `\nnow: ${JSON.stringify(fdTable(srv.pid))}`;
      throw error;
    });
    assert.deepEqual(srv.zombies(), []);
  },
));

test('a job inherits none of the server\'s own fds', withServer(async (srv) => {
  // fds that we (the test runner) pass down without O_CLOEXEC reach the server; whether it passes
  // those on is its choice. Anything else open in a job beyond 0, 1, 2 is one of the server's own
  // fds (its stdio, pipes of other jobs, event fds) leaking into the job.
  const passedDown = new Set(inheritableFds());
  const other = await srv.call('execute', { argv: child('echo') }); // pipes of another job exist
  const job = await srv.run({ argv: ['sh', '-c', 'ls -l /proc/$$/fd'] });
  assert.equal(job.status, 'completed');
  const out = (await srv.call('output', { job_id: job.job_id })).output;
  const fds = [...out.matchAll(/ (\d+) -> (.*)$/gm)].map((m) => ({ fd: Number(m[1]), target: m[2] }));
  assert.deepEqual(fds.filter((f) => f.fd <= 2).map((f) => f.fd), [0, 1, 2], out);
  const leaked = fds.filter((f) => f.fd > 2 && !passedDown.has(f.fd));
  assert.deepEqual(leaked, [], `server fds open in a job: ${JSON.stringify(leaked)}; server fds: ${JSON.stringify(fdTable(srv.pid))}`);
  await srv.call('kill', { job_id: other.job_id });
}));

test('no zombies while finished jobs are still listed', withServer(async (srv) => {
  const jobs = [];
  for (let i = 0; i < 5; i += 1) jobs.push(await srv.call('execute', { argv: child('exit', i) }));
  for (const job of jobs) await srv.waitForEnd(job.job_id);
  await srv.waitFor(() => srv.zombies().length === 0, {
    timeoutMs: 2000,
    what: `no zombie children once every job reports finished: ${JSON.stringify(srv.zombies())}`,
  });
  assert.equal((await srv.call('list', {})).jobs.length, 5);
}));
