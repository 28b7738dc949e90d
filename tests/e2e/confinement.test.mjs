// Confinement end to end: Landlock (writes outside the roots, TCP), the process limit (a bounded
// fork bomb), the memory watch, file size and CPU limits, and per-job overrides that may only
// tighten. A test is skipped only when this kernel lacks the feature, and says why.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';

import { child, procStat, runBinary, scratchDir, withServer } from './lib/harness.mjs';

// Whether the server can start with `args` here; {ok} or {why} (its start-up error) for a skip.
async function canStart(args) {
  const run = await runBinary(args);
  return run.code === 0 ? { ok: true } : { ok: false, why: run.stderr.trim(), code: run.code };
}

// Skips `t` when the kernel lacks what `args` need (the server refuses to start with exit 2 and
// a message that names the missing kernel feature); any other start-up failure fails the test.
async function skipUnlessSupported(t, args, kernelLacks) {
  const probe = await canStart(args);
  if (probe.ok) return false;
  assert.equal(probe.code, 2, `start-up with ${args.join(' ')} failed unexpectedly: ${probe.why}`);
  assert.match(probe.why, kernelLacks, `start-up with ${args.join(' ')} failed: ${probe.why}`);
  t.skip(`this kernel cannot: ${probe.why}`);
  console.log(`# skipped: ${probe.why}`);
  return true;
}

const NO_LANDLOCK = /needs Landlock, which is not available|needs Landlock ABI 4/;
const NO_PIDS_CGROUP = /no pids cgroup controller is mounted|pids controller is not available/;

// Every live process in the process group `pgid`.
function processesOfGroup(pgid) {
  const found = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(name);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') found.push(stat.pid);
  }
  return found;
}

function jobCgroupDir(serverPid, jobId) {
  return `/sys/fs/cgroup/pids/mcp-background-job-${serverPid}/${jobId}`;
}

// ---------------------------------------------------------------------------------------------
// Landlock

test('under sandbox=landlock a job writes inside its roots and the temp dir, not elsewhere', async (t) => {
  if (await skipUnlessSupported(t, ['--sandbox', 'landlock'], NO_LANDLOCK)) return;
  const tmpdir = scratchDir('mcpbg-e2e-tmpdir-');
  const outside = scratchDir('mcpbg-e2e-outside-');
  fs.writeFileSync(path.join(outside, 'readme'), 'readable\n');
  try {
    await withServer({ args: ['--sandbox', 'landlock'], env: { TMPDIR: tmpdir } }, async (srv) => {
      const denied = await srv.run({ command: `echo nope > ${outside}/x` });
      assert.equal(denied.status, 'failed');
      const deniedOut = await srv.call('output', { job_id: denied.job_id });
      assert.match(deniedOut.output, /Permission denied/);
      assert.ok(!fs.existsSync(path.join(outside, 'x')), 'nothing was written outside the roots');

      const allowed = await srv.run({
        command: `echo in > inside.txt && mkdir sub && echo t > "$TMPDIR/t" && cat ${outside}/readme`,
      });
      const allowedOut = await srv.call('output', { job_id: allowed.job_id });
      assert.equal(allowed.status, 'completed', allowedOut.output);
      assert.equal(allowedOut.output, 'readable\n', 'reads outside the roots still work');
      assert.equal(fs.readFileSync(path.join(srv.tmp, 'inside.txt'), 'utf8'), 'in\n');
      assert.equal(fs.readFileSync(path.join(tmpdir, 't'), 'utf8'), 't\n');

      // A job cannot leave the server's sandbox.
      const refused = await srv.callError('execute', { command: 'true', sandbox: false });
      assert.match(refused, /sandbox: false .*a job may only tighten/);
    })(t);
  } finally {
    fs.rmSync(tmpdir, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('sandbox: true confines one job of an unconfined server', async (t) => {
  if (await skipUnlessSupported(t, ['--sandbox', 'landlock'], NO_LANDLOCK)) return;
  // The outside directory is in /tmp, so the server's temp dir is put elsewhere for a write there
  // to count as outside.
  const tmpdir = scratchDir('mcpbg-e2e-tmpdir-');
  const outside = scratchDir('mcpbg-e2e-outside-');
  try {
    await withServer({ env: { TMPDIR: tmpdir } }, async (srv) => {
      const confined = await srv.run({ command: `echo x > ${outside}/confined`, sandbox: true });
      assert.equal(confined.status, 'failed');
      const free = await srv.run({ command: `echo x > ${outside}/free` });
      assert.equal(free.status, 'completed');
      assert.ok(!fs.existsSync(path.join(outside, 'confined')));
      assert.ok(fs.existsSync(path.join(outside, 'free')));
    })(t);
  } finally {
    fs.rmSync(tmpdir, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('what Landlock cannot see: chmod, chown and utimensat outside the roots still work; extended attributes and device nodes are refused', async (t) => {
  if (await skipUnlessSupported(t, ['--sandbox', 'landlock'], NO_LANDLOCK)) return;
  const tmpdir = scratchDir('mcpbg-e2e-tmpdir-');
  const outside = scratchDir('mcpbg-e2e-outside-');
  const victim = path.join(outside, 'victim');
  fs.writeFileSync(victim, 'x\n', { mode: 0o644 });
  try {
    await withServer({ env: { TMPDIR: tmpdir } }, async (srv) => {
      const inside = path.join(srv.tmp, 'own');
      fs.writeFileSync(inside, 'y\n');
      /** The one line test_child metadata prints, run confined (or not). */
      const metadata = async (op, file, sandbox) => {
        const job = await srv.run({ argv: child('metadata', op, file), ...(sandbox ? { sandbox: true } : {}) });
        return (await srv.call('output', { job_id: job.job_id })).output;
      };

      // Landlock (ABI 7 here) has no right for these, and seccomp cannot tell paths apart: a
      // confined job changes a file's mode, owner and times outside its roots. The README says so.
      assert.equal(await metadata('chmod', victim, true), 'chmod: ok\n');
      assert.equal(fs.statSync(victim).mode & 0o777, 0o600, 'the mode outside the roots changed');
      assert.equal(await metadata('chown', victim, true), 'chown: ok\n');
      assert.equal(await metadata('utimes', victim, true), 'utimes: ok\n');
      // Nor a file's flags (chattr: an ioctl on a file opened for reading), where the filesystem
      // has them; as root that includes immutable, set and cleared again here.
      const flags = process.getuid() === 0 ? 'chattr +d "$1" && chattr +i "$1" && chattr -i "$1"' : 'chattr +d "$1"';
      const chattr = await srv.run({ argv: ['sh', '-c', `${flags} && echo chattr: ok`, 'sh', victim], sandbox: true });
      const chattrSaid = (await srv.call('output', { job_id: chattr.job_id })).output;
      if (chattrSaid.endsWith('chattr: ok\n')) {
        assert.match(execFileSync('lsattr', ['-d', victim], { encoding: 'utf8' }), /^\S*d\S* /, 'the flag outside the roots is set');
      } else {
        t.diagnostic(`this filesystem takes no file flags (${chattrSaid.trim()}): not shown here`);
      }
      assert.equal(fs.readFileSync(victim, 'utf8'), 'x\n', 'its contents are still out of reach');

      // Extended attributes: refused to a confined job everywhere, as a filesystem without them
      // would (unconfined, the same call works on this filesystem).
      const free = await metadata('setxattr', victim, false);
      if (free === 'setxattr: ok\n') {
        for (const file of [victim, inside]) {
          assert.equal(await metadata('setxattr', file, true), 'setxattr: Operation not supported\n', file);
          assert.equal(await metadata('removexattr', file, true), 'removexattr: Operation not supported\n', file);
          // io_uring would do it past the filter (IORING_OP_SETXATTR): no io_uring for a confined
          // job, the answer of a kernel without it (unconfined, the same ring sets the attribute).
          assert.equal(await metadata('uring-setxattr', file, false), 'uring-setxattr: ok\n', file);
          assert.equal(await metadata('uring-setxattr', file, true), 'uring-setxattr: Function not implemented\n', file);
        }
      } else {
        t.diagnostic(`this filesystem takes no user xattrs (${free.trim()}): the refusal is not told apart`);
      }

      // Device nodes: made nowhere by a confined job, not even inside its roots; FIFOs still are.
      const nodes = await srv.run({
        command: 'mknod null-again c 1 3; echo "mknod: $?"; mkfifo pipe && echo "mkfifo: ok"',
        sandbox: true,
      });
      const said = (await srv.call('output', { job_id: nodes.job_id })).output;
      assert.match(said, /mknod: null-again: Permission denied/);
      assert.match(said, /mkfifo: ok/);
      assert.ok(!fs.existsSync(path.join(srv.tmp, 'null-again')));
      if (process.getuid() === 0) {
        // As root, unconfined, the same mknod works: the sandbox is what refused it.
        const unconfined = await srv.run({ argv: ['mknod', 'null-free', 'c', '1', '3'] });
        assert.equal(unconfined.status, 'completed');
      }
    })(t);
  } finally {
    fs.rmSync(tmpdir, { recursive: true, force: true });
    // A test that failed between chattr +i and -i must not leave a file nothing can remove.
    try { execFileSync('chattr', ['-i', victim], { stdio: 'ignore' }); } catch { /* no flags here */ }
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('ordinary work inside the roots is not broken by the sandbox: cp -p, cp -a, tar x, chmod +x, git checkout, npm install', async (t) => {
  if (await skipUnlessSupported(t, ['--sandbox', 'landlock'], NO_LANDLOCK)) return;
  const tmpdir = scratchDir('mcpbg-e2e-tmpdir-');
  try {
    await withServer({ args: ['--sandbox', 'landlock'], env: { TMPDIR: tmpdir } }, async (srv) => {
      const script = [
        'set -e',
        'mkdir src && echo data > src/a && chmod 750 src/a && touch -d 2001-01-01 src/a',
        'cp -p src/a cp-p && stat -c "cp -p %a %Y" cp-p',
        'cp -a src cp-a && stat -c "cp -a %a %Y" cp-a/a',
        'tar cf t.tar src && mkdir tx && tar xf t.tar -C tx && stat -c "tar x %a %Y" tx/src/a',
        // As root, tar restores the archived owner (chown): uid 1000 here.
        'if [ "$(id -u)" = 0 ]; then chown 1000:1000 src/a; tar cf t2.tar src; mkdir t2; tar xf t2.tar -C t2; stat -c "tar x as root %u" t2/src/a; fi',
        'printf "#!/bin/sh\\necho script ran\\n" > s.sh && chmod +x s.sh && ./s.sh',
        'git init -q repo && cd repo && git config user.email e@x.example && git config user.name e',
        'printf "#!/bin/sh\\n" > x && chmod +x x && echo 1 > f && git add . && git commit -qm one',
        'git checkout -qb other && echo 2 > f && git commit -qam two && git checkout -q - && stat -c "git checkout %a $(cat f)" x && cd ..',
        'mkdir -p pkg/bin && printf "{\\"name\\":\\"pkg\\",\\"version\\":\\"1.0.0\\",\\"bin\\":{\\"pkg\\":\\"bin/pkg.js\\"}}" > pkg/package.json',
        'printf "#!/usr/bin/env node\\nconsole.log(\\"npm bin ran\\")\\n" > pkg/bin/pkg.js',
        'mkdir app && cd app && echo "{\\"name\\":\\"app\\",\\"version\\":\\"1.0.0\\"}" > package.json',
        'npm install --offline --no-audit --no-fund ../pkg > /dev/null 2>&1 && ./node_modules/.bin/pkg',
      ].join('\n');
      fs.writeFileSync(path.join(srv.tmp, 'work.sh'), `${script}\n`);
      const job = await srv.run({ argv: ['sh', 'work.sh'], env: { HOME: srv.tmp } }, { timeoutMs: 60_000 });
      const { output } = await srv.call('output', { job_id: job.job_id });
      assert.equal(job.status, 'completed', output);
      const mtime = String(Date.UTC(2001, 0, 1) / 1000);
      assert.match(output, new RegExp(`^cp -p 750 ${mtime}$`, 'm'));
      assert.match(output, new RegExp(`^cp -a 750 ${mtime}$`, 'm'));
      assert.match(output, new RegExp(`^tar x 750 ${mtime}$`, 'm'));
      if (process.getuid() === 0) assert.match(output, /^tar x as root 1000$/m);
      assert.match(output, /^script ran$/m);
      assert.match(output, /^git checkout 755 1$/m);
      assert.match(output, /^npm bin ran$/m);
    })(t);
  } finally {
    fs.rmSync(tmpdir, { recursive: true, force: true });
  }
});

test('network: false denies a TCP connect that the same job makes without it', async (t) => {
  if (await skipUnlessSupported(t, ['--network', 'false'], NO_LANDLOCK)) return;
  const listener = net.createServer((socket) => socket.end());
  await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address();
  const connect = ['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected`];
  try {
    await withServer(async (srv) => {
      const offline = await srv.run({ argv: connect, network: false });
      const offlineOut = await srv.call('output', { job_id: offline.job_id });
      assert.equal(offline.status, 'failed', offlineOut.output);
      assert.match(offlineOut.output, /Permission denied/);

      const online = await srv.run({ argv: connect });
      const onlineOut = await srv.call('output', { job_id: online.job_id });
      assert.equal(online.status, 'completed', onlineOut.output);
      assert.equal(onlineOut.output, 'connected\n');
    })(t);
    await withServer({ args: ['--network', 'false'] }, async (srv) => {
      const offline = await srv.run({ argv: connect });
      assert.equal(offline.status, 'failed');
      const refused = await srv.callError('execute', { argv: connect, network: true });
      assert.match(refused, /network: true .*network = false.*only tighten/);
    })(t);
  } finally {
    listener.close();
  }
});

// ---------------------------------------------------------------------------------------------
// Processes

test('a bounded fork bomb under max_processes=20 stays within 20, the server answers, and kill leaves nothing', async (t) => {
  if (await skipUnlessSupported(t, ['--max-processes', '20'], NO_PIDS_CGROUP)) return;
  await withServer({ args: ['--max-processes', '20'] }, async (srv) => {
    // Bounded: 1000 sleepers at most, never an unbounded bomb on a shared machine.
    const job = await srv.call('execute', {
      command: 'for i in $(seq 1000); do sleep 60 & done; wait',
    });
    const cgroup = jobCgroupDir(srv.pid, job.job_id);
    assert.ok(fs.existsSync(path.join(cgroup, 'pids.max')), `the job's cgroup ${cgroup} exists`);
    assert.equal(fs.readFileSync(path.join(cgroup, 'pids.max'), 'utf8').trim(), '20');
    // Forks fail once the cgroup is full; the shell says so.
    await srv.waitForOutput(job.job_id, (text) => /fork/i.test(text), { timeoutMs: 15_000 });
    const members = processesOfGroup(job.pid);
    members.forEach((pid) => srv.noteProcess(pid));
    assert.ok(members.length <= 20, `${members.length} processes in the job's group`);
    const current = Number(fs.readFileSync(path.join(cgroup, 'pids.current'), 'utf8'));
    assert.ok(current <= 20, `pids.current is ${current}`);
    if (fs.existsSync(path.join(cgroup, 'pids.peak'))) {
      const peak = Number(fs.readFileSync(path.join(cgroup, 'pids.peak'), 'utf8'));
      assert.ok(peak <= 20, `pids.peak is ${peak}`);
    }

    // The server keeps answering while the job is at its limit.
    const t0 = Date.now();
    await srv.call('list', {});
    assert.ok(Date.now() - t0 < 2000, `list took ${Date.now() - t0} ms`);

    await srv.call('kill', { job_id: job.job_id, signal: 'KILL' });
    await srv.waitFor(() => processesOfGroup(job.pid).length === 0, {
      timeoutMs: 10_000,
      what: `every process of job ${job.pid}'s group to be gone`,
    });
    await srv.waitFor(() => !fs.existsSync(cgroup), { timeoutMs: 10_000, what: `${cgroup} to be removed` });
  })(t);
});

test('kill reaches a process that left the job with setsid, through the cgroup', async (t) => {
  if (await skipUnlessSupported(t, ['--max-processes', '20'], NO_PIDS_CGROUP)) return;
  await withServer({ args: ['--max-processes', '20'] }, async (srv) => {
    const job = await srv.call('execute', {
      command: 'setsid sleep 60 > /dev/null 2>&1 < /dev/null & echo $!; wait',
    });
    const out = await srv.waitForOutput(job.job_id, (text) => /^\d+\n$/.test(text));
    const escaped = Number(out.output.trim());
    srv.noteProcess(escaped);
    await srv.waitFor(() => procStat(escaped)?.pgrp === escaped, { what: `${escaped} to lead its own session` });
    await srv.call('kill', { job_id: job.job_id });
    await srv.waitForStatus(job.job_id, 'killed');
    await srv.waitFor(() => {
      const stat = procStat(escaped);
      return stat === null || stat.state === 'Z';
    }, { what: `the setsid'd sleeper ${escaped} to be gone` });
  })(t);
});

// ---------------------------------------------------------------------------------------------
// Memory, file size, CPU

test('a memory hog under max_memory ends failed with reason memory_limit', withServer(
  { args: ['--max-memory', '100M'] },
  async (srv) => {
    const job = await srv.call('execute', { argv: child('alloc', 600) });
    const waited = await srv.call('wait', { job_id: job.job_id, timeout_seconds: 30 }, { timeoutMs: 40_000 });
    assert.equal(waited.reason, 'exited');
    assert.equal(waited.status, 'failed');
    assert.equal(waited.end_reason, 'memory_limit');
    const status = await srv.call('status', { job_id: job.job_id });
    assert.equal(status.status, 'failed');
    assert.equal(status.reason, 'memory_limit');
    assert.equal(status.signal, 'SIGKILL');
    const { jobs } = await srv.call('list', {});
    assert.equal(jobs.find((row) => row.job_id === job.job_id).reason, 'memory_limit');

    // A job within the limit has no reason.
    const small = await srv.run({ argv: child('exit', 0) });
    assert.equal(small.status, 'completed');
    assert.equal(small.reason, null);
  },
));

test('max_file_size stops a big write; a job may ask for a smaller one', withServer(
  { args: ['--max-file-size', '64K'] },
  async (srv) => {
    const big = await srv.run({ command: 'head -c 1000000 /dev/zero > big; echo "exit $?"' });
    const out = await srv.call('output', { job_id: big.job_id });
    assert.equal(out.output.trim().split('\n').pop(), 'exit 153', 'head dies of SIGXFSZ (128 + 25)');
    assert.equal(fs.statSync(path.join(srv.tmp, 'big')).size, 64 * 1024);

    const smaller = await srv.run({
      command: 'head -c 1000000 /dev/zero > small',
      limits: { file_size_bytes: 1000 },
    });
    assert.equal(smaller.status, 'failed');
    assert.equal(fs.statSync(path.join(srv.tmp, 'small')).size, 1000);
  },
));

test('limits.cpu_seconds ends a busy loop with SIGXCPU', withServer(async (srv) => {
  const job = await srv.call('execute', { command: 'while :; do :; done', limits: { cpu_seconds: 1 } });
  const status = await srv.waitForEnd(job.job_id, { timeoutMs: 20_000 });
  assert.equal(status.status, 'failed');
  assert.equal(status.signal, 'SIGXCPU');
}));

test('a per-job override may tighten but never loosen the server limits', withServer(
  { args: ['--max-memory', '100M', '--max-open-files', '100'] },
  async (srv) => {
    const looser = await srv.callError('execute', { command: 'true', limits: { memory_bytes: 200 * 1024 * 1024 } });
    assert.match(looser, /limits\.memory_bytes = 209715200 is above the server's max_memory \(104857600 bytes\)/);
    const moreFiles = await srv.callError('execute', { command: 'true', limits: { open_files: 101 } });
    assert.match(moreFiles, /limits\.open_files = 101 is above the server's max_open_files \(100\)/);

    const tighter = await srv.run({ argv: ['cat', '/proc/self/limits'], limits: { open_files: 50 } });
    const out = await srv.call('output', { job_id: tighter.job_id });
    assert.match(out.output, /Max open files\s+50\s+50\s/);
    const server = await srv.run({ argv: ['cat', '/proc/self/limits'] });
    assert.match((await srv.call('output', { job_id: server.job_id })).output, /Max open files\s+100\s+100\s/);

    const unknown = await srv.callError('execute', { command: 'true', limits: { threads: 3 } });
    assert.match(unknown, /threads/);
  },
));
