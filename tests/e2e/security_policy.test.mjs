// What may run, where, and with which environment, tried the way an attacker-agent would try it.
// Each case asserts what the layer promises, including what it does NOT stop:
//   - denied_commands / allowed_commands over a shell line are a convenience: the shell reads the
//     line differently from a pattern, and the bypasses below really delete the victim file;
//   - shell = false + allowed_programs is the boundary for which program starts: no shell, argv[0]
//     resolved to a real path, and exactly that path executed;
//   - allowed_roots confines where a job starts (real path), not where it may go afterwards;
//   - env_policy / env_exclude decide what a job inherits from the server.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { runBinary, scratchDir, startServer, testChild, waitFor, withServer } from './lib/harness.mjs';

/** A file to be deleted, in `dir`; returns its path. */
function victim(dir, name) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, 'precious\n');
  return file;
}

/** Runs a job to its end and returns its status and whole output. */
async function runToEnd(srv, args) {
  const status = await srv.run(args);
  const { output } = await srv.call('output', { job_id: status.job_id, max_bytes: 65536 });
  return { ...status, output };
}

/** An execute the policy must refuse: the error names `rule`, and no job is registered. */
async function refused(srv, args, rule) {
  const before = (await srv.call('list', {})).jobs.length;
  const text = await srv.callError('execute', args);
  assert.match(text, /^cannot start the job: refused by the operator's policy: /, text);
  assert.ok(text.includes(rule), `the refusal names ${rule}: ${text}`);
  assert.equal((await srv.call('list', {})).jobs.length, before, 'a refused job is not registered');
  return text;
}

/** Path of a real program, through every symlink (/bin -> /usr/bin on merged-usr systems). */
function realProgram(name) {
  for (const dir of ['/usr/bin', '/bin']) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return fs.realpathSync(candidate);
  }
  throw new Error(`${name} is not installed`);
}

// ---------------------------------------------------------------------------------------------
describe('denied_commands over shell lines: a convenience, not a boundary', () => {
  const DENY_RM = ['--denied-commands', String.raw`\brm\b`];

  test('the plain spelling is refused, with the pattern named', withServer({ args: DENY_RM }, async (srv) => {
    const file = victim(srv.tmp, 'plain');
    const text = await refused(srv, { command: `rm ${file}` }, String.raw`denied_commands pattern '\brm\b'`);
    assert.match(text, /ask the user/);
    assert.match(text, /\(the policy tool shows every rule\)$/);
    // The literal spellings through env and an absolute path still contain the word "rm".
    await refused(srv, { command: `env rm ${file}` }, 'denied_commands');
    await refused(srv, { command: `/bin/rm ${file}` }, 'denied_commands');
    await refused(srv, { argv: ['rm', file] }, 'denied_commands');
    assert.ok(fs.existsSync(file));
  }));

  // What the shell reads as "rm" without the letters r, m in a row: every one of these runs, and
  // the victim is gone. That is why the README calls pattern lists a convenience.
  const bypasses = {
    'empty quotes': (f) => `r''m ${f}`,
    'command substitution': (f) => `$(printf r)m ${f}`,
    backticks: (f) => `\`echo r\`m ${f}`,
    'sh -c with an escaped letter': (f) => `sh -c 'r\\m ${f}'`,
    'env with quotes': (f) => `env r""m ${f}`,
    'absolute path by glob': (f) => `/bin/r[m] ${f}`,
    'a variable': (f) => `x=r; \${x}m ${f}`,
    'another program': (f) => `unlink ${f}`,
  };
  for (const [name, line] of Object.entries(bypasses)) {
    test(`bypass: ${name} is NOT stopped`, withServer({ args: DENY_RM }, async (srv) => {
      const file = victim(srv.tmp, 'victim');
      const job = await runToEnd(srv, { command: line(file) });
      assert.equal(job.status, 'completed', `${line(file)}: ${job.output}`);
      assert.equal(fs.existsSync(file), false, `${line(file)} deleted the file despite \\brm\\b`);
    }));
  }

  test('a pattern anchored at the start misses env rm and /bin/rm', withServer(
    { args: ['--denied-commands', String.raw`^rm\b`] },
    async (srv) => {
      await refused(srv, { command: `rm ${victim(srv.tmp, 'a')}` }, 'denied_commands');
      for (const line of [(f) => `env rm ${f}`, (f) => `/bin/rm ${f}`, (f) => `true; rm ${f}`]) {
        const file = victim(srv.tmp, 'b');
        const job = await runToEnd(srv, { command: line(file) });
        assert.equal(job.status, 'completed', job.output);
        assert.equal(fs.existsSync(file), false, `${line(file)} got past ^rm\\b`);
      }
    },
  ));
});

// ---------------------------------------------------------------------------------------------
describe('allowed_commands: one pattern must match the whole line', () => {
  const ARGS = ['--allowed-commands', String.raw`echo [a-z]+`];

  test('an allowed line runs; anything chained after it is refused', withServer({ args: ARGS }, async (srv) => {
    const ok = await runToEnd(srv, { command: 'echo hello' });
    assert.equal(ok.output, 'hello\n');
    const argv = await runToEnd(srv, { argv: ['echo', 'hello'] });
    assert.equal(argv.output, 'hello\n', 'argv jobs are matched on their quoted line');

    const file = victim(srv.tmp, 'victim');
    for (const line of [`echo hello; rm ${file}`, `echo hello && rm ${file}`, `echo hello\nrm ${file}`,
                        `echo $(rm ${file})`, `echo hello | sh`]) {
      const text = await refused(srv, { command: line }, 'allowed_commands');
      assert.match(text, /whole line/);
      assert.match(text, /'echo \[a-z\]\+'/, 'the refusal lists the allowed patterns');
    }
    await refused(srv, { argv: ['echo', 'hello', 'x'] }, 'allowed_commands');
    // exec would cut the line at a NUL, so what runs would differ from what was checked.
    const nul = await srv.callError('execute', { command: `echo hello\u0000; rm ${file}` });
    assert.match(nul, /'command' contains a NUL byte/);
    assert.ok(fs.existsSync(file));
  }));
});

// ---------------------------------------------------------------------------------------------
describe('shell = false with allowed_programs: the boundary for what starts', () => {
  const ARGS = ['--shell', 'false', '--allowed-programs', 'echo,cat'];

  test('an allowed program runs', withServer({ args: ARGS }, async (srv) => {
    const job = await runToEnd(srv, { argv: ['echo', 'allowed'] });
    assert.equal(job.status, 'completed');
    assert.equal(job.output, 'allowed\n');
  }));

  test('command jobs are refused, and the refusal says to pass argv', withServer({ args: ARGS }, async (srv) => {
    const file = victim(srv.tmp, 'victim');
    for (const command of ['echo hi', `r''m ${file}`, `sh -c 'rm ${file}'`]) {
      const text = await refused(srv, { command }, 'shell = false');
      assert.match(text, /Pass argv: \["program", "arg", \.\.\.\]/);
    }
    assert.ok(fs.existsSync(file));
  }));

  test('other programs are refused however they are named', withServer({ args: ARGS }, async (srv) => {
    const file = victim(srv.tmp, 'victim');
    const attempts = [
      ['rm', file],
      ['env', 'rm', file],
      ['/bin/rm', file],
      [realProgram('rm'), file],
      ['sh', '-c', `rm ${file}`],
      ['/bin/sh', '-c', `rm ${file}`],
      ['xargs', 'rm'],
      ['find', srv.tmp, '-delete'],
    ];
    for (const argv of attempts) {
      const text = await refused(srv, { argv }, 'allowed_programs');
      assert.match(text, /is not one of allowed_programs \(echo \(.*\), cat \(.*\)\)/, text);
    }
    assert.ok(fs.existsSync(file));
  }));

  test('a PATH of the job\'s own cannot smuggle another program in under an allowed name', withServer(
    { args: ARGS },
    async (srv) => {
      const bin = path.join(srv.tmp, 'bin');
      fs.mkdirSync(bin);
      const file = victim(srv.tmp, 'victim');

      // "echo" as a link to rm: its real path is rm's, so it is refused.
      fs.symlinkSync(realProgram('rm'), path.join(bin, 'echo'));
      await refused(srv, { argv: ['echo', file], env: { PATH: bin } }, 'allowed_programs');
      // "echo" as a copy of rm: its real path is the copy, not echo, so it is refused.
      fs.rmSync(path.join(bin, 'echo'));
      fs.copyFileSync(realProgram('rm'), path.join(bin, 'echo'));
      fs.chmodSync(path.join(bin, 'echo'), 0o755);
      const copy = await refused(srv, { argv: ['echo', file], env: { PATH: bin } }, 'allowed_programs');
      assert.ok(copy.includes(path.join(bin, 'echo')), `the refusal shows what the name led to: ${copy}`);
      assert.ok(fs.existsSync(file));

      // "echo" as a link to echo: allowed, and what runs is the checked program (the real echo).
      fs.rmSync(path.join(bin, 'echo'));
      fs.symlinkSync(realProgram('echo'), path.join(bin, 'echo'));
      const linked = await runToEnd(srv, { argv: ['echo', 'through a link'], env: { PATH: bin } });
      assert.equal(linked.status, 'completed');
      assert.equal(linked.output, 'through a link\n');
    },
  ));

  test('allowing a program that runs programs (env) opens everything', withServer(
    { args: ['--shell', 'false', '--allowed-programs', 'echo,env'] },
    async (srv) => {
      const file = victim(srv.tmp, 'victim');
      const job = await runToEnd(srv, { argv: ['env', 'rm', file] });
      assert.equal(job.status, 'completed', job.output);
      assert.equal(fs.existsSync(file), false, 'env is allowed, so env rm runs rm');
    },
  ));

  test('command jobs run only when sh itself is allowed', async (t) => {
    await withServer({ args: ['--allowed-programs', 'echo'] }, async (srv) => {
      const text = await refused(srv, { command: 'echo hi' }, 'allowed_programs');
      assert.match(text, /a 'command' job runs \/bin\/sh .* Pass argv/);
    })(t);
    await withServer({ args: ['--allowed-programs', 'echo,sh'] }, async (srv) => {
      // And then the shell runs anything: sh is a program that runs programs.
      const file = victim(srv.tmp, 'victim');
      const job = await runToEnd(srv, { command: `rm ${file}` });
      assert.equal(job.status, 'completed', job.output);
      assert.equal(fs.existsSync(file), false);
    })(t);
  });
});

// ---------------------------------------------------------------------------------------------
describe('loader variables with allowed_programs: the allowed program stays the program that runs', () => {
  /**
   * A shared library whose constructor prints a line: what an attacker would preload (the issue's
   * ran `id` as root). Built with the C compiler the project is built with.
   */
  function preloadProbe(dir) {
    const source = path.join(dir, 'probe.c');
    const library = path.join(dir, 'probe.so');
    fs.writeFileSync(source, [
      '#include <unistd.h>',
      '__attribute__((constructor)) static void probe(void) {',
      '  static const char line[] = "preloaded code ran\\n";',
      '  (void)!write(1, line, sizeof line - 1);',
      '}',
    ].join('\n'));
    const built = spawnSync('cc', ['-shared', '-fPIC', '-o', library, source], { encoding: 'utf8' });
    assert.equal(built.status, 0, `cc could not build the probe: ${built.stderr}`);
    return library;
  }
  const ARGS = ['--shell', 'false', '--allowed-programs', 'echo,printenv'];

  test('LD_PRELOAD and the other loader variables in env are refused, naming the rule; the refusal is audited', withServer(
    { args: [...ARGS, '--audit-log', 'audit.jsonl'] },
    async (srv) => {
      const probe = preloadProbe(srv.tmp);
      const text = await refused(srv, { argv: ['echo', 'hi'], env: { LD_PRELOAD: probe } }, 'allowed_loader_env');
      assert.match(text, /env sets LD_PRELOAD, which the dynamic loader reads/);
      for (const name of ['LD_LIBRARY_PATH', 'LD_AUDIT', 'GCONV_PATH', 'GLIBC_TUNABLES']) {
        await refused(srv, { argv: ['echo', 'hi'], env: { [name]: srv.tmp } }, `allowed_loader_env`);
      }
      // Without them the program runs, and nothing but the program runs.
      const plain = await runToEnd(srv, { argv: ['echo', 'hi'] });
      assert.equal(plain.output, 'hi\n');
      await waitFor(() => fs.readFileSync(path.join(srv.tmp, 'audit.jsonl'), 'utf8').includes('allowed_loader_env: LD_PRELOAD'),
        { what: 'the refusal in the audit log' });
    },
  ));

  test('named in allowed_loader_env, the variable reaches the job (and the preloaded code runs)', withServer(
    { args: [...ARGS, '--allowed-loader-env', 'LD_PRELOAD'] },
    async (srv) => {
      const probe = preloadProbe(srv.tmp);
      const job = await runToEnd(srv, { argv: ['echo', 'hi'], env: { LD_PRELOAD: probe } });
      assert.equal(job.output, 'preloaded code ran\nhi\n', 'the operator allowed it, so it is theirs to allow');
      await refused(srv, { argv: ['echo', 'hi'], env: { LD_LIBRARY_PATH: srv.tmp } }, 'allowed_loader_env');
    },
  ));

  test('loader variables in the server\'s own environment are not inherited unless named', async (t) => {
    const env = { LD_LIBRARY_PATH: '/nonexistent-e2e-lib', GCONV_PATH: '/nonexistent-e2e-gconv', E2E_PLAIN: 'plain' };
    await withServer({ args: ARGS, env }, async (srv) => {
      const job = await runToEnd(srv, { argv: ['printenv'] });
      assert.doesNotMatch(job.output, /LD_LIBRARY_PATH|GCONV_PATH/);
      assert.match(job.output, /^E2E_PLAIN=plain$/m);
      assert.match(srv.stderr(), /jobs do not inherit .*LD_LIBRARY_PATH.* allowed_loader_env/);
    })(t);
    await withServer({ args: [...ARGS, '--allowed-loader-env', 'LD_LIBRARY_PATH'], env }, async (srv) => {
      const job = await runToEnd(srv, { argv: ['printenv'] });
      assert.match(job.output, /^LD_LIBRARY_PATH=\/nonexistent-e2e-lib$/m);
      assert.doesNotMatch(job.output, /GCONV_PATH/);
    })(t);
    // Without allowed_programs any program may run: nothing is withheld.
    await withServer({ env }, async (srv) => {
      const job = await runToEnd(srv, { argv: ['printenv', 'GCONV_PATH'] });
      assert.equal(job.output, '/nonexistent-e2e-gconv\n');
    })(t);
  });

  test('an entry of allowed_loader_env that is no loader variable stops start-up', async () => {
    const result = await runBinary(['--allowed-loader-env', 'PYTHONPATH']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /allowed_loader_env: 'PYTHONPATH' is not a variable of the dynamic loader/);
  });
});

// ---------------------------------------------------------------------------------------------
describe('allowed_roots: where a job starts, by real path', () => {
  test('escapes by .., by a symlink, by an absolute path or a string prefix are refused', async (t) => {
    const outside = scratchDir('mcpbg-e2e-outside-');
    t.after(() => fs.rmSync(outside, { recursive: true, force: true }));
    await withServer(async (srv) => {
      const sibling = `${srv.tmp}-sibling`; // shares the root's name as a string prefix
      fs.mkdirSync(sibling);
      t.after(() => fs.rmSync(sibling, { recursive: true, force: true }));
      fs.mkdirSync(path.join(srv.tmp, 'sub'));
      fs.symlinkSync(outside, path.join(srv.tmp, 'sub', 'escape'));

      for (const cwd of ['..', 'sub/../..', 'sub/escape', path.join(srv.tmp, 'sub', 'escape'), outside,
                         sibling, '/']) {
        const text = await refused(srv, { argv: ['pwd'], cwd }, 'allowed_roots');
        assert.ok(text.includes(`outside allowed_roots (${srv.tmp})`), text);
      }
      const viaLink = await srv.callError('execute', { argv: ['pwd'], cwd: 'sub/escape' });
      assert.ok(viaLink.includes(`resolves to ${outside}`), `the refusal shows where the link led: ${viaLink}`);

      // Inside is fine, relative or absolute, and the job runs in the real directory.
      const inside = await runToEnd(srv, { argv: ['pwd'], cwd: 'sub' });
      assert.equal(inside.output, `${path.join(srv.tmp, 'sub')}\n`);
      const back = await runToEnd(srv, { command: 'pwd', cwd: 'sub/..' });
      assert.equal(back.output, `${srv.tmp}\n`);
    })(t);
  });

  test('a second root is allowed when listed; a cd inside a shell job is not confined', async (t) => {
    const work = scratchDir('mcpbg-e2e-work-');
    const other = scratchDir('mcpbg-e2e-root-');
    t.after(() => {
      fs.rmSync(work, { recursive: true, force: true });
      fs.rmSync(other, { recursive: true, force: true });
    });
    const srv = await startServer({ args: ['--working-dir', work, '--allowed-roots', `${work},${other}`] });
    try {
      const home = await runToEnd(srv, { argv: ['pwd'] });
      assert.equal(home.output, `${work}\n`);
      const there = await runToEnd(srv, { argv: ['pwd'], cwd: other });
      assert.equal(there.output, `${other}\n`);
      // allowed_roots checks where a job starts. What it does afterwards is the sandbox's concern:
      // a shell job may cd anywhere.
      const wandered = await runToEnd(srv, { command: 'cd / && pwd', cwd: other });
      assert.equal(wandered.output, '/\n');
    } finally {
      await srv.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('checked once: swapping a directory for a symlink between the check and the start wins nothing', () => {
  /**
   * Starts test_child swap-with-link: `dir` and a symlink to `target` exchange names in a tight
   * loop until the returned stop() kills it (by pid).
   */
  async function startSwapping(dir, target) {
    const swapper = spawn(testChild(), ['swap-with-link', dir, target], { stdio: ['ignore', 'pipe', 'inherit'] });
    let said = '';
    swapper.stdout.on('data', (chunk) => (said += chunk));
    const exited = new Promise((resolve) => swapper.once('close', resolve));
    try {
      await waitFor(() => said.includes('swapping') || swapper.exitCode !== null, { what: 'the swapper to start' });
      assert.equal(swapper.exitCode, null, 'the swapper is running');
    } catch (error) {
      swapper.kill('SIGKILL');
      throw error;
    }
    return async () => {
      swapper.kill('SIGKILL');
      await exited;
    };
  }

  // Each execute either is refused (the check saw the link) or runs where the check looked.
  // Before jobs were started from a descriptor of what was checked, about a third of them ran in
  // "/" (614 of 2000 in the issue).
  const ROUNDS = 1000;

  test('a cwd swapped for a link to / never starts a job outside allowed_roots', withServer(async (srv) => {
    fs.mkdirSync(path.join(srv.tmp, 'd'));
    const stop = await startSwapping(path.join(srv.tmp, 'd'), '/');
    const seen = { inside: 0, refused: 0, outside: [] };
    try {
      for (let i = 0; i < ROUNDS; ++i) {
        const result = await srv.callResult('execute', { argv: ['pwd', '-P'], cwd: 'd', wait_seconds: 10 });
        if (result.isError) {
          const text = result.content[0].text;
          assert.match(text, /outside allowed_roots|does not exist|is not a directory/, text);
          seen.refused += 1;
          continue;
        }
        const where = result.structuredContent.output.trimEnd();
        if (where === srv.tmp || where.startsWith(`${srv.tmp}/`)) seen.inside += 1;
        else seen.outside.push(where);
      }
    } finally {
      await stop();
    }
    assert.deepEqual(seen.outside, [], `jobs ran outside the root (${JSON.stringify(seen)})`);
    assert.ok(seen.inside > 0 && seen.refused > 0, `the race was run both ways: ${JSON.stringify(seen)}`);
  }));

  test('an allowed program whose directory is swapped for a link never lets the other program run', async (t) => {
    const tmp = scratchDir('mcpbg-e2e-swap-');
    t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    // The allowed program: a copy of echo (an ELF binary). The other one answers to the same path
    // once its directory is swapped in.
    fs.mkdirSync(path.join(tmp, 'tools', 'bin'), { recursive: true });
    fs.copyFileSync(realProgram('echo'), path.join(tmp, 'tools', 'bin', 'prog'));
    fs.chmodSync(path.join(tmp, 'tools', 'bin', 'prog'), 0o755);
    fs.mkdirSync(path.join(tmp, 'other', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'other', 'bin', 'prog'), '#!/bin/sh\necho OTHER\n', { mode: 0o755 });
    const prog = path.join(tmp, 'tools', 'bin', 'prog');
    await withServer({ args: ['--shell', 'false', '--allowed-programs', prog] }, async (srv) => {
      const stop = await startSwapping(path.join(tmp, 'tools'), path.join(tmp, 'other'));
      const seen = { allowed: 0, refused: 0, other: [] };
      try {
        for (let i = 0; i < ROUNDS; ++i) {
          const result = await srv.callResult('execute', { argv: [prog, 'allowed'], wait_seconds: 10 });
          if (result.isError) {
            assert.match(result.content[0].text, /allowed_programs/, result.content[0].text);
            seen.refused += 1;
            continue;
          }
          const { output } = result.structuredContent;
          // Anything else is the other program, or sh reading one of them as the other's script.
          if (output === 'allowed\n') seen.allowed += 1;
          else seen.other.push(output);
        }
      } finally {
        await stop();
      }
      assert.deepEqual(seen.other, [], `something other than the checked program ran (${JSON.stringify(seen)})`);
      assert.ok(seen.allowed > 0 && seen.refused > 0, `the race was run both ways: ${JSON.stringify(seen)}`);
    })(t);
  });
});

// ---------------------------------------------------------------------------------------------
describe('what a job inherits', () => {
  /** The job's environment as an object, read by the env program. */
  async function jobEnvironment(srv, env = {}) {
    const job = await runToEnd(srv, { argv: ['env'], env });
    assert.equal(job.status, 'completed', job.output);
    return Object.fromEntries(
      job.output.trimEnd().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
  }

  test('env_policy = minimal hides what the server has beyond PATH, HOME, USER, LANG, TERM', withServer(
    { args: ['--env-policy', 'minimal'], env: { E2E_SERVER_ONLY: 'server value', HOME: '/home/e2e' } },
    async (srv) => {
      const env = await jobEnvironment(srv, { E2E_JOB_OWN: 'own value' });
      assert.equal(env.E2E_SERVER_ONLY, undefined, 'a variable of the server is not inherited');
      assert.equal(env.HOME, '/home/e2e');
      assert.ok(env.PATH, 'PATH is inherited');
      assert.equal(env.E2E_JOB_OWN, 'own value', 'the job\'s own env is passed');
      assert.equal(env.TERM, 'dumb', 'the non-interactive defaults still apply');
    },
  ));

  // These jobs print their environment: with redaction (on by default) the values of *_TOKEN
  // variables would read [REDACTED], so the tests that check them turn it off.
  test('env_exclude (default) hides secrets from inheritance; the job\'s own env may still set one', withServer(
    {
      args: ['--redact', 'false'],
      env: { MY_API_TOKEN: 'server-secret', aws_secret_access_key: 'x', E2E_PLAIN: 'plain' },
    },
    async (srv) => {
      const env = await jobEnvironment(srv);
      assert.equal(env.MY_API_TOKEN, undefined);
      assert.equal(env.aws_secret_access_key, undefined, 'patterns match in any case');
      assert.equal(env.E2E_PLAIN, 'plain');
      const own = await jobEnvironment(srv, { MY_API_TOKEN: 'given by the caller' });
      assert.equal(own.MY_API_TOKEN, 'given by the caller');
    },
  ));

  test('env_exclude set by the operator replaces the default list', withServer(
    {
      args: ['--env-exclude', 'E2E_*', '--redact', 'false'],
      env: { MY_API_TOKEN: 'server-secret', E2E_PLAIN: 'plain' },
    },
    async (srv) => {
      const env = await jobEnvironment(srv);
      assert.equal(env.E2E_PLAIN, undefined);
      assert.equal(env.MY_API_TOKEN, 'server-secret');
    },
  ));
});

// ---------------------------------------------------------------------------------------------
describe('a policy that cannot be built stops start-up', () => {
  test('a bad pattern or a missing program: exit 2, naming the setting and the entry', async () => {
    const pattern = await runBinary(['--denied-commands', 'rm(']);
    assert.equal(pattern.code, 2, pattern.stderr);
    assert.match(pattern.stderr, /invalid denied_commands: 'rm\(' is not a valid RE2 pattern/);
    const allowed = await runBinary([], { MCP_BG_ALLOWED_COMMANDS: '[z-a]' });
    assert.equal(allowed.code, 2, allowed.stderr);
    assert.match(allowed.stderr, /invalid allowed_commands: '\[z-a\]'/);
    const program = await runBinary(['--allowed-programs', 'no-such-program-mcpbg']);
    assert.equal(program.code, 2, program.stderr);
    assert.match(program.stderr, /invalid allowed_programs: 'no-such-program-mcpbg' is not found on the server's PATH/);
  });
});
