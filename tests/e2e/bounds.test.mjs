// Bounds that hold on every path (issue 10, part 3): every string a result carries is bounded by
// max_read_bytes and marked where cut; limits below the clock's resolution are limits; one line
// model for every reader; pages never end inside a character; list pages; one rule for ids.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ReadResourceResultSchema } from '@modelcontextprotocol/sdk/types.js';

import { withServer } from './lib/harness.mjs';

const READ_LIMIT = 16 * 1024;
const SMALL_READS = { env: { MCP_BG_MAX_READ_BYTES: `${READ_LIMIT}` } };

// A shell command printing one line of `bytes` x's with `needle` at its end, then more lines.
function longLine(bytes, needle, after = 'after') {
  return `head -c ${bytes} /dev/zero | tr '\\0' x; echo ${needle}; echo ${after}`;
}

test('wait: a matched line longer than max_read_bytes is cut around the match, marked', withServer(SMALL_READS, async (srv) => {
  // 2 MB of line before the match: the whole line used to be sent back as match.line.
  const { job_id } = await srv.call('execute', { command: `${longLine(2_000_000, 'NEEDLE')}; sleep 100` });
  const result = await srv.callResult('wait', { job_id, until: 'NEEDLE', offset: 0, timeout_seconds: 20 });
  const size = result.content[0].text.length;
  assert.ok(size <= 2 * READ_LIMIT, `the wait result is ${size} bytes`);
  const { reason, match } = result.structuredContent;
  assert.equal(reason, 'matched');
  assert.equal(match.offset, 0);
  assert.ok(Buffer.byteLength(match.line) <= READ_LIMIT + 100, `match.line is ${match.line.length} bytes`);
  assert.match(match.line, /NEEDLE$/);
  assert.match(match.line, /^\[\.\.\. \d+ bytes not shown \.\.\.\]x+NEEDLE$/);
  await srv.call('kill', { job_id, signal: 'KILL' });
}));

test('tail with grep finds a match on a line longer than max_read_bytes, as wait does', withServer(SMALL_READS, async (srv) => {
  const job = await srv.run({ command: longLine(100_000, 'NEEDLE') });
  const tail = await srv.call('tail', { job_id: job.job_id, grep: 'NEEDLE' });
  assert.equal(tail.matches?.length, 1, JSON.stringify(tail).slice(0, 300));
  assert.equal(tail.matches[0].offset, 0);
  assert.match(tail.output, /NEEDLE\n$/);
  assert.ok(Buffer.byteLength(tail.output) <= READ_LIMIT, `tail output is ${tail.output.length} bytes`);
  // output's grep and wait see the same line.
  const out = await srv.call('output', { job_id: job.job_id, grep: 'NEEDLE' });
  assert.equal(out.matches?.[0]?.offset, 0);
  const waited = await srv.call('wait', { job_id: job.job_id, until: 'NEEDLE', offset: 0 });
  assert.equal(waited.match.offset, 0);
}));

test('timeout_seconds below a millisecond is the smallest limit, never none', withServer(
  { env: { MCP_BG_JOB_TIMEOUT: '1h' } },
  async (srv) => {
    const { job_id } = await srv.call('execute', { command: 'sleep 60', timeout_seconds: 0.0001 });
    const ended = await srv.waitForEnd(job_id, { timeoutMs: 10_000 });
    assert.equal(ended.status, 'timed_out');
  },
));

test('output pages never end inside a character, even with max_bytes 1', withServer(async (srv) => {
  const text = 'aé€😀z\n';
  const job = await srv.run({ command: `printf '${text.replace('\n', '\\n')}'` });
  let offset = 0;
  const pages = [];
  for (let i = 0; i < 20 && offset < Buffer.byteLength(text); i += 1) {
    const page = await srv.call('output', { job_id: job.job_id, offset, max_bytes: 1 });
    assert.ok(!page.output.includes('\uFFFD'), `page at ${offset}: ${JSON.stringify(page.output)}`);
    assert.ok(page.next_offset > offset, 'every page moves on');
    pages.push(page.output);
    offset = page.next_offset;
  }
  assert.deepEqual(pages, ['a', 'é', '€', '😀', 'z', '\n']);
  // max_bytes that cuts a character leaves it for the next page.
  const cut = await srv.call('output', { job_id: job.job_id, offset: 0, max_bytes: 4 });
  assert.equal(cut.output, 'aé');
  assert.equal(cut.next_offset, 3);
}));

test('list cuts long commands and pages past its size bound', withServer(async (srv) => {
  // 30 jobs with 120 KiB commands made a 7.4 MB list.
  const filler = 'x'.repeat(120 * 1024);
  for (let i = 0; i < 30; i += 1) await srv.call('execute', { command: `true ${i} ${filler}` });
  const result = await srv.callResult('list', {});
  const size = result.content[0].text.length;
  assert.ok(size <= 64 * 1024, `the list result is ${size} bytes`);
  const { jobs } = result.structuredContent;
  assert.equal(jobs.length, 30);
  for (const job of jobs) {
    assert.ok(Buffer.byteLength(job.command) < 300, `a listed command is ${job.command.length} bytes`);
    assert.match(job.command, /^true \d+ x+\[\.\.\. \d+ more bytes\]$/);
  }
  // status shows more of it, but no more than max_read_bytes.
  const status = await srv.call('status', { job_id: jobs[0].job_id });
  assert.ok(status.command.length > 100_000 && status.command.startsWith('true 29 '));
}));

test('list pages with a cursor: every job once, newest first', withServer(
  { env: { MCP_BG_MAX_READ_BYTES: '1K', MCP_BG_MAX_FINISHED: '200' } },
  async (srv) => {
    const ids = [];
    for (let i = 0; i < 12; i += 1) ids.push((await srv.call('execute', { argv: ['true'] })).job_id);
    const seen = [];
    let page = await srv.call('list', {});
    let pages = 1;
    while (page.next_cursor) {
      assert.ok(page.jobs.length > 0);
      seen.push(...page.jobs.map((j) => j.job_id));
      page = await srv.call('list', { cursor: page.next_cursor });
      pages += 1;
    }
    seen.push(...page.jobs.map((j) => j.job_id));
    assert.ok(pages > 1, 'a 1 KiB bound makes several pages');
    assert.deepEqual(seen, [...ids].reverse());
    assert.match(await srv.callError('list', { cursor: 'nonsense' }), /not a cursor from list/);
  },
));

test('a job id in upper case names the same job in tools and resources alike', withServer(async (srv) => {
  const job = await srv.run({ command: 'echo hi' });
  const upper = job.job_id.toUpperCase();
  assert.equal((await srv.call('status', { job_id: upper })).job_id, job.job_id);
  assert.equal((await srv.call('output', { job_id: upper })).output, 'hi\n');
  const read = await srv.client.request(
    { method: 'resources/read', params: { uri: `job://${upper}/output` } },
    ReadResourceResultSchema,
  );
  assert.equal(read.contents[0].text, 'hi\n');
}));

test('an error quoting what the client sent is bounded too', withServer(SMALL_READS, async (srv) => {
  const huge = 'y'.repeat(200_000);
  const texts = [
    await srv.callError('execute', { command: 'true', cwd: `/nonexistent/${huge}` }),
    await srv.callError('execute', { command: 'true', env: { [`A=${huge}`]: '1' } }),
    await srv.callError('output', { job_id: '3f2b8c1e-9d4a-4b6e-8f00-0123456789ab', grep: `(${huge}` }),
    await srv.callError('status', { job_id: '3f2b8c1e-9d4a-4b6e-8f00-0123456789ab', [huge]: 1 }),
  ];
  for (const text of texts) {
    assert.ok(Buffer.byteLength(text) <= 4096 + 40, `an error of ${text.length} bytes: ${text.slice(0, 80)}`);
  }
  assert.match(texts[0], /\[\.\.\. \d+ more bytes\]$/);
}));
