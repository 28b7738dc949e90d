// Every kind of bad input: tool errors (isError with a text naming the argument), unknown tools
// (JSON-RPC -32602), ids, limits; a failed execute registers nothing.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { McpError } from '@modelcontextprotocol/sdk/types.js';

import { UNKNOWN_ID, child, startServer, withServer } from './lib/harness.mjs';

const JOB_TOOLS = {
  status: {},
  output: {},
  tail: {},
  interact: { input: 'x' },
  kill: {},
};

describe('argument validation', () => {
  let srv;
  let running; // a running job to aim bad arguments at
  let done; // a finished job with 6 bytes of output

  before(async () => {
    srv = await startServer();
    running = await srv.call('execute', { argv: child('echo') });
    done = await srv.run({ command: 'echo hello' });
  });
  after(async () => {
    await srv?.close();
  });

  test('unknown tool is a JSON-RPC error -32602', async () => {
    await assert.rejects(
      srv.client.callTool({ name: 'no_such_tool', arguments: {} }),
      (error) => {
        assert.ok(error instanceof McpError, `not an McpError: ${error}`);
        assert.equal(error.code, -32602);
        return true;
      },
    );
    // The server is still fine afterwards.
    assert.ok(Array.isArray((await srv.call('list', {})).jobs));
  });

  test('execute: neither command nor argv', async () => {
    const text = await srv.callError('execute', {});
    assert.match(text, /command/);
    assert.match(text, /argv/);
    assert.match(await srv.callError('execute', { cwd: srv.tmp }), /command|argv/);
  });

  test('execute: both command and argv', async () => {
    const text = await srv.callError('execute', { command: 'echo a', argv: ['echo', 'b'] });
    assert.match(text, /command/);
    assert.match(text, /argv/);
  });

  test('execute: wrong types', async () => {
    assert.match(await srv.callError('execute', { command: 42 }), /command/);
    assert.match(await srv.callError('execute', { command: ['echo', 'x'] }), /command/);
    assert.match(await srv.callError('execute', { argv: 'echo x' }), /argv/);
    assert.match(await srv.callError('execute', { argv: ['echo', 1] }), /argv/);
    assert.match(await srv.callError('execute', { argv: [] }), /argv/);
    assert.match(await srv.callError('execute', { command: 'true', cwd: 7 }), /cwd/);
    assert.match(await srv.callError('execute', { command: 'true', env: ['A=1'] }), /env/);
    assert.match(await srv.callError('execute', { command: 'true', env: { A: 1 } }), /env/);
    assert.match(await srv.callError('execute', { command: 'true', label: 5 }), /label/);
  });

  test('unknown extra arguments are named', async () => {
    assert.match(await srv.callError('execute', { command: 'true', bogus_arg: 1 }), /bogus_arg/);
    assert.match(await srv.callError('list', { verbose: true }), /verbose/);
    assert.match(await srv.callError('status', { job_id: running.job_id, extra_thing: 1 }), /extra_thing/);
    assert.match(await srv.callError('output', { job_id: done.job_id, lines: 3 }), /lines/);
    assert.match(await srv.callError('tail', { job_id: done.job_id, offset: 0 }), /offset/);
    assert.match(await srv.callError('interact', { job_id: running.job_id, input: 'x', timeout: 1 }), /timeout/);
    assert.match(await srv.callError('kill', { job_id: running.job_id, force: true }), /force/);
  });

  test('missing required arguments', async () => {
    for (const [tool, extra] of Object.entries(JOB_TOOLS)) {
      assert.match(await srv.callError(tool, { ...extra }), /job_id/, `${tool} without job_id`);
    }
    assert.match(await srv.callError('interact', { job_id: running.job_id }), /input/);
  });

  test('job_id of the wrong type', async () => {
    for (const [tool, extra] of Object.entries(JOB_TOOLS)) {
      assert.match(await srv.callError(tool, { job_id: 12345, ...extra }), /job_id/, `${tool} with a number`);
    }
  });

  test('malformed job id: "not a job id"', async () => {
    for (const bad of ['abc', '', `${UNKNOWN_ID}x`, UNKNOWN_ID.replace(/-/g, '')]) {
      for (const [tool, extra] of Object.entries(JOB_TOOLS)) {
        const text = await srv.callError(tool, { job_id: bad, ...extra });
        assert.match(text, /not a job id/, `${tool} ${JSON.stringify(bad)}: ${text}`);
      }
    }
  });

  test('unknown well-formed job id: "no such job"', async () => {
    for (const [tool, extra] of Object.entries(JOB_TOOLS)) {
      const text = await srv.callError(tool, { job_id: UNKNOWN_ID, ...extra });
      assert.match(text, /no such job/, `${tool}: ${text}`);
    }
  });

  test('list: bad status filter', async () => {
    assert.match(await srv.callError('list', { status: 'bogus' }), /status/);
    assert.match(await srv.callError('list', { status: 1 }), /status/);
  });

  test('output: bad offset, max_bytes, stream', async () => {
    const id = done.job_id;
    assert.match(await srv.callError('output', { job_id: id, offset: 7 }), /offset/, 'offset past total_bytes (6)');
    assert.match(await srv.callError('output', { job_id: id, offset: 1_000_000 }), /offset/);
    assert.match(await srv.callError('output', { job_id: id, offset: -1 }), /offset/);
    assert.match(await srv.callError('output', { job_id: id, offset: 1.5 }), /offset/);
    assert.match(await srv.callError('output', { job_id: id, offset: '0' }), /offset/);
    assert.match(await srv.callError('output', { job_id: id, max_bytes: 0 }), /max_bytes/);
    assert.match(await srv.callError('output', { job_id: id, max_bytes: -5 }), /max_bytes/);
    assert.match(await srv.callError('output', { job_id: id, max_bytes: 1024 * 1024 + 1 }), /max_bytes/);
    assert.match(await srv.callError('output', { job_id: id, stream: 'both' }), /stream/);
    // The edges are fine.
    assert.equal((await srv.call('output', { job_id: id, offset: 6 })).output, '');
    assert.equal((await srv.call('output', { job_id: id, max_bytes: 1024 * 1024 })).output, 'hello\n');
    assert.equal((await srv.call('output', { job_id: id, max_bytes: 1 })).output, 'h');
    // execute's max_bytes has the same ceiling, refused rather than clamped, and nothing starts.
    const before = (await srv.call('list', {})).jobs.length;
    assert.match(await srv.callError('execute',
      { command: 'echo x', wait_seconds: 1, max_bytes: 1024 * 1024 + 1 }), /max_bytes/);
    assert.equal((await srv.call('list', {})).jobs.length, before);
  });

  test('tail: bad lines and stream', async () => {
    const id = done.job_id;
    assert.match(await srv.callError('tail', { job_id: id, lines: 0 }), /lines/);
    assert.match(await srv.callError('tail', { job_id: id, lines: -1 }), /lines/);
    assert.match(await srv.callError('tail', { job_id: id, lines: 10001 }), /lines/);
    assert.match(await srv.callError('tail', { job_id: id, lines: 2.5 }), /lines/);
    assert.match(await srv.callError('tail', { job_id: id, lines: '5' }), /lines/);
    assert.match(await srv.callError('tail', { job_id: id, stream: 'err' }), /stream/);
    assert.equal((await srv.call('tail', { job_id: id, lines: 1 })).output, 'hello\n');
    assert.equal((await srv.call('tail', { job_id: id, lines: 10000 })).output, 'hello\n');
  });

  test('interact: bad input, flags, wait_ms', async () => {
    const id = running.job_id;
    assert.match(await srv.callError('interact', { job_id: id, input: 5 }), /input/);
    assert.match(await srv.callError('interact', { job_id: id, input: 'x', newline: 'yes' }), /newline/);
    assert.match(await srv.callError('interact', { job_id: id, input: 'x', eof: 1 }), /eof/);
    assert.match(await srv.callError('interact', { job_id: id, input: 'x', wait_ms: -1 }), /wait_ms/);
    assert.match(await srv.callError('interact', { job_id: id, input: 'x', wait_ms: 30_001 }), /wait_ms/);
    assert.match(await srv.callError('interact', { job_id: id, input: 'x', wait_ms: 1.5 }), /wait_ms/);
    // None of the refused calls wrote anything.
    const ok = await srv.call('interact', { job_id: id, input: 'first' });
    assert.equal(ok.output, 'got: first\n');
  });

  test('kill: bad signal and grace_seconds', async () => {
    const id = running.job_id;
    assert.match(await srv.callError('kill', { job_id: id, signal: 'FOO' }), /signal/);
    assert.match(await srv.callError('kill', { job_id: id, signal: 'STOP' }), /signal/);
    assert.match(await srv.callError('kill', { job_id: id, signal: 9 }), /signal/);
    assert.match(await srv.callError('kill', { job_id: id, grace_seconds: -1 }), /grace_seconds/);
    assert.match(await srv.callError('kill', { job_id: id, grace_seconds: 301 }), /grace_seconds/);
    assert.match(await srv.callError('kill', { job_id: id, grace_seconds: '5' }), /grace_seconds/);
    // None of them touched the job.
    assert.equal((await srv.call('status', { job_id: id })).status, 'running');
  });
});

test('execute: a cwd that does not exist is named, and nothing is registered', withServer(async (srv) => {
  const text = await srv.callError('execute', { command: 'true', cwd: '/nonexistent/dir/e2e' });
  assert.match(text, /cwd/);
  assert.deepEqual((await srv.call('list', {})).jobs, []);
  const argvText = await srv.callError('execute', { argv: ['true'], cwd: '/nonexistent/dir/e2e' });
  assert.match(argvText, /cwd/);
  assert.deepEqual((await srv.call('list', {})).jobs, []);
}));

test('execute: a program that cannot start is an error, and nothing is registered', withServer(async (srv) => {
  const missing = await srv.callError('execute', { argv: ['/nonexistent/prog'] });
  assert.match(missing, /\/nonexistent\/prog|no such file|not found/i);
  const notOnPath = await srv.callError('execute', { argv: ['definitely-not-a-program-e2e'] });
  assert.match(notOnPath, /definitely-not-a-program-e2e|not found|no such file/i);
  const notExecutable = await srv.callError('execute', { argv: [srv.tmp] });
  assert.ok(notExecutable.length > 0);
  assert.deepEqual((await srv.call('list', {})).jobs, []);
  // The server still starts jobs afterwards.
  const ok = await srv.run({ argv: ['true'] });
  assert.equal(ok.status, 'completed');
  assert.equal((await srv.call('list', {})).jobs.length, 1);
}));

test('max_jobs without a queue: a job beyond MCP_BG_MAX_JOBS is refused, naming max_jobs and kill', withServer(
  { env: { MCP_BG_MAX_JOBS: '2', MCP_BG_QUEUE: 'false' } },
  async (srv) => {
    // Finished jobs do not count.
    await srv.run({ argv: child('exit', 0) });
    await srv.run({ argv: child('exit', 1) });
    const a = await srv.call('execute', { argv: child('sleep', 100_000) });
    await srv.call('execute', { argv: child('sleep', 100_000) });
    const text = await srv.callError('execute', { argv: child('sleep', 100_000) });
    assert.match(text, /max_jobs/);
    assert.match(text, /kill/);
    assert.match(await srv.callError('execute', { command: 'true' }), /max_jobs/);
    assert.equal((await srv.call('list', { status: 'running' })).jobs.length, 2);
    assert.equal((await srv.call('list', {})).jobs.length, 4, 'refused jobs are not registered');

    await srv.call('kill', { job_id: a.job_id });
    await srv.waitForStatus(a.job_id, 'killed');
    const c = await srv.call('execute', { argv: child('sleep', 100_000) });
    assert.equal(c.status, 'running');
  },
));

test('max_jobs defaults to 10', withServer({ env: { MCP_BG_QUEUE: 'false' } }, async (srv) => {
  for (let i = 0; i < 10; i += 1) await srv.call('execute', { argv: child('sleep', 100_000) });
  assert.match(await srv.callError('execute', { argv: child('sleep', 100_000) }), /max_jobs/);
  assert.equal((await srv.call('list', {})).jobs.length, 10);
}));

test('MCP_BG_MAX_INTERACT_WAIT bounds wait_ms', withServer(
  { env: { MCP_BG_MAX_INTERACT_WAIT: '2s' } },
  async (srv) => {
    const { job_id } = await srv.call('execute', { argv: child('echo') });
    assert.match(await srv.callError('interact', { job_id, input: 'x', wait_ms: 2001 }), /wait_ms/);
    const ok = await srv.call('interact', { job_id, input: 'y', wait_ms: 2000 });
    assert.equal(ok.output, 'got: y\n', 'the refused call wrote nothing');
  },
));

test('an unknown job id on a fresh server', withServer(async (srv) => {
  assert.match(await srv.callError('status', { job_id: UNKNOWN_ID }), /no such job/);
  assert.match(await srv.callError('kill', { job_id: UNKNOWN_ID }), /no such job/);
}));
