// History outlives the server: every job is recorded in the state directory's database, and a
// later server (or one running beside it) lists it and answers status, output, tail and wait for
// it. A job whose server was killed with SIGKILL is `lost` (reason server_gone), never `running`
// for ever. The state directory is 0700 and the database 0600; `none` keeps nothing.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { processAlive, scratchDir, startServer, waitFor } from './lib/harness.mjs';

describe('history of jobs', () => {
  test('a later server answers for the jobs of one that ended, and of one killed with SIGKILL', async () => {
    const home = scratchDir('mcpbg-state-');
    // The default place: $XDG_STATE_HOME/mcp-background-job.
    const env = { XDG_STATE_HOME: home };
    const stateDir = path.join(home, 'mcp-background-job');
    let first;
    let second;
    let third;
    try {
      first = await startServer({ env });
      const done = await first.call('execute', {
        command: 'for i in $(seq 1 3000); do echo "line $i"; done; echo "FAIL: expected 2, got 3"; exit 3',
        label: 'tests',
        wait_seconds: 10,
      });
      assert.equal(done.status, 'failed');
      const sleeper = await first.call('execute', { command: 'exec sleep 1000' });
      assert.ok(processAlive(sleeper.pid));
      // The second server is killed with SIGKILL; its running job is ended by its watchdog, its
      // end unknown. A third server runs beside it meanwhile and sees that job running there
      // (rows are written by a thread of their own, so it waits for the row rather than racing).
      second = await startServer({ env });
      const orphan = await second.call('execute', { command: 'exec sleep 999' });
      third = await startServer({ env });
      const seen = await waitFor(async () => {
        const page = await third.call('list');
        return page.jobs.find((job) => job.job_id === orphan.job_id);
      }, { what: 'the third server to list the second server\'s job' });
      assert.equal(seen.status, 'running');
      assert.equal(seen.from_history, true);
      const busy = await third.callError('kill', { job_id: orphan.job_id });
      assert.match(busy, /under another server \(pid \d+/);
      process.kill(second.pid, 'SIGKILL');
      await second.exited;
      await waitFor(() => !processAlive(orphan.pid), { timeoutMs: 5000, what: 'the watchdog to end the job' });
      // Ended by its client: the finished job's end and output are written before it exits.
      const firstExit = await first.close();
      assert.deepEqual(firstExit, { code: 0, signal: null });
      assert.ok(!processAlive(sleeper.pid), 'jobs still end with their server');

      assert.equal(fs.statSync(stateDir).mode & 0o777, 0o700);
      assert.equal(fs.statSync(path.join(stateDir, 'history.sqlite3')).mode & 0o777, 0o600);

      const listed = await third.call('list');
      const byId = new Map(listed.jobs.map((job) => [job.job_id, job]));
      for (const id of [done.job_id, sleeper.job_id, orphan.job_id]) {
        assert.ok(byId.has(id), `list shows ${id}: ${JSON.stringify(listed)}`);
        assert.equal(byId.get(id).from_history, true);
      }
      assert.equal(byId.get(done.job_id).status, 'failed');
      assert.equal(byId.get(done.job_id).label, 'tests');
      assert.equal(byId.get(sleeper.job_id).status, 'killed');
      assert.equal(byId.get(orphan.job_id).status, 'lost');
      assert.equal(byId.get(orphan.job_id).reason, 'server_gone');

      const status = await third.call('status', { job_id: done.job_id });
      assert.equal(status.exit_code, 3);
      assert.equal(status.from_history, true);
      const tail = await third.call('tail', { job_id: done.job_id, lines: 2 });
      assert.equal(tail.output, 'line 3000\nFAIL: expected 2, got 3\n');
      const head = await third.call('output', { job_id: done.job_id, max_bytes: 14 });
      assert.equal(head.output, 'line 1\nline 2\n');
      assert.equal(head.offset, 0);
      const grep = await third.call('output', { job_id: done.job_id, grep: '^FAIL' });
      assert.equal(grep.matches.length, 1);
      assert.equal(grep.matches[0].line, 'FAIL: expected 2, got 3');
      // wait on an ended job answers at once with how it ended.
      const waited = await third.call('wait', { job_id: done.job_id, timeout_seconds: 5 });
      assert.equal(waited.status, 'failed');
      const lost = await third.call('status', { job_id: orphan.job_id });
      assert.equal(lost.status, 'lost');
      assert.equal(lost.reason, 'server_gone');
      assert.ok(lost.ended, 'a lost job has an end time: when it was found lost');
      const interact = await third.callError('interact', { job_id: done.job_id, input: 'x\n' });
      assert.match(interact, /has exited \(failed with exit code 3\) and reads no more input/);
    } finally {
      for (const srv of [first, second, third]) if (srv) await srv.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  test('state_dir none keeps nothing, and an unusable state_dir the operator named stops the start', async () => {
    const home = scratchDir('mcpbg-state-');
    let srv;
    let later;
    try {
      srv = await startServer({ env: { XDG_STATE_HOME: home, MCP_BG_STATE_DIR: 'none' } });
      const job = await srv.call('execute', { command: 'echo hi', wait_seconds: 5 });
      await srv.close();
      assert.deepEqual(fs.readdirSync(home), []);
      later = await startServer({ env: { XDG_STATE_HOME: home } });
      const unknown = await later.callError('status', { job_id: job.job_id });
      assert.match(unknown, /no such job/);

      const open = path.join(home, 'open');
      fs.mkdirSync(open, { mode: 0o755 });
      fs.chmodSync(open, 0o755);
      await assert.rejects(startServer({ env: { MCP_BG_STATE_DIR: open } }), /state_dir/);
    } finally {
      for (const s of [srv, later]) if (s) await s.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
