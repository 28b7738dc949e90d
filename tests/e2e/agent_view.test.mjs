// What the agent pays for and sees with default arguments (issue 10, part 5): the exit status and
// the failing line of a long run in few calls and few bytes; wait shows what was not yet seen;
// interact ends when the program is back at its prompt; output in the terminal's order; a
// server started outside its roots; descriptions that survive clients which strip schemas.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

import { runBinary, scratchDir, startServer, UNKNOWN_ID, withServer } from './lib/harness.mjs';

// A 10,000-line test run (go test style) whose one failure is in the middle: a script file, so
// the command line stays short.
function writeTestRun(dir) {
  const script = path.join(dir, 'run-tests.sh');
  fs.writeFileSync(script, [
    "seq -f '=== RUN   TestCase%04g' 1 4999",
    "echo '=== RUN   TestAdd'",
    "echo '    math_test.go:42: add(1, 2) = 3, want 4'",
    "echo '--- FAIL: TestAdd (0.00s)'",
    "seq -f '=== RUN   TestCase%04g' 5001 9996",
    "echo 'FAIL'",
    "echo 'exit status 1'",
    "echo 'FAIL\texample.com/math\t0.412s'",
    'exit 1',
    '',
  ].join('\n'));
  return script;
}

// The bytes an agent reads from a result: its text block (structuredContent holds the same JSON).
function resultBytes(result) {
  return Buffer.byteLength(result.content[0].text);
}

test('a 10,000-line run with one failure: exit status and failing line in 1 call and under 4 KB', withServer(async (srv) => {
  const script = writeTestRun(srv.tmp);
  const result = await srv.callResult('execute', { command: `sh ${script}`, wait_seconds: 30 });
  const shown = result.structuredContent;
  assert.equal(shown.status, 'failed');
  assert.equal(shown.exit_code, 1);
  assert.ok(resultBytes(result) <= 4096, `execute returned ${resultBytes(result)} bytes`);
  assert.match(shown.output, /math_test\.go:42: add\(1, 2\) = 3, want 4/);
  assert.match(shown.output, /--- FAIL: TestAdd/);
  // The first and last lines, and a line saying what was left out and how to read it.
  assert.ok(shown.output.startsWith('=== RUN   TestCase0001\n'));
  assert.ok(shown.output.endsWith('FAIL\texample.com/math\t0.412s\n'));
  assert.match(shown.output, /\[\.\.\. \d+ lines, \d+ bytes not shown \(offsets \d+ to \d+\): output \{"offset": \d+\} reads them/);
  assert.equal(shown.truncated, true);
}));

test('the same run, execute then wait: 2 calls, under 4 KB, failing line included', withServer(async (srv) => {
  const script = writeTestRun(srv.tmp);
  const started = await srv.callResult('execute', { command: `sh ${script}` });
  const waited = await srv.callResult('wait', { job_id: started.structuredContent.job_id });
  const total = resultBytes(started) + resultBytes(waited);
  assert.ok(total <= 4096, `the two calls returned ${total} bytes`);
  const { reason, exit_code: exitCode, output } = waited.structuredContent;
  assert.equal(reason, 'exited');
  assert.equal(exitCode, 1);
  assert.match(output, /math_test\.go:42: add\(1, 2\) = 3, want 4/);
  // error_pattern: "" shows no error lines; a pattern of one's own finds other lines.
  const job_id = started.structuredContent.job_id;
  const plain = await srv.call('wait', { job_id, offset: 0, error_pattern: '' });
  assert.doesNotMatch(plain.output, /math_test\.go:42/);
  const own = await srv.call('wait', { job_id, offset: 0, error_pattern: 'TestCase7777$' });
  assert.match(own.output, /=== RUN   TestCase7777\n/);
}));

test('wait on a job that already ended shows the output no client has seen', withServer(async (srv) => {
  const job = await srv.run({ command: 'echo hello; echo world' });
  const waited = await srv.call('wait', { job_id: job.job_id });
  assert.equal(waited.reason, 'exited');
  assert.equal(waited.output, 'hello\nworld\n');
  assert.equal(waited.offset, 0);
}));

test('interact on a pty REPL returns the answer, not only the echo', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { command: 'python3 -q -i', pty: true });
  await srv.waitForOutput(job_id, (text) => text.endsWith('>>> '), { what: 'the first prompt' });
  // A slow answer: a quiet spell in the output is no sign that the program is done.
  const answer = await srv.call('interact', {
    job_id, input: '__import__("time").sleep(0.5) or print(6*7)', wait_ms: 10_000,
  });
  assert.match(answer.output, /\r\n42\r\n>>> $/, JSON.stringify(answer.output));
  // A quick one, as the issue reported it, returns the answer and the next prompt too.
  const quick = await srv.call('interact', { job_id, input: 'print(6*7)', wait_ms: 10_000 });
  assert.equal(quick.output, 'print(6*7)\r\n42\r\n>>> ');
  await srv.call('kill', { job_id, signal: 'KILL' });
}));

test('stdout and stderr come in the order the job wrote them', withServer(async (srv) => {
  const jobs = [];
  for (let i = 0; i < 20; i += 1) jobs.push(await srv.run({ command: 'echo out1; echo err1 >&2; echo out2' }));
  const outputs = await Promise.all(jobs.map(async (job) => (await srv.call('output', { job_id: job.job_id })).output));
  assert.deepEqual(new Set(outputs), new Set(['out1\nerr1\nout2\n']));
  for (const job of jobs) {
    const status = await srv.call('status', { job_id: job.job_id });
    assert.equal(status.separate_streams, false);
    // One pipe cannot tell the streams apart: asking for one says so and what to do.
    assert.match(await srv.callError('output', { job_id: job.job_id, stream: 'stderr' }), /separate_streams/);
  }
  // separate_streams keeps them apart, for stream.
  const apart = await srv.run({ command: 'echo out1; echo err1 >&2; echo out2', separate_streams: true });
  assert.equal((await srv.call('output', { job_id: apart.job_id, stream: 'stderr' })).output, 'err1\n');
}));

test('allowed_roots without a working_dir: a server started elsewhere runs jobs in the first root', async () => {
  const root = scratchDir('mcpbg-root-');
  const srv = await startServer({ env: { MCP_BG_ALLOWED_ROOTS: root } });
  try {
    assert.notEqual(srv.tmp, root);
    const job = await srv.run({ argv: ['pwd'] });
    assert.equal((await srv.call('output', { job_id: job.job_id })).output, `${root}\n`);
    assert.equal((await srv.call('policy', {})).working_dir, root);
  } finally {
    await srv.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('tool descriptions fit in 2,000 characters and state every range', withServer(async (srv) => {
  const ranged = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems'];
  for (const tool of srv.tools) {
    assert.ok(tool.description.length <= 2000, `${tool.name}: ${tool.description.length} characters`);
    const visit = (schema, where) => {
      if (!schema || typeof schema !== 'object') return;
      // Model providers reject type arrays and unions in parameters: none in an inputSchema.
      assert.ok(!Array.isArray(schema.type) && !schema.anyOf && !schema.oneOf, `${tool.name} ${where}: a union type`);
      for (const key of ranged) {
        if (!(key in schema)) continue;
        const bound = String(schema[key]);
        // Codex drops minimum/maximum: the description must say the same.
        const said = key === 'minLength' && schema[key] === 1 ? 'non-empty' : bound;
        assert.ok(schema.description?.includes(said),
          `${tool.name} ${where}: ${key} ${bound} is not in its description: ${schema.description}`);
      }
      for (const [name, child] of Object.entries(schema.properties ?? {})) visit(child, `${where}.${name}`);
      if (schema.items) visit(schema.items, `${where}[]`);
      if (typeof schema.additionalProperties === 'object') visit(schema.additionalProperties, `${where}{}`);
    };
    visit(tool.inputSchema, 'input');
  }
}));

test('a queued job cancelled before it started is logged without a duration', withServer(
  { env: { MCP_BG_MAX_JOBS: '1' } },
  async (srv) => {
    const messages = [];
    srv.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => messages.push(n.params.data));
    const running = await srv.call('execute', { command: 'sleep 100' });
    const queued = await srv.call('execute', { command: 'echo never' });
    assert.equal(queued.status, 'queued');
    await srv.call('kill', { job_id: queued.job_id });
    const line = await srv.waitFor(() => messages.find((m) => m.includes(queued.job_id)), { what: 'the log message' });
    assert.match(line, /cancelled before it started$/);
    assert.doesNotMatch(line, /after/);
    await srv.call('kill', { job_id: running.job_id, signal: 'KILL' });
  },
));

test('no such job says whether the id was forgotten or belongs to an earlier server', withServer(
  { env: { MCP_BG_MAX_FINISHED: '1' } },
  async (srv) => {
    assert.match(await srv.callError('status', { job_id: UNKNOWN_ID }),
      /no such job: .* never a job of this server, which started at \d{4}-.*earlier server/);
    const first = await srv.run({ argv: ['true'] });
    await srv.run({ argv: ['true'] });
    await srv.waitFor(async () => (await srv.callResult('status', { job_id: first.job_id })).isError, { what: 'eviction' });
    assert.match(await srv.callError('status', { job_id: first.job_id }), /finished and was forgotten/);
  },
));

test('--help describes both transports, the queue and the message limit as they are', async () => {
  const { code, stdout } = await runBinary(['--help']);
  assert.equal(code, 0);
  assert.doesNotMatch(stdout.split('\n')[0], /on stdio/);
  assert.match(stdout.split('\n')[0], /stdio.*HTTP|HTTP.*stdio/);
  const flag = (name) => stdout.slice(stdout.indexOf(`--${name} `)).split(/\n {2}-/)[0].replace(/\s+/g, ' ');
  assert.match(flag('max-jobs'), /queued/);
  assert.doesNotMatch(flag('max-message-size'), /on stdio;/);
  assert.match(flag('max-message-size'), /HTTP/);
});
