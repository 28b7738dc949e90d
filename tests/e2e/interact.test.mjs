// interact: writing to a job's stdin and reading what it answers; prompts without a newline,
// eof, newline:false, input to a job that never reads stdin, and to a finished job.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { child, withServer } from './lib/harness.mjs';

test('execute -> interact -> output with an echoing job', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { argv: child('echo') });

  const first = await srv.call('interact', { job_id, input: 'hello' });
  assert.equal(first.job_id, job_id);
  assert.equal(first.bytes_written, 6);
  assert.equal(first.output, 'got: hello\n');
  assert.equal(first.offset, 0);
  assert.equal(first.next_offset, 11);
  assert.equal(first.status, 'running');
  assert.equal(first.exit_code, null);
  assert.equal(first.stdin_open, true);

  // The second answer holds only what came after the second write.
  const second = await srv.call('interact', { job_id, input: 'world' });
  assert.equal(second.output, 'got: world\n');
  assert.equal(second.offset, 11);
  assert.equal(second.next_offset, 22);

  // eof closes stdin after writing; the job then exits at EOF.
  const last = await srv.call('interact', { job_id, input: 'bye', eof: true });
  assert.equal(last.output, 'got: bye\n');
  assert.equal(last.stdin_open, false);
  const end = await srv.waitForEnd(job_id);
  assert.equal(end.status, 'completed');
  assert.equal(end.exit_code, 0);

  const out = await srv.call('output', { job_id });
  assert.equal(out.output, 'got: hello\ngot: world\ngot: bye\n');
}));

test('a prompt without a trailing newline is visible, and interact answers it', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { argv: child('prompt') });
  await srv.waitForOutput(job_id, (text) => text === 'name? ', { what: 'the prompt "name? " (no newline)' });
  const tail = await srv.call('tail', { job_id, lines: 1 });
  assert.equal(tail.output, 'name? ');

  const answer = await srv.call('interact', { job_id, input: 'Ada' });
  assert.equal(answer.output, 'hello Ada\n');
  assert.equal(answer.offset, 6);
  const end = await srv.waitForEnd(job_id);
  assert.equal(end.status, 'completed');
  assert.equal((await srv.call('output', { job_id })).output, 'name? hello Ada\n');
}));

test('interact output includes a prompt that arrives after the write without a newline', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', {
    command: 'printf "first? "; read a; printf "second? "; read b; echo "done $a $b"',
  });
  await srv.waitForOutput(job_id, (text) => text === 'first? ');
  const second = await srv.call('interact', { job_id, input: 'x', wait_ms: 5000 });
  assert.equal(second.output, 'second? ');
  const done = await srv.call('interact', { job_id, input: 'y', wait_ms: 5000 });
  assert.equal(done.output, 'done x y\n');
}));

test('newline:false writes the input as is', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { argv: child('echo') });
  const part = await srv.call('interact', { job_id, input: 'par', newline: false, wait_ms: 300 });
  assert.equal(part.bytes_written, 3);
  assert.equal(part.output, '');
  const rest = await srv.call('interact', { job_id, input: 'tial' });
  assert.equal(rest.bytes_written, 5);
  assert.equal(rest.output, 'got: partial\n');
  const multi = await srv.call('interact', { job_id, input: 'l1\nl2\n', newline: false });
  assert.equal(multi.bytes_written, 6);
  await srv.waitForOutput(job_id, (text) => text.endsWith('got: l1\ngot: l2\n'));
}));

test('interact returns once output is quiet, long before a large wait_ms', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { argv: child('echo') });
  const t0 = Date.now();
  const answer = await srv.call('interact', { job_id, input: 'quick', wait_ms: 10_000 });
  const elapsed = Date.now() - t0;
  assert.equal(answer.output, 'got: quick\n');
  assert.ok(elapsed < 3000, `interact took ${elapsed} ms for output that came at once`);

  // A job that exits returns at once too.
  const t1 = Date.now();
  const last = await srv.call('interact', { job_id, input: 'end', eof: true, wait_ms: 10_000 });
  assert.ok(Date.now() - t1 < 3000, `interact with eof took ${Date.now() - t1} ms`);
  assert.equal(last.output, 'got: end\n');
}));

test('wait_ms 0 writes and returns without waiting for output', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { argv: child('echo') });
  const t0 = Date.now();
  const answer = await srv.call('interact', { job_id, input: 'fast', wait_ms: 0 });
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(answer.bytes_written, 5);
  await srv.waitForOutput(job_id, (text) => text === 'got: fast\n');
}));

test('200 KB to a job that never reads stdin is buffered; the server keeps answering', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { argv: child('no-stdin') });
  await srv.waitForOutput(job_id, (text) => text === 'ready\n');
  const input = 'y'.repeat(200 * 1024);
  const t0 = Date.now();
  const written = await srv.call('interact', { job_id, input, wait_ms: 0 }, { timeoutMs: 10_000 });
  assert.ok(Date.now() - t0 < 2000, `interact took ${Date.now() - t0} ms`);
  assert.equal(written.bytes_written, 200 * 1024 + 1);
  assert.equal(written.stdin_open, true);

  for (let i = 0; i < 3; i += 1) {
    const t1 = Date.now();
    const status = await srv.call('status', { job_id }, { timeoutMs: 5000 });
    assert.ok(Date.now() - t1 < 1000, `status took ${Date.now() - t1} ms while stdin is full`);
    assert.equal(status.status, 'running');
  }
  const other = await srv.run({ command: 'echo still-here' });
  assert.equal(other.status, 'completed');
  const killed = await srv.call('kill', { job_id });
  assert.equal(killed.result, 'signalled');
  await srv.waitForStatus(job_id, 'killed');
}));

test('input beyond MCP_BG_STDIN_BUFFER_SIZE is an error', withServer(
  { env: { MCP_BG_STDIN_BUFFER_SIZE: '64KB' } },
  async (srv) => {
    const { job_id } = await srv.call('execute', { argv: child('no-stdin') });
    await srv.waitForOutput(job_id, (text) => text === 'ready\n');
    const small = await srv.call('interact', { job_id, input: 'small', wait_ms: 0 });
    assert.equal(small.bytes_written, 6);
    // 200 KB is more than the 64 KiB buffer plus any pipe capacity.
    const t0 = Date.now();
    const text = await srv.callError('interact', { job_id, input: 'z'.repeat(200 * 1024), wait_ms: 0 });
    assert.ok(Date.now() - t0 < 2000, `the refusal took ${Date.now() - t0} ms`);
    assert.match(text, /stdin|buffer/i);
    const status = await srv.call('status', { job_id }, { timeoutMs: 5000 });
    assert.equal(status.status, 'running');
  },
));

test('the default stdin buffer (1 MiB) refuses 2 MiB to a job that never reads', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { argv: child('no-stdin') });
  await srv.waitForOutput(job_id, (text) => text === 'ready\n');
  const text = await srv.callError('interact', { job_id, input: 'w'.repeat(2 * 1024 * 1024), wait_ms: 0 });
  assert.match(text, /stdin|buffer/i);
  assert.equal((await srv.call('status', { job_id })).status, 'running');
}));

test('input to a finished job is an error saying it has exited', withServer(async (srv) => {
  const job = await srv.run({ argv: child('exit', 0) });
  const text = await srv.callError('interact', { job_id: job.job_id, input: 'hello' });
  assert.match(text, /exit/i);
  const failed = await srv.run({ command: 'exit 9' });
  assert.match(await srv.callError('interact', { job_id: failed.job_id, input: 'x' }), /exit/i);
}));
