// Persisted jobs outlive their server: execute {persist: true} runs the job under a keeper of
// its own (this binary in keeper mode, in a session of its own), and any later server of the
// same state directory, or one running beside it, lists the job and takes it back: status,
// output from offset 0, wait for a pattern and for the exit, interact (pipes and pty), kill.
// A keeper killed with SIGKILL leaves the job lost (keeper_gone) with nothing of it left; a job
// without persist still ends with its server.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { procStat, processAlive, scratchDir, startServer, waitFor } from './lib/harness.mjs';

// The keeper is the persisted job's parent.
function keeperOf(jobPid) {
  const stat = procStat(jobPid);
  assert.ok(stat, `job process ${jobPid} is gone`);
  return stat.ppid;
}

// Ends whatever a failed test left: the job's group and its keeper.
function sweep(pids) {
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

// A keeper logs to its own file, not to a server's stderr: a sanitizer report of a keeper (the
// ASan run of this suite) would go unseen unless its logs are read.
function assertCleanKeeperLogs(state) {
  const dir = path.join(state, 'keepers');
  if (!fs.existsSync(dir)) return;
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.log'))) {
    const text = fs.readFileSync(path.join(dir, name), 'utf8');
    assert.doesNotMatch(text, /AddressSanitizer|LeakSanitizer|runtime error:/, `keeper log ${name}:\n${text.slice(-4000)}`);
  }
}

async function endServer(server, how) {
  if (how === 'close') {
    assert.deepEqual(await server.close(), { code: 0, signal: null });
    return;
  }
  process.kill(server.pid, how);
  await server.exited;
  await server.close();
}

describe('persisted jobs', () => {
  for (const how of ['close', 'SIGTERM', 'SIGKILL']) {
    test(`a persisted job survives its server's end (${how}) and a new server takes it back`, async () => {
      const state = path.join(scratchDir('mcpbg-persist-'), 'state');
      const env = { MCP_BG_STATE_DIR: state };
      const leftovers = [];
      let first;
      let second;
      try {
        first = await startServer({ env });
        // Prints, then waits for a line on stdin and answers it, then waits again.
        const job = await first.call('execute', {
          command: 'echo "server up on 5173"; while read line; do echo "got $line"; done; echo bye; exit 7',
          persist: true,
          label: 'dev',
        });
        assert.equal(job.persisted, true);
        assert.equal(job.status, 'running');
        const keeper = keeperOf(job.pid);
        leftovers.push(job.pid, keeper);
        assert.notEqual(keeper, first.pid, 'the job runs under its keeper, not the server');
        await first.waitForOutput(job.job_id, (text) => text.includes('server up'));
        await endServer(first, how);
        assert.ok(processAlive(job.pid), `the persisted job survives the server (${how})`);
        assert.ok(processAlive(keeper), 'its keeper too');

        second = await startServer({ env });
        const listed = await second.call('list');
        const row = listed.jobs.find((j) => j.job_id === job.job_id);
        assert.ok(row, `the new server lists the job: ${JSON.stringify(listed)}`);
        assert.equal(row.status, 'running');
        assert.equal(row.persisted, true);
        const status = await second.call('status', { job_id: job.job_id });
        assert.equal(status.status, 'running');
        assert.equal(status.pid, job.pid);
        const seen = await second.call('output', { job_id: job.job_id, offset: 0 });
        assert.equal(seen.offset, 0);
        assert.equal(seen.output, 'server up on 5173\n');
        const answer = await second.call('interact', { job_id: job.job_id, input: 'hello' });
        assert.match(answer.output, /got hello/);
        const full = await second.call('output', { job_id: job.job_id, offset: 0 });
        assert.equal(full.output, 'server up on 5173\ngot hello\n');
        // Input closed: the job says bye and exits 7; wait sees the pattern and the exit.
        await second.call('interact', { job_id: job.job_id, input: '', newline: false, eof: true });
        const byes = await second.call('wait', { job_id: job.job_id, until: '^bye$', timeout_seconds: 10 });
        assert.equal(byes.reason === 'matched' || byes.reason === 'exited', true, JSON.stringify(byes));
        const ended = await second.call('wait', { job_id: job.job_id, timeout_seconds: 10 });
        assert.equal(ended.status, 'failed');
        assert.equal(ended.exit_code, 7);
        await waitFor(() => !processAlive(keeper), { what: 'the keeper to leave once the job is over' });
        assert.deepEqual(await second.close(), { code: 0, signal: null });
        await waitFor(() => !processAlive(keeper), { what: 'the keeper to leave' });
        assertCleanKeeperLogs(state);
      } finally {
        if (first) await first.close();
        if (second) await second.close();
        sweep(leftovers);
      }
    });
  }

  test('a persisted job survives its server\'s process group killed; kill through a new server ends it', async () => {
    const state = path.join(scratchDir('mcpbg-persist-'), 'state');
    const env = { MCP_BG_STATE_DIR: state };
    const leftovers = [];
    let first;
    let second;
    try {
      first = await startServer({ env, newSession: true });
      const job = await first.call('execute', { command: 'trap "echo got TERM; exit 0" TERM; echo ready; while :; do sleep 0.1; done', persist: true });
      const keeper = keeperOf(job.pid);
      leftovers.push(job.pid, keeper);
      await first.waitForOutput(job.job_id, (text) => text.includes('ready'));
      const { pgrp } = procStat(first.pid);
      assert.equal(pgrp, first.pid, 'the server leads its own group');
      assert.notEqual(procStat(keeper).pgrp, pgrp, 'the keeper is not in the server\'s group');
      assert.notEqual(procStat(job.pid).pgrp, pgrp, 'nor is the job');
      process.kill(-pgrp, 'SIGKILL');
      await first.exited;
      await first.close();
      assert.ok(processAlive(job.pid) && processAlive(keeper));

      second = await startServer({ env });
      const killed = await second.call('kill', { job_id: job.job_id });
      assert.equal(killed.job_id, job.job_id);
      const ended = await second.call('wait', { job_id: job.job_id, timeout_seconds: 10 });
      assert.equal(ended.status, 'killed');
      assert.match(ended.output, /got TERM/);
      await waitFor(() => !processAlive(job.pid) && !processAlive(keeper), { what: 'the job and its keeper to end' });
      assertCleanKeeperLogs(state);
    } finally {
      if (first) await first.close();
      if (second) await second.close();
      sweep(leftovers);
    }
  });

  test('two servers at once see each other\'s persisted jobs; one that ended between servers keeps its exit code', async () => {
    const state = path.join(scratchDir('mcpbg-persist-'), 'state');
    const env = { MCP_BG_STATE_DIR: state };
    const leftovers = [];
    let a;
    let b;
    let c;
    try {
      a = await startServer({ env });
      b = await startServer({ env });
      const fromA = await a.call('execute', { command: 'echo a-side; sleep 1000', persist: true });
      const fromB = await b.call('execute', { command: 'echo b-side; sleep 1000', persist: true });
      leftovers.push(fromA.pid, keeperOf(fromA.pid), fromB.pid, keeperOf(fromB.pid));
      const seenByB = await b.waitForOutput(fromA.job_id, (text) => text.includes('a-side'));
      assert.match(seenByB.output, /a-side/);
      const seenByA = await a.waitForOutput(fromB.job_id, (text) => text.includes('b-side'));
      assert.match(seenByA.output, /b-side/);
      const listedByA = await a.call('list');
      assert.ok(listedByA.jobs.some((j) => j.job_id === fromB.job_id && j.status === 'running'));

      // Ends while no server runs: its exit code and end time are still known.
      const short = await a.call('execute', { command: 'read x; echo "read $x"; exit 4', persist: true });
      const shortKeeper = keeperOf(short.pid);
      leftovers.push(short.pid, shortKeeper);
      await a.close();
      await b.close();
      fs.writeFileSync(`/proc/${short.pid}/fd/0`, 'late\n');
      await waitFor(() => !processAlive(shortKeeper), { what: 'the keeper to record the end and leave' });
      c = await startServer({ env });
      const status = await c.call('status', { job_id: short.job_id });
      assert.equal(status.status, 'failed');
      assert.equal(status.exit_code, 4);
      assert.ok(status.ended);
      const out = await c.call('output', { job_id: short.job_id });
      assert.equal(out.output, 'read late\n');
      for (const id of [fromA.job_id, fromB.job_id]) await c.call('kill', { job_id: id, signal: 'KILL' });
    } finally {
      for (const s of [a, b, c]) if (s) await s.close();
      sweep(leftovers);
    }
  });

  test('a persisted REPL on a pty is typed into by a later server', async () => {
    const state = path.join(scratchDir('mcpbg-persist-'), 'state');
    const env = { MCP_BG_STATE_DIR: state };
    const leftovers = [];
    let first;
    let second;
    try {
      first = await startServer({ env });
      const repl = await first.call('execute', { argv: ['python3', '-q'], pty: true, persist: true });
      leftovers.push(repl.pid, keeperOf(repl.pid));
      await first.waitForOutput(repl.job_id, (text) => text.includes('>>> '));
      await first.close();
      second = await startServer({ env });
      const answer = await second.call('interact', { job_id: repl.job_id, input: 'print(6*7)' });
      assert.match(answer.output, /42\r\n>>> /);
      await second.call('kill', { job_id: repl.job_id, signal: 'KILL' });
      const ended = await second.call('wait', { job_id: repl.job_id, timeout_seconds: 10 });
      assert.equal(ended.status, 'killed');
      await waitFor(() => !processAlive(repl.pid), { what: 'the REPL to end' });
      assertCleanKeeperLogs(state);
    } finally {
      if (first) await first.close();
      if (second) await second.close();
      sweep(leftovers);
    }
  });

  test('a keeper killed with SIGKILL leaves its job lost (keeper_gone) and nothing of it running', async () => {
    const state = path.join(scratchDir('mcpbg-persist-'), 'state');
    const env = { MCP_BG_STATE_DIR: state };
    const leftovers = [];
    let server;
    let later;
    try {
      server = await startServer({ env });
      // One job a server follows when its keeper dies, one no server follows.
      const followed = await server.call('execute', { command: 'sleep 1000 & sleep 1000', persist: true });
      const alone = await server.call('execute', { command: 'echo "epoch 1 loss 0.5"; setsid sleep 1000 & sleep 1000', persist: true });
      const followedKeeper = keeperOf(followed.pid);
      const aloneKeeper = keeperOf(alone.pid);
      leftovers.push(followed.pid, followedKeeper, alone.pid, aloneKeeper);
      await server.waitForOutput(alone.job_id, (text) => text.includes('epoch 1'));
      process.kill(followedKeeper, 'SIGKILL');
      const lost = await server.waitForStatus(followed.job_id, 'lost');
      assert.equal(lost.reason, 'keeper_gone');
      await waitFor(() => !processAlive(followed.pid), { what: 'the followed job\'s processes to end' });
      await server.close();

      process.kill(aloneKeeper, 'SIGKILL');
      await waitFor(() => !processAlive(aloneKeeper), { what: 'the keeper to die' });
      later = await startServer({ env });
      const status = await later.call('status', { job_id: alone.job_id });
      assert.equal(status.status, 'lost');
      assert.equal(status.reason, 'keeper_gone');
      // What it printed outlives its keeper: the keeper copied it to disk as it came.
      const printed = await later.call('output', { job_id: alone.job_id });
      assert.equal(printed.output, 'epoch 1 loss 0.5\n');
      await waitFor(() => !processAlive(alone.pid), { what: 'what was left of the job to end' });
      const marked = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/environ`, 'utf8').includes(`MCP_BACKGROUND_JOB_ID=${alone.job_id}`);
        } catch {
          return false;
        }
      }).filter((p) => processAlive(Number(p)));
      assert.deepEqual(marked, [], 'no process of the lost job is left');
    } finally {
      if (server) await server.close();
      if (later) await later.close();
      sweep(leftovers);
    }
  });

  test('persist without a state directory is a clear error; a job without persist still ends with its server', async () => {
    const server = await startServer({ env: { MCP_BG_STATE_DIR: 'none' } });
    try {
      const refused = await server.callError('execute', { command: 'true', persist: true });
      assert.match(refused, /state_dir/);
      const plain = await server.call('execute', { command: 'exec sleep 1000' });
      await server.close();
      await waitFor(() => !processAlive(plain.pid), { what: 'the unpersisted job to end with its server' });
    } finally {
      await server.close();
    }
  });
});
