// The conformance run: each (suite release x spec revision) below gets a fresh server on a free
// loopback port, the official suite runs against it, and every failing check is compared with
// expected-failures.txt. Exits 1 on a failure the file does not list and on an entry whose
// scenario (or check) now passes, so the file only ever shrinks by hand and never goes stale.
//
// Usage (under Node >= 22; run.sh picks the pinned one): node run.mjs path/to/mcp-background-job
//
// What a run reads: the suite prints "=== Running scenario: NAME ===" for every scenario it starts
// and writes OUT/server-NAME-<timestamp>/checks.json (an array of {id, status, errorMessage}) for
// every scenario that ran to the end; a scenario that threw has no checks.json and counts as one
// failed check whose id is the scenario's name, as the suite itself counts it. Only FAILURE fails
// (as in the suite's own tally); WARNING (a SHOULD) is reported, SKIPPED and INFO are not.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXPECTED_FILE = path.join(HERE, 'expected-failures.txt');

// 0.1.16 predates --requirements; its --spec-version 2025-11-25 is the same question asked of the
// suite as it was then (it knows no 2026-07-28).
const RUNS = [
  { pkg: 'conformance-0.1', requirements: '2025-11-25', args: ['--spec-version', '2025-11-25'] },
  { pkg: 'conformance-0.2', requirements: '2025-11-25', args: ['--requirements', '2025-11-25'] },
  { pkg: 'conformance-0.2', requirements: '2026-07-28', args: ['--requirements', '2026-07-28'] },
];

// Far above what each step takes here (a whole suite run takes about 2 s; the suite's own
// per-scenario timeout is 30 s), far below CI's budget.
const SERVER_START_MS = 10_000;
const SERVER_STOP_MS = 10_000;
const SUITE_RUN_MS = 300_000;

const children = new Set();
let scratch = null;  // removed if the run is interrupted; kept after a failing run

function fail(message) {
  console.error(`conformance: ${message}`);
  process.exit(2);
}

/** A child process that is killed if the runner itself is stopped; resolves on close. */
function start(command, args, options) {
  const child = spawn(command, args, options);
  children.add(child);
  child.closed = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
    child.on('error', (error) => {
      children.delete(child);
      resolve({ code: null, signal: null, error });
    });
  });
  return child;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    // The server's own watchdog ends its jobs when it dies, even of SIGKILL.
    for (const child of children) child.kill('SIGKILL');
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    process.exit(128 + os.constants.signals[signal]);
  });
}

/** Resolves to true if `promise` settles within `ms`. */
function within(promise, ms) {
  let timer;
  const deadline = new Promise((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([promise.then(() => true), deadline]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// expected-failures.txt: `<suite-version|*> <requirements> <scenario>[:<check-id>]  # reason`

function readExpected(suites) {
  const entries = [];
  const seen = new Set();
  const lines = fs.readFileSync(EXPECTED_FILE, 'utf8').split('\n');
  lines.forEach((raw, index) => {
    const where = `${path.basename(EXPECTED_FILE)}:${index + 1}`;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const hash = line.indexOf('#');
    const reason = hash < 0 ? '' : line.slice(hash + 1).trim();
    if (!reason) fail(`${where}: every entry needs a reason after '#': ${line}`);
    const fields = line.slice(0, hash).trim().split(/\s+/);
    if (fields.length !== 3) {
      fail(`${where}: expected '<suite-version|*> <requirements> <scenario>[:<check-id>]  # reason', got: ${line}`);
    }
    const [suite, requirements, target] = fields;
    if (suite !== '*' && !suites.includes(suite)) {
      fail(`${where}: suite version ${suite} is not one this runner runs (${suites.join(', ')}, or *)`);
    }
    if (!RUNS.some((run) => run.requirements === requirements)) {
      fail(`${where}: requirements ${requirements} is not one this runner runs`);
    }
    const colon = target.indexOf(':');
    const scenario = colon < 0 ? target : target.slice(0, colon);
    const check = colon < 0 ? null : target.slice(colon + 1);
    const key = `${suite} ${requirements} ${target}`;
    if (seen.has(key)) fail(`${where}: duplicate entry ${key}`);
    seen.add(key);
    entries.push({ where, suite, requirements, scenario, check, reason, used: false });
  });
  return entries;
}

// ---------------------------------------------------------------------------------------------
// The server

/** The server's environment: ours minus MCP_BG_*, and a config home of its own (no user config). */
function serverEnvironment(scratch) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('MCP_BG_')) env[key] = value;
  }
  env.XDG_CONFIG_HOME = path.join(scratch, 'config');
  return env;
}

async function startServer(binary, scratch, logFile) {
  const work = path.join(scratch, 'work');
  fs.mkdirSync(work, { recursive: true });
  fs.mkdirSync(path.join(scratch, 'config'), { recursive: true });
  const log = fs.openSync(logFile, 'w');
  const proc = start(binary, ['--http', '127.0.0.1:0'], {
    cwd: work,
    env: serverEnvironment(scratch),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const address = new Promise((resolve) => {
    proc.stderr.on('data', (chunk) => {
      fs.writeSync(log, chunk);
      stderr += chunk;
      const found = /serving MCP at (http:\/\/\S+\/mcp)/.exec(stderr);
      if (found) resolve(found[1]);
    });
    proc.closed.then(({ code, signal, error }) => {
      stderr += error ? `(could not start ${binary}: ${error.message})` : `(exited with ${code ?? signal})`;
      resolve(null);
    });
  });
  proc.closed.then(() => fs.closeSync(log));
  let url = null;
  if (!(await within(address.then((u) => (url = u)), SERVER_START_MS)) || !url) {
    proc.kill('SIGKILL');
    await proc.closed;
    fail(`the server did not print its address within ${SERVER_START_MS} ms; its stderr:\n${stderr}`);
  }
  return { proc, url };
}

/** SIGTERM, then the exit code (null with a reason if it had to be killed or died of a signal). */
async function stopServer(server) {
  server.proc.kill('SIGTERM');
  if (await within(server.proc.closed, SERVER_STOP_MS)) {
    const { code, signal } = await server.proc.closed;
    return code === 0 ? null : `the server exited with ${code ?? signal} on SIGTERM (expected 0)`;
  }
  server.proc.kill('SIGKILL');
  await server.proc.closed;
  return `the server did not exit within ${SERVER_STOP_MS} ms of SIGTERM and was killed`;
}

// ---------------------------------------------------------------------------------------------
// The suite

async function runSuite(node, run, url, outDir, logFile) {
  const entry = path.join(HERE, 'node_modules', run.pkg, 'dist', 'index.js');
  const args = [entry, 'server', '--url', url, ...run.args, '-o', outDir];
  const log = fs.openSync(logFile, 'w');
  const proc = start(node, args, { cwd: HERE, stdio: ['ignore', log, log] });
  const finished = await within(proc.closed, SUITE_RUN_MS);
  if (!finished) {
    proc.kill('SIGKILL');
    await proc.closed;
  }
  fs.closeSync(log);
  const output = fs.readFileSync(logFile, 'utf8');
  if (!finished) fail(`${run.label} did not finish within ${SUITE_RUN_MS} ms; see ${logFile}`);
  return output;
}

/** Map scenario -> [{id, status, message}] for one suite run. */
function collectResults(output, outDir) {
  const scenarios = [...output.matchAll(/^=== Running scenario: (\S+) ===$/gm)].map((m) => m[1]);
  const dirs = fs.existsSync(outDir) ? fs.readdirSync(outDir) : [];
  const results = new Map();
  for (const scenario of scenarios) {
    const prefix = `server-${scenario}-`;
    // A timestamp follows the name; a longer scenario name sharing the prefix does not match it.
    const dir = dirs.find((d) => d.startsWith(prefix) && /^\d{4}-/.test(d.slice(prefix.length)));
    const file = dir && path.join(outDir, dir, 'checks.json');
    if (file && fs.existsSync(file)) {
      const checks = JSON.parse(fs.readFileSync(file, 'utf8'));
      results.set(
        scenario,
        checks.map((c) => ({ id: c.id, status: c.status, message: String(c.errorMessage ?? c.description ?? '').replace(/\s+/g, ' ').slice(0, 300) })),
      );
    } else {
      const thrown = new RegExp(`^Failed to run scenario ${scenario}: (.*)$`, 'm').exec(output);
      results.set(scenario, [
        { id: scenario, status: 'FAILURE', message: thrown ? thrown[1] : 'the scenario wrote no checks.json' },
      ]);
    }
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Judging

function judge(run, results, entries) {
  const mine = entries.filter(
    (e) => e.requirements === run.requirements && (e.suite === '*' || e.suite === run.version),
  );
  const verdict = { passed: [], expected: [], unexpected: [], stale: [], warnings: 0 };
  for (const [scenario, checks] of results) {
    const failing = checks.filter((c) => c.status === 'FAILURE');
    verdict.warnings += checks.filter((c) => c.status === 'WARNING').length;
    const whole = mine.find((e) => e.scenario === scenario && e.check === null);
    const perCheck = mine.filter((e) => e.scenario === scenario && e.check !== null);
    if (whole && perCheck.length > 0) {
      fail(`${whole.where}: ${scenario} is listed whole and by check; keep one`);
    }
    if (whole) whole.used = true;
    for (const e of perCheck) e.used = true;
    if (failing.length === 0) {
      verdict.passed.push(scenario);
      for (const e of whole ? [whole] : perCheck) verdict.stale.push({ entry: e, scenario });
      continue;
    }
    for (const c of failing) {
      const excuse = whole ?? perCheck.find((e) => e.check === c.id);
      (excuse ? verdict.expected : verdict.unexpected).push({ scenario, check: c });
    }
    // A listed check that ran and did not fail (passed, or is now skipped as not applicable)
    // must leave the file; one that did not run at all (the scenario stopped at an earlier
    // failure, itself listed or reported) is tolerated, as the suite's own baseline does.
    for (const e of perCheck) {
      const states = checks.filter((c) => c.id === e.check).map((c) => c.status);
      if (states.length > 0 && !states.includes('FAILURE')) {
        verdict.stale.push({ entry: e, scenario, states: [...new Set(states)] });
      }
    }
  }
  for (const e of mine) {
    if (!e.used && e.suite !== '*') {
      verdict.stale.push({ entry: e, scenario: e.scenario, missing: true });
    }
  }
  return verdict;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  if (!process.argv[2]) fail('usage: node run.mjs path/to/mcp-background-job');
  // Absolute: the server starts in a scratch directory.
  const binary = path.resolve(process.argv[2]);
  if (!fs.existsSync(binary)) fail(`${binary} does not exist: build it first (make build)`);
  const node = process.execPath;
  if (Number(process.versions.node.split('.')[0]) < 22) {
    fail(`the suite needs Node >= 22, this is ${process.version}: run it through run.sh`);
  }
  for (const run of RUNS) {
    const manifest = path.join(HERE, 'node_modules', run.pkg, 'package.json');
    if (!fs.existsSync(manifest)) fail(`${manifest} is missing: run 'npm ci' in ${HERE}`);
    run.version = JSON.parse(fs.readFileSync(manifest, 'utf8')).version;
    run.label = `suite ${run.version} ${run.args.join(' ')}`;
  }
  const entries = readExpected([...new Set(RUNS.map((r) => r.version))]);
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-conformance-'));
  const began = Date.now();
  const verdicts = [];
  const problems = [];
  for (const [index, run] of RUNS.entries()) {
    const tag = `${index + 1}-${run.version}-${run.requirements}`;
    const runStarted = Date.now();
    const server = await startServer(binary, scratch, path.join(scratch, `${tag}.server.log`));
    const outDir = path.join(scratch, `${tag}.results`);
    let output;
    try {
      output = await runSuite(node, run, server.url, outDir, path.join(scratch, `${tag}.suite.log`));
    } finally {
      const stopped = await stopServer(server);
      if (stopped) problems.push(`${run.label}: ${stopped}; see ${scratch}/${tag}.server.log`);
    }
    const results = collectResults(output, outDir);
    if (results.size === 0) problems.push(`${run.label}: the suite ran no scenario; see ${scratch}/${tag}.suite.log`);
    const verdict = judge(run, results, entries);
    verdict.run = run;
    verdict.scenarios = results.size;
    verdict.seconds = (Date.now() - runStarted) / 1000;
    verdicts.push(verdict);
  }
  // A `*` entry must match a scenario in at least one of the runs it names.
  for (const e of entries.filter((e) => e.suite === '*' && !e.used)) {
    verdicts[0].stale.push({ entry: e, scenario: e.scenario, missing: true });
  }

  let passed = 0;
  let failed = problems.length;
  let expected = 0;
  for (const v of verdicts) {
    passed += v.passed.length;
    expected += v.expected.length;
    failed += v.unexpected.length + v.stale.length;
    console.log(
      `conformance: ${v.run.label}: ${v.scenarios} scenarios, ${v.passed.length} pass, ` +
        `${v.expected.length} expected failing checks, ${v.unexpected.length} unexpected, ` +
        `${v.stale.length} stale entries, ${v.warnings} warnings (${v.seconds.toFixed(1)} s)`,
    );
    for (const { scenario, check } of v.unexpected) {
      console.log(`  UNEXPECTED FAILURE ${v.run.version} ${v.run.requirements} ${scenario}:${check.id}: ${check.message}`);
    }
    for (const { entry, scenario, missing, states } of v.stale) {
      const target = `${scenario}${entry.check ? ':' + entry.check : ''}`;
      const now = states ? ` (now ${states.join(', ')})` : '';
      console.log(
        missing
          ? `  STALE ${entry.where}: ${v.run.label} has no scenario ${scenario}; remove the entry`
          : `  NOW PASSES ${entry.where}: ${target} no longer fails in ${v.run.label}${now}; remove the entry`,
      );
    }
  }
  for (const p of problems) console.log(`  PROBLEM ${p}`);
  const seconds = ((Date.now() - began) / 1000).toFixed(1);
  if (failed > 0) {
    console.log(`conformance: results kept in ${scratch} (server logs, suite logs, checks.json)`);
  } else {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  console.log(`conformance: ${expected} failing checks listed in expected-failures.txt; ${seconds} s in all`);
  // The plain closing line CI reads: scenarios that passed, and what must be fixed.
  console.log(`conformance: ${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((error) => {
  for (const child of children) child.kill('SIGKILL');
  console.error(`conformance: ${error.stack ?? error}`);
  process.exit(2);
});
