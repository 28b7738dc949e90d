// Every process of a job is held, however it detaches: a new session (setsid -f), the background
// child of a main process that exited (nohup cmd &), a daemon that forked twice, before or after
// its job's main process ended. kill, shutdown (stdin EOF, SIGTERM) and the watchdog (SIGKILL of
// the server) end every one of them, with a per-job cgroup (max_processes, as root), without
// one, and with the server running as an unprivileged user (with max_processes too, which then
// cannot make a cgroup). Each test waits on every escape before it fails, so its message names
// each process that survived. status tells a job whose main process exited but left processes
// running (processes_left), and max_memory counts and kills them too.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { child, processAlive, readPidFile, startServer, testChild, waitFor } from './lib/harness.mjs';

const PIDS_CGROUP = '/sys/fs/cgroup/pids';
const isRoot = process.getuid() === 0;

/** The ways a job's processes leave it, each writing the escaped process's pid to a file. */
function escapes(dir) {
  const c = testChild();
  return [
    {
      name: 'setsid -f (a new session; the main process still runs)',
      args: { command: `setsid -f sh -c 'echo $$ > ${dir}/setsid.pid; exec sleep 314'; exec sleep 1000` },
      pidFile: path.join(dir, 'setsid.pid'),
      mainExits: false,
    },
    {
      name: 'background child of a main process that exited (nohup cmd &)',
      args: { command: `sleep 311 >/dev/null 2>&1 & echo $! > ${dir}/nohup.pid; exit 0` },
      pidFile: path.join(dir, 'nohup.pid'),
      mainExits: true,
    },
    {
      name: 'daemon that forked twice; the main process exited',
      args: { argv: [c, 'daemon', path.join(dir, 'daemon.pid')] },
      pidFile: path.join(dir, 'daemon.pid'),
      mainExits: true,
    },
    {
      name: 'daemon that forked twice; the main process still runs',
      args: { command: `${c} daemon ${dir}/daemon2.pid; exec sleep 1000` },
      pidFile: path.join(dir, 'daemon2.pid'),
      mainExits: false,
    },
  ];
}

/** Starts every escape in `srv`; returns them with job_id and the escaped pid, each running. */
async function startEscapes(srv) {
  const started = [];
  for (const escape of escapes(srv.tmp)) {
    const job = await srv.call('execute', escape.args);
    const escaped = await readPidFile(escape.pidFile);
    srv.noteProcess(escaped);
    started.push({ ...escape, job, escaped });
  }
  for (const escape of started) {
    assert.ok(processAlive(escape.escaped), `${escape.name}: pid ${escape.escaped} runs`);
    // The escape is written before the main process ends: wait for the end it is about.
    if (escape.mainExits) await srv.waitForEnd(escape.job.job_id);
  }
  return started;
}

/** True once every escaped process is gone; until then throws naming those still alive. */
function allGone(escapes) {
  const alive = escapes.filter((e) => processAlive(e.escaped)).map((e) => `${e.name}: ${e.escaped}`);
  if (alive.length > 0) throw new Error(`still alive: ${alive.join('; ')}`);
  return true;
}

/** The server's cgroup directory (made when a job has a process limit), or null without one. */
function serverCgroup(srv) {
  const dir = path.join(PIDS_CGROUP, `mcp-background-job-${srv.pid}`);
  return fs.existsSync(dir) ? dir : null;
}

const modes = [
  { name: 'without a cgroup', options: {}, available: true },
  {
    name: 'with a per-job pids cgroup (max_processes)',
    options: { args: ['--max-processes', '64'] },
    cgroup: true,
    // Only root can make one here; elsewhere the server falls back to RLIMIT_NPROC.
    available: isRoot && fs.existsSync(PIDS_CGROUP),
  },
  {
    name: 'with the server as an unprivileged user (nobody)',
    options: { runAs: 'nobody' },
    available: isRoot,  // setpriv needs root to change user
  },
  {
    // No cgroup can be made: the process limit falls back to RLIMIT_NPROC (per user, so set
    // high: other tests run as nobody too), and nothing but the subreaper holds the jobs.
    name: 'with the server as an unprivileged user asking for max_processes',
    options: { runAs: 'nobody', args: ['--max-processes', '10000'] },
    available: isRoot,
  },
];

for (const mode of modes) {
  describe(mode.name, { skip: mode.available ? false : 'needs root' }, () => {
    const start = () => startServer({
      ...mode.options,
      env: { MCP_BG_SHUTDOWN_GRACE: '500ms', ...(mode.options.env ?? {}) },
    });

    test('status and list say what a job whose main process exited left running', async () => {
      const srv = await start();
      try {
        for (const escape of (await startEscapes(srv)).filter((e) => e.mainExits)) {
          const status = await srv.waitFor(async () => {
            const s = await srv.call('status', { job_id: escape.job.job_id });
            return s.status !== 'running' && s.processes_left > 0 ? s : null;
          }, { what: `${escape.name}: status with processes_left` });
          assert.equal(status.status, 'completed', escape.name);
          assert.equal(status.processes_left, 1, `${escape.name}: ${JSON.stringify(status)}`);
          assert.ok(status.left_pids.includes(escape.escaped), `${escape.name}: left_pids ${status.left_pids}`);
          assert.ok(status.rss_bytes > 0, `${escape.name}: what it left is measured`);
          const row = (await srv.call('list', {})).jobs.find((j) => j.job_id === escape.job.job_id);
          assert.equal(row.processes_left, 1, `${escape.name}: list says so too`);
        }
      } finally {
        await srv.close();
      }
    });

    test('kill ends every process of each job, and nothing is left a zombie', async () => {
      const srv = await start();
      try {
        const started = await startEscapes(srv);
        assert.equal(Boolean(serverCgroup(srv)), Boolean(mode.cgroup), 'the jobs have cgroups in this mode only');
        const answers = [];
        for (const escape of started) {
          answers.push(await srv.call('kill', { job_id: escape.job.job_id, grace_seconds: 1 }));
        }
        await srv.waitFor(() => allGone(started), { what: 'every escaped process to be gone after kill' });
        started.forEach((escape, i) => {
          assert.equal(answers[i].result, 'signalled', `${escape.name}: ${JSON.stringify(answers[i])}`);
        });
        for (const escape of started) {
          const status = await srv.waitFor(async () => {
            const s = await srv.call('status', { job_id: escape.job.job_id });
            return s.status !== 'running' && s.processes_left === 0 ? s : null;
          }, { what: `${escape.name}: status with nothing left` });
          assert.equal(status.status, escape.mainExits ? 'completed' : 'killed', escape.name);
          assert.equal(status.left_pids, undefined);
        }
        // The server reaped what it adopted.
        await srv.waitFor(() => srv.zombies().length === 0, {
          what: `no zombie children of the server: ${JSON.stringify(srv.zombies())}`,
        });
        const exit = await srv.close();
        assert.deepEqual(exit, { code: 0, signal: null }, srv.context());
      } finally {
        await srv.close();
      }
    });

    for (const how of ['stdin EOF', 'SIGTERM', 'SIGKILL']) {
      test(`${how} of the server ends every process of every job${mode.cgroup ? ' and removes the cgroups' : ''}`, async () => {
        const srv = await start();
        try {
          const started = await startEscapes(srv);
          const cgroup = serverCgroup(srv);
          if (mode.cgroup) assert.ok(cgroup, 'the jobs have cgroups');
          if (how === 'stdin EOF') srv.proc.stdin.end();
          if (how === 'SIGTERM') process.kill(srv.pid, 'SIGTERM');
          if (how === 'SIGKILL') process.kill(srv.pid, 'SIGKILL');
          const exit = await Promise.race([
            srv.exited,
            new Promise((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref()),
          ]);
          assert.deepEqual(exit, how === 'SIGKILL' ? { code: null, signal: 'SIGKILL' } : { code: 0, signal: null },
            srv.context());
          // The watchdog TERMs, then KILLs a second later; shutdown waits for all of it.
          await waitFor(() => allGone(started), {
            timeoutMs: how === 'SIGKILL' ? 3000 : 1000,
            what: `every escaped process to be gone after ${how}`,
          });
          if (cgroup) {
            await waitFor(() => !fs.existsSync(cgroup), { timeoutMs: 4000, what: `${cgroup} to be removed` });
          }
        } finally {
          await srv.close();
        }
      });
    }
  });
}

describe('a process that carries nothing of its job', () => {
  // daemon-bare: a new session, no job id in its environment, none of the job's streams: only
  // the process tree tied it to the job, and it was handed to the server before any walk saw it.
  for (const how of ['stdin EOF', 'SIGKILL']) {
    test(`is still the server's, and ended by ${how === 'SIGKILL' ? 'the watchdog' : 'shutdown'}`, async () => {
      const srv = await startServer({ env: { MCP_BG_SHUTDOWN_GRACE: '500ms' } });
      try {
        const pidFile = path.join(srv.tmp, 'bare.pid');
        const job = await srv.call('execute', { command: `${testChild()} daemon-bare ${pidFile}; exec sleep 1000` });
        const bare = await readPidFile(pidFile);
        srv.noteProcess(bare);
        assert.ok(processAlive(bare));
        // Any walk collects what the server adopted meanwhile (and tells the watchdog).
        await srv.call('status', { job_id: job.job_id });
        if (how === 'SIGKILL') process.kill(srv.pid, 'SIGKILL');
        else srv.proc.stdin.end();
        await srv.exited;
        await waitFor(() => !processAlive(bare), { timeoutMs: 3000, what: `pid ${bare} to be gone after ${how}` });
      } finally {
        await srv.close();
      }
    });
  }
});

describe('max_memory counts every process of the job', () => {
  test('a setsid\'d child holding the memory is killed with its job', async () => {
    const srv = await startServer();
    try {
      const pidFile = path.join(srv.tmp, 'hog.pid');
      // The shape: setsid python3 -c "a=bytearray(500<<20)..." & sleep 30
      const job = await srv.call('execute', {
        command: `setsid ${testChild()} alloc 200 > /dev/null & echo $! > ${pidFile}; exec sleep 1000`,
        limits: { memory_bytes: 100 * 1024 * 1024 },
      });
      const hog = await readPidFile(pidFile);
      srv.noteProcess(hog);
      const status = await srv.waitForStatus(job.job_id, 'failed', { timeoutMs: 10_000 });
      assert.equal(status.reason, 'memory_limit');
      await srv.waitFor(() => !processAlive(hog), { what: `the setsid'd hog ${hog} to be killed` });
      await srv.waitFor(async () => (await srv.call('status', { job_id: job.job_id })).processes_left === 0,
        { what: 'nothing left of the job' });
    } finally {
      await srv.close();
    }
  });

  test('a background child still running after the main process exited is measured and killed', async () => {
    const srv = await startServer();
    try {
      const pidFile = path.join(srv.tmp, 'late.pid');
      const job = await srv.call('execute', {
        command: `${testChild()} alloc 200 > /dev/null 2>&1 & echo $! > ${pidFile}; exit 0`,
        limits: { memory_bytes: 100 * 1024 * 1024 },
      });
      const hog = await readPidFile(pidFile);
      srv.noteProcess(hog);
      await srv.waitFor(() => !processAlive(hog), {
        timeoutMs: 10_000,
        what: `the hog ${hog}, left behind by an exited main process, to be killed`,
      });
      const status = await srv.call('status', { job_id: job.job_id });
      // The status is the main process's (it exited 0); the reason says what the server did.
      assert.equal(status.status, 'completed');
      assert.equal(status.reason, 'memory_limit');
    } finally {
      await srv.close();
    }
  });
});

describe('the job id every process of a job carries', () => {
  test('is the job_id, in the job and in what it starts; env may not set it', async () => {
    const srv = await startServer();
    try {
      const job = await srv.call('execute', {
        command: 'echo "$MCP_BACKGROUND_JOB_ID"; sh -c \'echo "$MCP_BACKGROUND_JOB_ID"\'',
        wait_seconds: 10,
      });
      assert.equal(job.status, 'completed', JSON.stringify(job));
      assert.equal(job.output, `${job.job_id}\n${job.job_id}\n`);
      const error = await srv.callError('execute', {
        command: 'true',
        env: { MCP_BACKGROUND_JOB_ID: 'another-job' },
      });
      assert.match(error, /env sets MCP_BACKGROUND_JOB_ID.*remove it from env/);
    } finally {
      await srv.close();
    }
  });
});
