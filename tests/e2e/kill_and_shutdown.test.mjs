// kill: whole process group (grandchildren), escalation to KILL after grace, named signals,
// already-terminated jobs; shutdown on client close and on SIGTERM/SIGINT leaves no job process.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { child, processAlive, readPidFile, startServer, waitFor, withServer } from './lib/harness.mjs';

test('kill reaches a grandchild (test_child grandchild)', withServer(async (srv) => {
  const pidFile = path.join(srv.tmp, 'grandchild.pid');
  const job = await srv.call('execute', { argv: child('grandchild', pidFile) });
  await srv.waitForOutput(job.job_id, (text) => text === 'ready\n');
  const grandchild = await readPidFile(pidFile);
  srv.noteProcess(grandchild);
  assert.ok(processAlive(grandchild), 'grandchild is running before the kill');

  const killed = await srv.call('kill', { job_id: job.job_id });
  assert.equal(killed.result, 'signalled');
  await srv.waitFor(() => !processAlive(grandchild), { what: `grandchild ${grandchild} to be gone` });
  await srv.waitFor(() => !processAlive(job.pid), { what: `job ${job.pid} to be gone` });
  const status = await srv.waitForStatus(job.job_id, 'killed');
  assert.equal(status.signal, 'SIGTERM');
}));

test('kill reaches a shell background process', withServer(async (srv) => {
  const job = await srv.call('execute', { command: 'sleep 1000 & echo $! > bg.pid; wait' });
  const bg = await readPidFile(path.join(srv.tmp, 'bg.pid'));
  srv.noteProcess(bg);
  assert.ok(processAlive(bg));
  const killed = await srv.call('kill', { job_id: job.job_id, grace_seconds: 1 });
  assert.equal(killed.result, 'signalled');
  await srv.waitFor(() => !processAlive(bg), { what: `background sleep ${bg} to be gone` });
  await srv.waitForStatus(job.job_id, 'killed');
}));

test('a job that ignores SIGTERM is KILLed after grace_seconds; kill returns at once', withServer(async (srv) => {
  const job = await srv.call('execute', { argv: child('ignore-term') });
  await srv.waitForOutput(job.job_id, (text) => text === 'ready\n');
  const t0 = Date.now();
  const killed = await srv.call('kill', { job_id: job.job_id, grace_seconds: 2 });
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < 1000, `kill took ${elapsed} ms: it must return before the grace period ends`);
  assert.equal(killed.result, 'signalled');
  // TERM is ignored: the process is still there until the grace period ends.
  assert.ok(processAlive(job.pid), 'the job survives TERM during the grace period');
  const status = await srv.waitForStatus(job.job_id, 'killed', { timeoutMs: 10_000 });
  assert.equal(status.signal, 'SIGKILL');
  assert.ok(Date.now() - t0 >= 1500, `KILL came ${Date.now() - t0} ms after the kill call, before grace_seconds 2`);
  await srv.waitFor(() => !processAlive(job.pid), { what: `job ${job.pid} to be gone` });
}));

test('ignore-term job with grace_seconds 0.5 ends killed', withServer(async (srv) => {
  const job = await srv.call('execute', { argv: child('ignore-term') });
  await srv.waitForOutput(job.job_id, (text) => text === 'ready\n');
  await srv.call('kill', { job_id: job.job_id, grace_seconds: 0.5 });
  const status = await srv.waitForStatus(job.job_id, 'killed', { timeoutMs: 5000 });
  assert.equal(status.signal, 'SIGKILL');
  await srv.waitFor(() => !processAlive(job.pid), { what: `job ${job.pid} to be gone` });
}));

test('KILL reaches what is left of the group after grace even when the leader died of TERM', withServer(async (srv) => {
  // The shell dies of TERM at once; the TERM-ignoring child it started stays in the job's group.
  const job = await srv.call('execute', { command: `${child('ignore-term')[0]} ignore-term & echo $! > stubborn.pid; wait` });
  const stubborn = await readPidFile(path.join(srv.tmp, 'stubborn.pid'));
  srv.noteProcess(stubborn);
  await srv.waitForOutput(job.job_id, (text) => text === 'ready\n');
  const t0 = Date.now();
  await srv.call('kill', { job_id: job.job_id, grace_seconds: 0.5 });
  await srv.waitFor(() => !processAlive(job.pid), { what: `the shell ${job.pid} to die of TERM` });
  await srv.waitFor(() => !processAlive(stubborn), {
    timeoutMs: 5000,
    what: `the TERM-ignoring grandchild ${stubborn} to be KILLed after grace`,
  });
  assert.ok(Date.now() - t0 >= 400, `the grandchild was gone ${Date.now() - t0} ms after kill, before grace_seconds 0.5`);
  const status = await srv.waitForStatus(job.job_id, 'killed');
  assert.equal(status.signal, 'SIGTERM', 'the job (the shell) died of the TERM the kill tool sent');
}));

test('grace_seconds 0 KILLs what survives TERM at once', withServer(async (srv) => {
  const job = await srv.call('execute', { argv: child('ignore-term') });
  await srv.waitForOutput(job.job_id, (text) => text === 'ready\n');
  const t0 = Date.now();
  await srv.call('kill', { job_id: job.job_id, grace_seconds: 0 });
  const status = await srv.waitForStatus(job.job_id, 'killed', { timeoutMs: 5000 });
  assert.equal(status.signal, 'SIGKILL');
  assert.ok(Date.now() - t0 < 1500, `KILL came ${Date.now() - t0} ms after a kill with grace_seconds 0`);
}));

test('kill sends the named signal', withServer(async (srv) => {
  for (const [name, full] of [['KILL', 'SIGKILL'], ['INT', 'SIGINT'], ['HUP', 'SIGHUP'], ['USR1', 'SIGUSR1']]) {
    const job = await srv.call('execute', { argv: child('sleep', 100_000) });
    const killed = await srv.call('kill', { job_id: job.job_id, signal: name });
    assert.equal(killed.result, 'signalled', name);
    assert.match(killed.signal, new RegExp(`^(SIG)?${name}$`));
    const status = await srv.waitForStatus(job.job_id, 'killed');
    assert.equal(status.signal, full, `signal after kill ${name}`);
    await srv.waitFor(() => !processAlive(job.pid), { what: `job ${job.pid} to be gone after ${name}` });
  }
}));

test('kill of a finished job: already_terminated with its final status', withServer(async (srv) => {
  const done = await srv.run({ argv: child('exit', 0) });
  const k1 = await srv.call('kill', { job_id: done.job_id });
  assert.equal(k1.result, 'already_terminated');
  assert.equal(k1.status, 'completed');
  assert.equal((await srv.call('status', { job_id: done.job_id })).status, 'completed');

  const failed = await srv.run({ argv: child('exit', 2) });
  const k2 = await srv.call('kill', { job_id: failed.job_id, signal: 'KILL' });
  assert.equal(k2.result, 'already_terminated');
  assert.equal(k2.status, 'failed');

  const job = await srv.call('execute', { argv: child('sleep', 100_000) });
  await srv.call('kill', { job_id: job.job_id });
  await srv.waitForStatus(job.job_id, 'killed');
  const again = await srv.call('kill', { job_id: job.job_id });
  assert.equal(again.result, 'already_terminated');
  assert.equal(again.status, 'killed');
}));

/** Start a server with jobs of every kind; returns it and every pid that must not survive. */
async function serverWithJobs() {
  const srv = await startServer({ env: { MCP_BG_SHUTDOWN_GRACE: '500ms' } });
  const pids = [];
  const sleeper = await srv.call('execute', { argv: child('sleep', 100_000) });
  pids.push(sleeper.pid);
  const pidFile = path.join(srv.tmp, 'gc.pid');
  const gc = await srv.call('execute', { argv: child('grandchild', pidFile) });
  pids.push(gc.pid);
  const grandchild = await readPidFile(pidFile);
  srv.noteProcess(grandchild);
  pids.push(grandchild);
  const stubborn = await srv.call('execute', { argv: child('ignore-term') });
  pids.push(stubborn.pid);
  await srv.waitForOutput(stubborn.job_id, (text) => text === 'ready\n');
  const shell = await srv.call('execute', { command: 'sleep 1000 & echo $! > bg.pid; wait' });
  pids.push(shell.pid);
  const bg = await readPidFile(path.join(srv.tmp, 'bg.pid'));
  srv.noteProcess(bg);
  pids.push(bg);
  const reader = await srv.call('execute', { argv: child('echo') });
  pids.push(reader.pid);
  for (const pid of pids) assert.ok(processAlive(pid), `pid ${pid} alive before shutdown`);
  return { srv, pids };
}

async function expectCleanExit(srv, pids, how, t0) {
  const exit = await Promise.race([
    srv.exited,
    new Promise((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref()),
  ]);
  assert.notEqual(exit, 'timeout', `the server did not exit within 10 s of ${how}${srv.context()}`);
  const elapsed = Date.now() - t0;
  assert.deepEqual(exit, { code: 0, signal: null }, `server exit after ${how}${srv.context()}`);
  // The TERM-ignoring job keeps the server waiting the whole 500 ms grace, then gets KILL: so the
  // exit comes after the grace and well before the 2 s default grace would end.
  assert.ok(elapsed >= 450, `the server exited ${elapsed} ms after ${how}, before the 500 ms shutdown grace`);
  assert.ok(elapsed < 1800, `shutdown took ${elapsed} ms with a 500 ms grace`);
  await waitFor(() => pids.every((pid) => !processAlive(pid)), {
    timeoutMs: 3000,
    what: `every job process to be gone after ${how}: alive ${JSON.stringify(pids.filter(processAlive))}`,
  });
}

test('closing the client (stdin EOF) kills every job process and the server exits 0', async () => {
  const { srv, pids } = await serverWithJobs();
  try {
    const t0 = Date.now();
    srv.proc.stdin.end(); // what Client.close() does first, without the SDK's TERM after 2 s
    await expectCleanExit(srv, pids, 'stdin EOF', t0);
  } finally {
    await srv.close();
  }
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  test(`${signal} to the server kills every job process and the server exits 0`, async () => {
    const { srv, pids } = await serverWithJobs();
    try {
      const t0 = Date.now();
      process.kill(srv.pid, signal);
      await expectCleanExit(srv, pids, signal, t0);
    } finally {
      await srv.close();
    }
  });
}

test('the default shutdown grace is 2 s', async () => {
  const srv = await startServer();
  try {
    const job = await srv.call('execute', { argv: child('ignore-term') });
    await srv.waitForOutput(job.job_id, (text) => text === 'ready\n');
    const t0 = Date.now();
    srv.proc.stdin.end();
    const exit = await Promise.race([
      srv.exited,
      new Promise((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref()),
    ]);
    const elapsed = Date.now() - t0;
    assert.deepEqual(exit, { code: 0, signal: null }, srv.context());
    assert.ok(elapsed >= 1900 && elapsed < 4000, `shutdown with a TERM-ignoring job took ${elapsed} ms, not about 2 s`);
    await waitFor(() => !processAlive(job.pid), { timeoutMs: 3000, what: `job ${job.pid} to be gone` });
  } finally {
    await srv.close();
  }
});

test('shutdown with no jobs is prompt', async () => {
  const srv = await startServer();
  try {
    const t0 = Date.now();
    srv.proc.stdin.end();
    const exit = await Promise.race([
      srv.exited,
      new Promise((resolve) => setTimeout(() => resolve('timeout'), 5000).unref()),
    ]);
    assert.deepEqual(exit, { code: 0, signal: null }, srv.context());
    assert.ok(Date.now() - t0 < 1000, `exit took ${Date.now() - t0} ms`);
  } finally {
    await srv.close();
  }
});

test('finished jobs leave nothing behind at shutdown either', async () => {
  const srv = await startServer();
  try {
    const job = await srv.run({ command: 'echo done' });
    assert.equal(job.status, 'completed');
    const pidFile = path.join(srv.tmp, 'gc.pid');
    // The job's main process exits at once but leaves a grandchild in its process group.
    const leaver = await srv.call('execute', { command: `(exec sleep 1000) & echo $! > ${pidFile}; exit 0` });
    const grandchild = await readPidFile(pidFile);
    srv.noteProcess(grandchild);
    await srv.waitForEnd(leaver.job_id);
    srv.proc.stdin.end();
    const exit = await Promise.race([
      srv.exited,
      new Promise((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref()),
    ]);
    assert.deepEqual(exit, { code: 0, signal: null }, srv.context());
    await waitFor(() => !processAlive(grandchild), {
      timeoutMs: 3000,
      what: `grandchild ${grandchild} of an exited job to be gone after shutdown`,
    });
    assert.ok(fs.existsSync(srv.tmp));
  } finally {
    await srv.close();
  }
});
