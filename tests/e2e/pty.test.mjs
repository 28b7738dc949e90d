// pty: jobs on a pseudo-terminal (a REPL driven through interact, Ctrl-C as a key, ^D as eof,
// window size, status.pty), and the non-interactive environment of jobs without one.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { childrenOf, withServer } from './lib/harness.mjs';

// What a terminal shows may carry escape sequences (readline's bracketed-paste mode): drop them
// before comparing text.
function plain(text) {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

test('python3 -i on a pty: a prompt without a newline, Ctrl-C, an answer, and ^D to leave', withServer(async (srv) => {
  const started = await srv.call('execute', { argv: ['python3', '-q', '-i'], pty: true });
  assert.equal(started.pty, true);
  const { job_id } = started;
  // The REPL only prompts when stdin is a terminal, and the prompt has no newline after it.
  await srv.waitForOutput(job_id, (text) => plain(text).endsWith('>>> '), { what: 'the ">>> " prompt' });

  // A busy loop, interrupted by typing Ctrl-C: the REPL survives and prompts again. (The second
  // newline ends the compound statement.)
  const busy = await srv.call('interact', { job_id, input: 'while True: pass\n', wait_ms: 300 });
  assert.equal(busy.status, 'running');
  const { next_offset: before } = await srv.call('output', { job_id });
  const interrupted = await srv.call('interact', { job_id, input: '\u0003', newline: false, wait_ms: 5000 });
  assert.equal(interrupted.bytes_written, 1);
  await srv.waitForOutput(
    job_id,
    (text) => /KeyboardInterrupt\r\n[\s\S]*>>> $/.test(plain(text.slice(before))),
    { what: 'KeyboardInterrupt and the prompt back' },
  );
  assert.equal((await srv.call('status', { job_id })).status, 'running');

  const { next_offset: asked } = await srv.call('output', { job_id });
  const answer = await srv.call('interact', { job_id, input: 'print(6*7)', wait_ms: 5000 });
  assert.match(plain(answer.output), /42\r\n/);
  assert.equal(answer.status, 'running');
  // The terminal echoes what was typed; then the answer and the next prompt.
  await srv.waitForOutput(job_id, (text) => /^print\(6\*7\)\r\n42\r\n>>> $/.test(plain(text.slice(asked))), {
    what: 'the echoed input, 42 and the next prompt',
  });

  // eof types ^D: the REPL reads end of input and exits 0; the terminal was never closed on it.
  const bye = await srv.call('interact', { job_id, input: '', newline: false, eof: true, wait_ms: 5000 });
  if (bye.status === 'running') assert.equal(bye.stdin_open, true);
  const end = await srv.waitForEnd(job_id);
  assert.equal(end.status, 'completed');
  assert.equal(end.exit_code, 0);
  assert.equal(end.pty, true);
}));

test('Ctrl-C through a pty interrupts the foreground command and the shell prompts again', withServer(async (srv) => {
  const { job_id, pid } = await srv.call('execute', {
    argv: ['sh', '-i'],
    pty: true,
    env: { PS1: 'sh$ ', ENV: '' },
  });
  await srv.waitForOutput(job_id, (text) => text.endsWith('sh$ '), { what: 'the shell prompt' });
  const running = await srv.call('interact', { job_id, input: 'sleep 100', wait_ms: 300 });
  assert.equal(running.status, 'running');
  const sleeper = await srv.waitFor(
    () => childrenOf(pid).find((p) => p.comm === 'sleep' && p.state !== 'Z'),
    { what: 'the shell to start sleep 100' },
  );
  srv.noteProcess(sleeper.pid);
  // The interactive shell put sleep in a process group of its own, in the terminal's foreground:
  // only the terminal can interrupt it with a key, and it does.
  assert.notEqual(sleeper.pgrp, pid);

  const { next_offset: before } = await srv.call('output', { job_id });
  await srv.call('interact', { job_id, input: '\u0003', newline: false, wait_ms: 2000 });
  await srv.waitFor(() => !childrenOf(pid).some((p) => p.pid === sleeper.pid && p.state !== 'Z'), {
    what: `sleep (pid ${sleeper.pid}) to end on Ctrl-C`,
  });
  await srv.waitForOutput(job_id, (text) => text.slice(before).endsWith('sh$ '), { what: 'the prompt back' });
  const status = await srv.call('status', { job_id });
  assert.equal(status.status, 'running', 'the shell itself is not interrupted');

  const echoed = await srv.call('interact', { job_id, input: 'echo still $((40+2))', wait_ms: 5000 });
  assert.match(echoed.output, /still 42\r\n/);
  await srv.call('interact', { job_id, input: 'exit 3', wait_ms: 2000 });
  const end = await srv.waitForEnd(job_id);
  assert.equal(end.status, 'failed');
  assert.equal(end.exit_code, 3);
}));

test('a pty job is on a terminal of the asked size, with TERM set; a pipe job is not', withServer(async (srv) => {
  const script = 'test -t 0 && echo tty || echo no-tty; stty size 2>/dev/null || echo no-size; echo "TERM=$TERM"';
  const onPty = await srv.run({ command: script, pty: true, cols: 132, rows: 50 });
  assert.equal(onPty.status, 'completed');
  assert.equal(onPty.pty, true);
  assert.equal((await srv.call('output', { job_id: onPty.job_id })).output, 'tty\r\n50 132\r\nTERM=xterm-256color\r\n');
  // A terminal has one stream: asking for one of two is an error that says so.
  assert.match(await srv.callError('output', { job_id: onPty.job_id, stream: 'stderr' }), /its terminal.*cannot be told apart/);

  const defaults = await srv.run({ command: 'stty size', pty: true });
  assert.equal((await srv.call('output', { job_id: defaults.job_id })).output, '40 120\r\n');

  const onPipes = await srv.run({ command: script });
  assert.equal(onPipes.pty, false);
  assert.equal((await srv.call('output', { job_id: onPipes.job_id })).output, 'no-tty\nno-size\nTERM=dumb\n');
}));

test('eof on a pty types ^D: cat ends at end of input, and stdin stays open until then', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { argv: ['cat'], pty: true });
  const answer = await srv.call('interact', { job_id, input: 'hello', eof: true, wait_ms: 5000 });
  assert.equal(answer.bytes_written, 6);
  const end = await srv.waitForEnd(job_id);
  assert.equal(end.status, 'completed');
  // The terminal echoes the line, then cat prints it.
  assert.equal((await srv.call('output', { job_id })).output, 'hello\r\nhello\r\n');
}));

test('jobs without a pty get a non-interactive environment; env overrides it', withServer(
  { env: { TERM: 'xterm-from-client', PAGER: 'less', NO_COLOR: '' } },
  async (srv) => {
    const show = 'echo "TERM=$TERM NO_COLOR=$NO_COLOR PAGER=$PAGER GIT_PAGER=$GIT_PAGER"';
    const job = await srv.run({ command: show });
    assert.equal((await srv.call('output', { job_id: job.job_id })).output, 'TERM=dumb NO_COLOR=1 PAGER=cat GIT_PAGER=cat\n');
    const own = await srv.run({ command: show, env: { TERM: 'vt220', PAGER: 'more' } });
    assert.equal((await srv.call('output', { job_id: own.job_id })).output, 'TERM=vt220 NO_COLOR=1 PAGER=more GIT_PAGER=cat\n');
  },
));

test('MCP_BG_NON_INTERACTIVE_ENV=false: jobs inherit the server\'s values', withServer(
  { env: { MCP_BG_NON_INTERACTIVE_ENV: 'false', TERM: 'xterm-from-client', PAGER: 'less', GIT_PAGER: 'delta' } },
  async (srv) => {
    const job = await srv.run({ command: 'echo "TERM=$TERM NO_COLOR=${NO_COLOR-unset} PAGER=$PAGER GIT_PAGER=$GIT_PAGER"' });
    const expected = `TERM=xterm-from-client NO_COLOR=${process.env.NO_COLOR ?? 'unset'} PAGER=less GIT_PAGER=delta\n`;
    assert.equal((await srv.call('output', { job_id: job.job_id })).output, expected);
  },
));

test('pty arguments are checked: size bounds, and a size needs pty', withServer(async (srv) => {
  assert.match(await srv.callError('execute', { command: 'true', pty: true, cols: 19 }), /cols/);
  assert.match(await srv.callError('execute', { command: 'true', pty: true, cols: 501 }), /cols/);
  assert.match(await srv.callError('execute', { command: 'true', pty: true, rows: 4 }), /rows/);
  assert.match(await srv.callError('execute', { command: 'true', pty: true, rows: 201 }), /rows/);
  assert.match(await srv.callError('execute', { command: 'true', pty: 'yes' }), /pty/);
  assert.match(await srv.callError('execute', { command: 'true', cols: 80 }), /pty/);
  const edges = await srv.run({ command: 'stty size', pty: true, cols: 500, rows: 5 });
  assert.equal((await srv.call('output', { job_id: edges.job_id })).output, '5 500\r\n');
  assert.equal((await srv.call('list', {})).jobs.length, 1, 'no job was started by a refused call');
}));
