// grep over a job's output: matching lines with their byte offsets, context, paging, tail of
// matches, and bad patterns.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { withServer } from './lib/harness.mjs';

const LOG = 'compile a.c\nwarning: unused x\ncompile b.c\nerror: missing ;\ncompile c.c\nerror: bad type\nlink\n';

async function finishedJob(srv, text) {
  const started = await srv.call('execute', { argv: ['printf', '%s', text], wait_seconds: 10 });
  assert.equal(started.status, 'completed');
  return started.job_id;
}

test('output with grep returns matching lines and their offsets', withServer(async (srv) => {
  const job_id = await finishedJob(srv, LOG);
  const result = await srv.call('output', { job_id, grep: '^error' });
  assert.equal(result.output, 'error: missing ;\nerror: bad type\n');
  assert.deepEqual(result.matches.map((m) => m.line), ['error: missing ;', 'error: bad type']);
  assert.equal(result.matches[0].offset, LOG.indexOf('error: missing'));
  assert.equal(result.truncated, false);
  assert.equal(result.next_offset, LOG.length);
  // Nothing was discarded: the whole output is still there.
  assert.equal((await srv.call('output', { job_id })).output, LOG);
}));

test('grep with context groups neighbouring lines like grep -C', withServer(async (srv) => {
  const job_id = await finishedJob(srv, LOG);
  const result = await srv.call('output', { job_id, grep: 'warning', context: 1 });
  assert.equal(result.output, 'compile a.c\nwarning: unused x\ncompile b.c\n');
  const both = await srv.call('output', { job_id, grep: '^error', context: 1 });
  assert.equal(both.output, 'compile b.c\nerror: missing ;\ncompile c.c\nerror: bad type\nlink\n');
}));

test('grep pages by max_bytes and continues from next_offset', withServer(async (srv) => {
  const job_id = await finishedJob(srv, LOG);
  const first = await srv.call('output', { job_id, grep: '^compile', max_bytes: 24 });
  assert.equal(first.output, 'compile a.c\ncompile b.c\n');
  assert.equal(first.truncated, true);
  const rest = await srv.call('output', { job_id, grep: '^compile', offset: first.next_offset });
  assert.equal(rest.output, 'compile c.c\n');
  assert.equal(rest.truncated, false);
}));

test('tail with grep returns the last matching lines', withServer(async (srv) => {
  const job_id = await finishedJob(srv, LOG);
  const last = await srv.call('tail', { job_id, grep: 'error|warning', lines: 2 });
  assert.equal(last.output, 'error: missing ;\nerror: bad type\n');
  assert.equal(last.lines, 2);
  assert.equal(last.truncated, true, 'an older match was left out');
  const all = await srv.call('tail', { job_id, grep: 'error|warning' });
  assert.equal(all.lines, 3);
  assert.equal(all.truncated, false);
}));

test('grep filters one stream', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', {
    command: 'echo "error on stdout"; echo "error on stderr" >&2', separate_streams: true, wait_seconds: 10 });
  const result = await srv.call('output', { job_id, grep: 'error', stream: 'stderr' });
  assert.equal(result.output, 'error on stderr\n');
}));

test('a bad grep pattern is a tool error naming grep', withServer(async (srv) => {
  const job_id = await finishedJob(srv, LOG);
  assert.match(await srv.callError('output', { job_id, grep: '[z-a]' }), /grep/);
  assert.match(await srv.callError('tail', { job_id, grep: '(' }), /grep/);
}));
