// Every tool on its happy path: tools/list shape, execute/status/output/tail/list/kill, shell
// syntax, argv, cwd and env, concurrent jobs.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { ISO_UTC, TOOL_NAMES, UUID_V4, child, processAlive, scratchDir, withServer } from './lib/harness.mjs';

const READ_ONLY = ['list', 'status', 'output', 'tail', 'wait'];

test('tools/list: 8 tools with title, description, strict input schema, output schema, annotations', withServer(async (srv) => {
  const tools = srv.tools;
  assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
  for (const tool of tools) {
    const where = `tool ${tool.name}`;
    assert.ok(typeof tool.title === 'string' && tool.title.length > 0, `${where}: title`);
    assert.ok(typeof tool.description === 'string' && tool.description.length > 20, `${where}: description`);
    assert.equal(tool.inputSchema.type, 'object', `${where}: inputSchema.type`);
    assert.equal(tool.inputSchema.additionalProperties, false, `${where}: inputSchema.additionalProperties`);
    assert.ok(tool.outputSchema && tool.outputSchema.type === 'object', `${where}: outputSchema`);
    assert.ok(tool.annotations, `${where}: annotations`);
    if (READ_ONLY.includes(tool.name)) {
      assert.equal(tool.annotations.readOnlyHint, true, `${where}: readOnlyHint`);
    }
    if (['status', 'output', 'tail', 'wait', 'interact', 'kill'].includes(tool.name)) {
      assert.ok(tool.inputSchema.required?.includes('job_id'), `${where}: job_id is required`);
      assert.ok(tool.inputSchema.properties?.job_id, `${where}: job_id property`);
    }
  }
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  assert.equal(byName.kill.annotations.destructiveHint, true, 'kill: destructiveHint');
  assert.notEqual(byName.execute.annotations.readOnlyHint, true, 'execute is not read-only');
  assert.notEqual(byName.kill.annotations.readOnlyHint, true, 'kill is not read-only');
  assert.ok(byName.interact.inputSchema.required?.includes('input'), 'interact: input is required');
  for (const field of ['command', 'argv', 'cwd', 'env', 'label']) {
    assert.ok(byName.execute.inputSchema.properties?.[field], `execute: property ${field}`);
  }
}));

test('execute -> status -> output -> kill workflow', withServer(async (srv) => {
  const before = Date.now();
  const started = await srv.call('execute', { command: 'echo started; exec sleep 1000', label: 'workflow' });
  assert.match(started.job_id, UUID_V4);
  assert.equal(started.status, 'running');
  assert.ok(Number.isInteger(started.pid) && started.pid > 0, `pid: ${started.pid}`);
  assert.match(started.started, ISO_UTC);
  assert.ok(Math.abs(Date.parse(started.started) - before) < 60_000, `started ${started.started} is not about now (UTC)`);
  assert.ok(processAlive(started.pid), 'the job process is alive');

  await srv.waitForOutput(started.job_id, (text) => text === 'started\n', { what: 'the job to print "started"' });

  const status = await srv.call('status', { job_id: started.job_id });
  assert.equal(status.job_id, started.job_id);
  assert.equal(status.label, 'workflow');
  assert.equal(status.command, 'echo started; exec sleep 1000');
  assert.equal(status.cwd, srv.tmp, 'default cwd is the server working dir');
  assert.equal(status.status, 'running');
  assert.equal(status.pid, started.pid);
  assert.equal(status.exit_code, null);
  assert.equal(status.signal, null);
  assert.equal(status.started, started.started);
  assert.equal(status.ended, null);
  assert.equal(typeof status.duration_seconds, 'number');
  assert.ok(status.duration_seconds >= 0);
  assert.equal(status.output_bytes, 8);
  assert.equal(status.dropped_bytes, 0);

  const out = await srv.call('output', { job_id: started.job_id });
  assert.equal(out.output, 'started\n');
  assert.equal(out.offset, 0);
  assert.equal(out.next_offset, 8);
  assert.equal(out.total_bytes, 8);
  assert.equal(out.dropped_bytes, 0);
  assert.equal(out.truncated, false);
  assert.equal(out.status, 'running');
  assert.equal(out.exit_code, null);

  const killed = await srv.call('kill', { job_id: started.job_id });
  assert.equal(killed.job_id, started.job_id);
  assert.equal(killed.result, 'signalled');
  assert.match(killed.signal, /^(SIG)?TERM$/);

  const final = await srv.waitForStatus(started.job_id, 'killed');
  assert.equal(final.signal, 'SIGTERM');
  assert.match(final.ended, ISO_UTC);
  assert.ok(Date.parse(final.ended) >= Date.parse(final.started));
  await srv.waitFor(() => !processAlive(started.pid), { what: `job pid ${started.pid} to be gone` });

  const listed = await srv.call('list', {});
  assert.equal(listed.jobs.length, 1);
  assert.equal(listed.jobs[0].job_id, started.job_id);
  assert.equal(listed.jobs[0].status, 'killed');
}));

test('status of completed, failed and self-signalled jobs', withServer(async (srv) => {
  const ok = await srv.run({ command: 'printf hello' });
  assert.equal(ok.status, 'completed');
  assert.equal(ok.exit_code, 0);
  assert.equal(ok.signal, null);
  assert.equal(ok.output_bytes, 5);
  assert.equal(ok.dropped_bytes, 0);
  assert.match(ok.ended, ISO_UTC);
  assert.ok(Date.parse(ok.ended) >= Date.parse(ok.started));

  const failed = await srv.run({ command: 'exit 3' });
  assert.equal(failed.status, 'failed');
  assert.equal(failed.exit_code, 3);
  assert.equal(failed.signal, null);

  // Died of a signal the server did not send: failed, with the signal's name.
  const signalled = await srv.run({ command: 'kill -KILL $$' });
  assert.equal(signalled.status, 'failed');
  assert.equal(signalled.signal, 'SIGKILL');

  const notFound = await srv.run({ command: 'definitely-not-a-command-e2e' });
  assert.equal(notFound.status, 'failed');
  assert.equal(notFound.exit_code, 127);

  const slow = await srv.run({ argv: child('sleep', 300) });
  assert.equal(slow.status, 'completed');
  assert.ok(slow.duration_seconds >= 0.25 && slow.duration_seconds < 10, `duration_seconds ${slow.duration_seconds}`);
}));

test('a job that exits is reported finished without anyone polling output', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { argv: child('exit', 0) });
  const status = await srv.waitForEnd(job_id);
  assert.equal(status.status, 'completed');
  const failed = await srv.call('execute', { argv: child('exit', 42) });
  const end = await srv.waitForEnd(failed.job_id);
  assert.equal(end.status, 'failed');
  assert.equal(end.exit_code, 42);
}));

test('status is current on the next call once the process is gone', withServer(async (srv) => {
  const job = await srv.call('execute', { argv: child('exit', 0) });
  // Once the server has reaped the process (its pid is gone), one status call must say so.
  await srv.waitFor(() => !processAlive(job.pid), { what: `job process ${job.pid} to be reaped` });
  const status = await srv.call('status', { job_id: job.job_id });
  assert.equal(status.status, 'completed');
  assert.equal(status.exit_code, 0);
  const listed = await srv.call('list', {});
  assert.equal(listed.jobs[0].status, 'completed');
}));

test('list: newest first, fields, and status filter', withServer(async (srv) => {
  const a = await srv.run({ command: 'true', label: 'a' });
  const b = await srv.run({ command: 'exit 4', label: 'b' });
  const c = await srv.call('execute', { command: 'exec sleep 1000', label: 'c' });

  const all = await srv.call('list', {});
  assert.deepEqual(all.jobs.map((j) => j.job_id), [c.job_id, b.job_id, a.job_id], 'newest first');
  const [jc, jb, ja] = all.jobs;
  assert.deepEqual(
    Object.keys(jc).sort(),
    ['client', 'command', 'cpu_seconds', 'ended', 'exit_code', 'job_id', 'label', 'processes_left', 'reason',
      'rss_bytes', 'session', 'started', 'status', 'waiting_for_input'],
  );
  assert.equal(jc.processes_left, 0, 'a running job has left nothing behind');
  assert.equal(jc.reason, null, 'only a job the server ended for a limit has a reason');
  // Who started it: the client's name from initialize; on stdio the session is "stdio".
  assert.equal(jc.client, 'mcpbg-e2e');
  assert.equal(jc.session, 'stdio');
  assert.deepEqual((await srv.call('list', { mine: true })).jobs.map((j) => j.job_id), [c.job_id, b.job_id, a.job_id]);
  // Right after execute the process may still be between fork and exec (`sh` becoming `sleep`),
  // when /proc can show no resident pages: wait for the size rather than sample it once.
  await srv.waitFor(async () => {
    const row = (await srv.call('list', {})).jobs.find((j) => j.job_id === c.job_id);
    return row.rss_bytes > 0;
  }, { what: 'a running job has a resident size' });
  assert.equal(jc.waiting_for_input, false, 'sleep is not reading its stdin');
  assert.equal(jb.rss_bytes, null, 'a finished job has none');
  assert.equal(jc.label, 'c');
  assert.equal(jc.command, 'exec sleep 1000');
  assert.equal(jc.status, 'running');
  assert.equal(jc.exit_code, null);
  assert.equal(jc.ended, null);
  assert.match(jc.started, ISO_UTC);
  assert.equal(jb.status, 'failed');
  assert.equal(jb.exit_code, 4);
  assert.match(jb.ended, ISO_UTC);
  assert.equal(ja.status, 'completed');
  assert.equal(ja.exit_code, 0);
  assert.equal(ja.label, 'a');
  assert.equal(ja.started, a.started);

  const running = await srv.call('list', { status: 'running' });
  assert.deepEqual(running.jobs.map((j) => j.job_id), [c.job_id]);
  const completed = await srv.call('list', { status: 'completed' });
  assert.deepEqual(completed.jobs.map((j) => j.job_id), [a.job_id]);
  const failed = await srv.call('list', { status: 'failed' });
  assert.deepEqual(failed.jobs.map((j) => j.job_id), [b.job_id]);
  const killedNone = await srv.call('list', { status: 'killed' });
  assert.deepEqual(killedNone.jobs, []);

  await srv.call('kill', { job_id: c.job_id });
  await srv.waitForStatus(c.job_id, 'killed');
  const killed = await srv.call('list', { status: 'killed' });
  assert.deepEqual(killed.jobs.map((j) => j.job_id), [c.job_id]);
}));

test('list with no jobs is empty; no label is null or empty', withServer(async (srv) => {
  assert.deepEqual((await srv.call('list', {})).jobs, []);
  const job = await srv.run({ command: 'true' });
  assert.ok(job.label === null || job.label === '', `label without one given: ${JSON.stringify(job.label)}`);
}));

test('output: a finished job, whole log', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { command: 'echo one; echo two' });
  await srv.waitForEnd(job_id);
  const out = await srv.call('output', { job_id });
  assert.equal(out.output, 'one\ntwo\n');
  assert.equal(out.offset, 0);
  assert.equal(out.next_offset, 8);
  assert.equal(out.total_bytes, 8);
  assert.equal(out.truncated, false);
  assert.equal(out.status, 'completed');
  assert.equal(out.exit_code, 0);
  // From next_offset: nothing new.
  const rest = await srv.call('output', { job_id, offset: out.next_offset });
  assert.equal(rest.output, '');
  assert.equal(rest.next_offset, 8);
  assert.equal(rest.truncated, false);
}));

test('tail: last N lines, default 50, fewer lines than asked, no trailing newline', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { command: 'seq 1 100 | sed "s/^/line /"' });
  await srv.waitForEnd(job_id);
  const whole = Array.from({ length: 100 }, (_, i) => `line ${i + 1}\n`).join('');

  const three = await srv.call('tail', { job_id, lines: 3 });
  assert.equal(three.output, 'line 98\nline 99\nline 100\n');
  assert.equal(three.lines, 3);
  assert.equal(three.total_bytes, Buffer.byteLength(whole));
  assert.equal(three.next_offset, Buffer.byteLength(whole));
  assert.equal(three.dropped_bytes, 0);
  assert.equal(three.status, 'completed');
  assert.equal(three.exit_code, 0);
  assert.equal(typeof three.truncated, 'boolean');

  const fifty = await srv.call('tail', { job_id });
  assert.equal(fifty.lines, 50);
  assert.equal(fifty.output, whole.split('\n').slice(50, 100).map((l) => `${l}\n`).join(''));

  const all = await srv.call('tail', { job_id, lines: 10000 });
  assert.equal(all.output, whole);
  assert.equal(all.lines, 100);

  const partial = await srv.run({ command: "printf 'a\\nb\\nc'" });
  const tail2 = await srv.call('tail', { job_id: partial.job_id, lines: 2 });
  assert.equal(tail2.output, 'b\nc');
  assert.equal(tail2.lines, 2);
}));

test('tail with a stream filter', withServer(async (srv) => {
  const job = await srv.run({ argv: child('both'), separate_streams: true });
  const err = await srv.call('tail', { job_id: job.job_id, stream: 'stderr' });
  assert.equal(err.output, 'err1\n');
  const out = await srv.call('tail', { job_id: job.job_id, stream: 'stdout', lines: 1 });
  assert.equal(out.output, 'out2\n');
}));

test('shell syntax: &&, ||, ;, $VAR, globs, pipes, cd, redirection', withServer(async (srv) => {
  fs.writeFileSync(path.join(srv.tmp, 'a.txt'), '');
  fs.writeFileSync(path.join(srv.tmp, 'b.txt'), '');
  fs.writeFileSync(path.join(srv.tmp, 'c.log'), '');
  fs.mkdirSync(path.join(srv.tmp, 'sub'));
  const cases = [
    ['echo one && echo two', 'one\ntwo\n'],
    ['false && echo no; echo yes', 'yes\n'],
    ['false || echo fallback', 'fallback\n'],
    ['X=5; echo "x=$X"', 'x=5\n'],
    ['echo *.txt', 'a.txt b.txt\n'],
    ["printf 'b\\na\\nc\\n' | sort | head -n 2", 'a\nb\n'],
    ['cd sub && pwd', `${path.join(srv.tmp, 'sub')}\n`],
    ['echo to-stderr 1>&2', 'to-stderr\n'],
    ['echo "$(echo nested)"', 'nested\n'],
  ];
  for (const [command, expected] of cases) {
    const { job_id } = await srv.call('execute', { command });
    const end = await srv.waitForEnd(job_id);
    assert.equal(end.status, 'completed', `${command}: status`);
    const out = await srv.call('output', { job_id });
    assert.equal(out.output, expected, `output of: ${command}`);
  }
  const pipeFail = await srv.run({ command: 'echo x | exit 7' });
  assert.equal(pipeFail.exit_code, 7);
}));

test('argv runs the program directly, without a shell', withServer(async (srv) => {
  const literal = await srv.call('execute', { argv: ['echo', '$HOME', '*', 'a && b'] });
  await srv.waitForEnd(literal.job_id);
  assert.equal((await srv.call('output', { job_id: literal.job_id })).output, '$HOME * a && b\n');

  const spaced = await srv.call('execute', { argv: ['printf', '%s|', 'a b', '', 'c'] });
  await srv.waitForEnd(spaced.job_id);
  assert.equal((await srv.call('output', { job_id: spaced.job_id })).output, 'a b||c|');

  // The same text through command is expanded by the shell.
  const shell = await srv.call('execute', { command: 'echo "$HOME"' });
  await srv.waitForEnd(shell.job_id);
  assert.equal((await srv.call('output', { job_id: shell.job_id })).output, `${os.homedir()}\n`);

  const exitCode = await srv.run({ argv: child('exit', 5) });
  assert.equal(exitCode.status, 'failed');
  assert.equal(exitCode.exit_code, 5);
}));

test('cwd: the job runs there; default is the server working dir', withServer(async (srv) => {
  const dir = path.join(srv.tmp, 'work dir');
  fs.mkdirSync(dir);
  const here = await srv.call('execute', { command: 'pwd', cwd: dir });
  await srv.waitForEnd(here.job_id);
  assert.equal((await srv.call('output', { job_id: here.job_id })).output, `${dir}\n`);
  assert.equal((await srv.call('status', { job_id: here.job_id })).cwd, dir);

  const argvJob = await srv.call('execute', { argv: ['pwd'], cwd: dir });
  await srv.waitForEnd(argvJob.job_id);
  assert.equal((await srv.call('output', { job_id: argvJob.job_id })).output, `${dir}\n`);

  const dflt = await srv.call('execute', { command: 'pwd' });
  await srv.waitForEnd(dflt.job_id);
  assert.equal((await srv.call('output', { job_id: dflt.job_id })).output, `${srv.tmp}\n`);
}));

test('MCP_BG_WORKING_DIR sets the default cwd', async (t) => {
  const dir = scratchDir('mcpbg-e2e-wd-');
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  await withServer({ env: { MCP_BG_WORKING_DIR: dir } }, async (srv) => {
    const job = await srv.call('execute', { command: 'pwd' });
    await srv.waitForEnd(job.job_id);
    assert.equal((await srv.call('output', { job_id: job.job_id })).output, `${dir}\n`);
    assert.equal((await srv.call('status', { job_id: job.job_id })).cwd, dir);
  })(t);
});

test('env adds to the inherited environment and overrides', withServer(
  { env: { E2E_INHERITED: 'from-server', E2E_OVERRIDDEN: 'old' } },
  async (srv) => {
    const job = await srv.call('execute', {
      command: 'echo "$E2E_INHERITED|$E2E_OVERRIDDEN|$E2E_ADDED"',
      env: { E2E_OVERRIDDEN: 'new', E2E_ADDED: 'with space & $dollar' },
    });
    await srv.waitForEnd(job.job_id);
    assert.equal(
      (await srv.call('output', { job_id: job.job_id })).output,
      'from-server|new|with space & $dollar\n',
    );

    const argvJob = await srv.call('execute', { argv: ['env'], env: { E2E_ARGV: 'yes' } });
    await srv.waitForEnd(argvJob.job_id);
    const lines = (await srv.call('output', { job_id: argvJob.job_id })).output.split('\n');
    assert.ok(lines.includes('E2E_ARGV=yes'), 'argv job sees the added variable');
    assert.ok(lines.includes('E2E_INHERITED=from-server'), 'argv job inherits the server environment');

    // A variable given to one job does not leak into the next.
    const next = await srv.call('execute', { command: 'echo "[$E2E_ADDED]"' });
    await srv.waitForEnd(next.job_id);
    assert.equal((await srv.call('output', { job_id: next.job_id })).output, '[]\n');
  },
));

test('5 concurrent jobs each keep their own output', withServer(async (srv) => {
  // Each job prints its lines, waiting for its own stdin between them so that all five really
  // are running at the same time.
  const jobs = await Promise.all(
    [1, 2, 3, 4, 5].map((n) =>
      srv.call('execute', {
        command: `echo job${n}-start; while read line; do echo "job${n}-$line"; done; echo job${n}-end`,
        label: `job${n}`,
      }),
    ),
  );
  assert.equal(new Set(jobs.map((j) => j.job_id)).size, 5, 'distinct job ids');
  assert.equal(new Set(jobs.map((j) => j.pid)).size, 5, 'distinct pids');
  const running = await srv.call('list', { status: 'running' });
  assert.equal(running.jobs.length, 5);
  await Promise.all(
    jobs.map((job, i) =>
      srv.waitForOutput(job.job_id, (text) => text === `job${i + 1}-start\n`, { what: `job${i + 1} to start` }),
    ),
  );
  for (const round of ['a', 'b']) {
    await Promise.all(jobs.map((job) => srv.call('interact', { job_id: job.job_id, input: round, wait_ms: 0 })));
  }
  await Promise.all(jobs.map((job) => srv.call('interact', { job_id: job.job_id, input: '', newline: false, eof: true, wait_ms: 0 })));
  for (const [i, job] of jobs.entries()) {
    const n = i + 1;
    const end = await srv.waitForEnd(job.job_id);
    assert.equal(end.status, 'completed');
    const out = await srv.call('output', { job_id: job.job_id });
    assert.equal(out.output, `job${n}-start\njob${n}-a\njob${n}-b\njob${n}-end\n`, `output of job${n}`);
  }
}));
