// Shared helpers for the end-to-end tests: the official MCP TypeScript SDK client (legacy 1.x
// Client + StdioClientTransport) drives the real mcp-background-job binary over stdio.
//
// Environment:
//   MCP_BG_BINARY      path to the server binary (required)
//   MCP_BG_TEST_CHILD  path to the test_child helper binary (required by tests that use it)
//
// Rules the tests follow: every wait is a poll with a deadline (waitFor), never a fixed sleep; every
// test starts its own server (withServer / startServer) and closes it when done.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const TOOL_NAMES = ['execute', 'list', 'status', 'output', 'tail', 'wait', 'interact', 'kill', 'policy'];
export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
// A well-formed v4 UUID that no server will ever have handed out in these tests.
export const UNKNOWN_ID = '3f2b8c1e-9d4a-4b6e-8f00-0123456789ab';

// Default deadline of one tool call: far above what any call should take, far below the SDK's 60 s.
const CALL_TIMEOUT_MS = 15_000;
const STDERR_KEEP_BYTES = 64 * 1024;

function requiredEnv(name, what) {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: it must name ${what}. ` +
        'ctest sets it; by hand: MCP_BG_BINARY=build/.../src/mcp-background-job ' +
        'MCP_BG_TEST_CHILD=build/.../tests/test_child node --test FILE',
    );
  }
  if (!fs.existsSync(value)) throw new Error(`${name}=${value} does not exist (${what})`);
  return value;
}

/** Path of the server binary, from MCP_BG_BINARY. */
export function serverBinary() {
  return requiredEnv('MCP_BG_BINARY', 'the mcp-background-job server binary');
}

/** Path of the test_child helper, from MCP_BG_TEST_CHILD. */
export function testChild() {
  return requiredEnv('MCP_BG_TEST_CHILD', 'the test_child helper binary');
}

/** argv for a test_child job: child('sleep', 1000) -> [CHILD, 'sleep', '1000']. */
export function child(...args) {
  return [testChild(), ...args.map(String)];
}

/**
 * The environment the server is started with: ours, minus every MCP_BG_* variable, plus `extra`.
 * No history is kept unless a test asks for it (MCP_BG_STATE_DIR or XDG_STATE_HOME in `extra`):
 * servers of parallel tests would otherwise share one database, and each list the others' jobs.
 */
export function serverEnvironment(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('MCP_BG_') && value !== undefined) env[key] = value;
  }
  if (!('MCP_BG_STATE_DIR' in extra) && !('XDG_STATE_HOME' in extra)) env.MCP_BG_STATE_DIR = 'none';
  return { ...env, ...extra };
}

/** Sleep for a bounded poll interval. Only waitFor uses it. */
function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Poll `fn` (sync or async) every `intervalMs` until it returns a truthy value, which is returned.
 * A throw from `fn` counts as "not yet" (the last one is reported). At the deadline, fails with a
 * message naming `what` and the last value or error seen.
 */
export async function waitFor(fn, { timeoutMs = 5000, intervalMs = 20, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await fn();
      lastError = undefined;
      if (last) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const seen = lastError
        ? `last error: ${lastError.stack ?? lastError}`
        : `last value: ${safeJson(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${seen}`);
    }
    await pause(intervalMs);
  }
}

function safeJson(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------------------------------------
// /proc helpers

/** The fields of /proc/<pid>/stat that we use, or null if the process does not exist. */
export function procStat(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid pgrp session ..." where comm may hold spaces and parentheses.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const rest = text.slice(close + 2).split(' ');
  return {
    pid: Number(pid),
    comm,
    state: rest[0],
    ppid: Number(rest[1]),
    pgrp: Number(rest[2]),
    starttime: rest[19],
  };
}

/**
 * True while the process exists and is not a zombie. kill(pid, 0) also succeeds on zombies, and a
 * grandchild orphaned to an init that does not reap would stay a zombie forever, so a zombie counts
 * as gone here; zombies of the server's own children are checked separately (serverZombies).
 */
export function processAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (error.code === 'ESRCH') return false;
    if (error.code !== 'EPERM') throw error;
  }
  const stat = procStat(pid);
  return stat !== null && stat.state !== 'Z';
}

/** Every process whose parent is `ppid`: [{pid, comm, state, ...}]. */
/** The server's one permanent child: the watchdog that stops jobs if the server is killed. */
export const WATCHDOG_NAME = 'mcp-bg-watchdog';

/** Children of `ppid` that are jobs (every child but the server's watchdog). */
export function jobChildrenOf(ppid) {
  return childrenOf(ppid).filter((stat) => stat.comm !== WATCHDOG_NAME);
}

export function childrenOf(ppid) {
  const result = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(name);
    if (stat && stat.ppid === ppid) result.push(stat);
  }
  return result;
}

/** Number of open file descriptors of `pid`. */
export function fdCount(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** Open fds of `pid` with what they point to, for failure messages. */
export function fdTable(pid) {
  const table = {};
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      table[fd] = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      table[fd] = '?';
    }
  }
  return table;
}

/**
 * fd numbers of `pid` that a spawned process inherits (no O_CLOEXEC in /proc/<pid>/fdinfo). The
 * server inherits these from the test runner; what it passes on to jobs is checked against them.
 */
export function inheritableFds(pid = process.pid) {
  const O_CLOEXEC = 0o2000000;
  const result = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      const flags = parseInt(info.match(/^flags:\s+([0-7]+)/m)[1], 8);
      if ((flags & O_CLOEXEC) === 0) result.push(Number(fd));
    } catch {
      // closed meanwhile
    }
  }
  return result.sort((a, b) => a - b);
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM: reported in kB). */
export function procStatusBytes(pid, field) {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  assert.ok(match, `/proc/${pid}/status has no ${field} line`);
  return Number(match[1]) * 1024;
}

// ---------------------------------------------------------------------------------------------
// The server

/**
 * A running server with a connected client.
 *   srv.pid, srv.client, srv.transport, srv.tmp (a scratch dir, also the server's cwd)
 *   srv.call(name, args)       -> structuredContent (asserts isError false, text == JSON)
 *   srv.callError(name, args)  -> the error text (asserts isError true)
 *   srv.callResult(name, args) -> the raw CallToolResult
 *   srv.exited                 -> promise of {code, signal} when the server process exits
 *   srv.stderr()               -> what the server wrote to stderr so far (last 64 KiB)
 *   srv.close()                -> close the client (stdin EOF), clean up leftovers
 */
export class Server {
  constructor({ client, transport, proc, tmp, stderrChunks }) {
    this.client = client;
    this.transport = transport;
    this.proc = proc;
    this.pid = proc.pid;
    this.tmp = tmp;
    this._stderr = stderrChunks;
    this._jobProcesses = new Map(); // pid -> starttime, for the leftover sweep in close()
    this.exitStatus = null;
    this.exited = new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        resolve({ code: proc.exitCode, signal: proc.signalCode });
        return;
      }
      proc.once('exit', (code, signal) => resolve({ code, signal }));
    }).then((status) => {
      this.exitStatus = status;
      return status;
    });
    this.tools = null;
  }

  stderr() {
    return this._stderr.text();
  }

  /** Context for failure messages: the server's recent stderr. */
  context() {
    const text = this.stderr();
    return text ? `\n--- server stderr (last ${STDERR_KEEP_BYTES} bytes) ---\n${text}` : '\n(server wrote nothing to stderr)';
  }

  async callResult(name, args = {}, { timeoutMs = CALL_TIMEOUT_MS } = {}) {
    try {
      return await this.client.callTool({ name, arguments: args }, undefined, { timeout: timeoutMs });
    } catch (error) {
      throw addContext(error, `\n  (in tools/call ${name} ${truncate(safeJson(args))})${this.context()}`);
    }
  }

  async call(name, args = {}, options) {
    const result = await this.callResult(name, args, options);
    const where = `tools/call ${name} ${truncate(safeJson(args))}`;
    assert.equal(
      result.isError ?? false,
      false,
      `${where} returned isError: ${result.content?.[0]?.text}${this.context()}`,
    );
    assert.ok(result.structuredContent, `${where} returned no structuredContent: ${safeJson(result)}`);
    // The same JSON must be in a text content block.
    const text = result.content?.find((block) => block.type === 'text')?.text;
    assert.ok(typeof text === 'string', `${where} returned no text content block: ${safeJson(result)}`);
    let parsed;
    assert.doesNotThrow(() => {
      parsed = JSON.parse(text);
    }, `${where}: the text content is not JSON: ${truncate(text)}`);
    assert.deepEqual(parsed, result.structuredContent, `${where}: the text block differs from structuredContent`);
    const structured = result.structuredContent;
    // A persisted job is meant to outlive the server: its test ends it.
    if (name === 'execute' && typeof structured.pid === 'number' && !structured.persisted) {
      this._noteJobProcess(structured.pid);
    }
    return structured;
  }

  async callError(name, args = {}, options) {
    const result = await this.callResult(name, args, options);
    const where = `tools/call ${name} ${truncate(safeJson(args))}`;
    assert.equal(result.isError, true, `${where} should have failed but returned ${truncate(safeJson(result))}`);
    const text = result.content?.find((block) => block.type === 'text')?.text;
    assert.ok(typeof text === 'string' && text.length > 0, `${where}: the error has no text: ${safeJson(result)}`);
    return text;
  }

  /** execute, then poll status until the job is no longer running; returns the final status. */
  async run(args, { timeoutMs = 10_000 } = {}) {
    const started = await this.call('execute', args);
    return this.waitForEnd(started.job_id, { timeoutMs });
  }

  /** Poll status until the job is not running; returns that status. */
  async waitForEnd(jobId, { timeoutMs = 10_000 } = {}) {
    return this.waitFor(
      async () => {
        const status = await this.call('status', { job_id: jobId });
        return status.status !== 'running' ? status : null;
      },
      { timeoutMs, what: `job ${jobId} to finish` },
    );
  }

  /** Poll status until it is `wanted`; returns that status. */
  async waitForStatus(jobId, wanted, { timeoutMs = 10_000 } = {}) {
    return this.waitFor(
      async () => {
        const status = await this.call('status', { job_id: jobId });
        return status.status === wanted ? status : null;
      },
      { timeoutMs, what: `job ${jobId} to reach status ${wanted}` },
    );
  }

  /** Poll output (from offset 0, whole log up to max_read_bytes) until `predicate(text)`. */
  async waitForOutput(jobId, predicate, { timeoutMs = 10_000, what, stream } = {}) {
    let last;
    return this.waitFor(
      async () => {
        const args = { job_id: jobId, max_bytes: 65536 };
        if (stream) args.stream = stream;
        last = await this.call('output', args);
        return predicate(last.output) ? last : null;
      },
      { timeoutMs, what: what ?? `output of job ${jobId} to satisfy ${predicate}` },
    );
  }

  /** waitFor that appends the server's stderr to its failure. */
  async waitFor(fn, options) {
    try {
      return await waitFor(fn, options);
    } catch (error) {
      throw addContext(error, this.context());
    }
  }

  /** The server's child processes that are zombies (exited but not reaped). */
  zombies() {
    return childrenOf(this.pid).filter((p) => p.state === 'Z');
  }

  fdCount() {
    return fdCount(this.pid);
  }

  /**
   * True when the server runs under AddressSanitizer (libasan mapped, or MCP_BG_SANITIZED set as
   * `make test-asan` does): its allocator quarantine and shadow memory make RSS meaningless.
   */
  sanitized() {
    if (process.env.MCP_BG_SANITIZED) return true;
    try {
      return /libasan|libtsan|libmsan/.test(fs.readFileSync(`/proc/${this.pid}/maps`, 'utf8'));
    } catch {
      return false;
    }
  }

  _noteJobProcess(pid) {
    const stat = procStat(pid);
    if (stat) this._jobProcesses.set(pid, stat.starttime);
  }

  /** Remember a process (e.g. a grandchild) to sweep if it outlives the test. */
  noteProcess(pid) {
    this._noteJobProcess(pid);
  }

  /**
   * Close the client (stdin EOF; the SDK TERMs the server after 2 s and KILLs after 4 s), then
   * kill any job process that outlived the server so that one broken test leaves nothing behind.
   * Returns the server's exit status.
   */
  async close() {
    if (this._closed) return this.exitStatus;
    this._closed = true;
    try {
      await this.client.close();
    } catch {
      // The server may already be gone.
    }
    const deadline = new Promise((resolve) => setTimeout(() => resolve(null), 5000).unref());
    const status = await Promise.race([this.exited, deadline]);
    if (status === null) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const [pid, starttime] of this._jobProcesses) {
      const stat = procStat(pid);
      if (stat && stat.starttime === starttime && stat.state !== 'Z') {
        for (const target of [-pid, pid]) {
          try {
            process.kill(target, 'SIGKILL');
          } catch {
            // gone, or not a group leader
          }
        }
      }
    }
    fs.rmSync(this.tmp, { recursive: true, force: true });
    return status;
  }
}

/** Append `extra` to an error's message and to its stack (reporters print the stack). */
export function addContext(error, extra) {
  if (!error || typeof error !== 'object' || !extra) return error;
  try {
    if (typeof error.message === 'string') error.message += extra;
    if (typeof error.stack === 'string') error.stack += extra;
  } catch {
    // not writable
  }
  return error;
}

function truncate(text, max = 300) {
  if (typeof text !== 'string') return text;
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

class StderrBuffer {
  constructor() {
    this.chunks = [];
    this.size = 0;
  }
  push(chunk) {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > STDERR_KEEP_BYTES && this.chunks.length > 1) {
      this.size -= this.chunks.shift().length;
    }
  }
  text() {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * Start the server with `args` and `env` (added to our environment without MCP_BG_*), connect a
 * client (initialize), and list the tools so that the SDK validates every structuredContent
 * against its tool's outputSchema. `cwd` defaults to a fresh scratch dir (srv.tmp).
 */
export async function startServer({ args = [], env = {}, listTools = true, runAs, newSession = false } = {}) {
  const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mcpbg-e2e-')));
  // runAs: 'nobody' starts the server as that unprivileged user (setpriv execs it, so the pid is
  // the server's), in a scratch dir it owns: no cgroup can be made, as for most real users.
  let command = serverBinary();
  if (runAs) {
    const { uid, gid } = userIds(runAs);
    fs.chownSync(tmp, uid, gid);
    args = [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', command, ...args];
    command = 'setpriv';
    env = { HOME: tmp, ...env };  // a home it may read (for the default config file's place)
  }
  // newSession: the server leads a session and process group of its own (setsid execs it: the
  // pid is the server's), so a test can kill that whole group as a client might.
  if (newSession) {
    args = [command, ...args];
    command = 'setsid';
  }
  const transport = new StdioClientTransport({
    command,
    args,
    env: serverEnvironment(env),
    cwd: tmp,
    stderr: 'pipe',
  });
  const stderrChunks = new StderrBuffer();
  // Always drain stderr: an unread pipe would eventually block the server's logging.
  transport.stderr.on('data', (chunk) => stderrChunks.push(chunk));
  const client = new Client({ name: 'mcpbg-e2e', version: '1.0.0' }, { capabilities: {} });
  try {
    await client.connect(transport, { timeout: CALL_TIMEOUT_MS });
  } catch (error) {
    addContext(error, `\n  (connecting to ${serverBinary()} ${args.join(' ')})\n--- server stderr ---\n${stderrChunks.text()}`);
    fs.rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  // StdioClientTransport keeps its ChildProcess in the private `_process` (1.x); we need it for
  // the exit code, and its `.pid` getter for the pid.
  const proc = transport._process;
  assert.ok(proc && proc.pid === transport.pid, 'StdioClientTransport no longer exposes _process/pid');
  const srv = new Server({ client, transport, proc, tmp, stderrChunks });
  if (listTools) srv.tools = (await client.listTools(undefined, { timeout: CALL_TIMEOUT_MS })).tools;
  return srv;
}

/**
 * Wrap a test body: start a server, run `fn(srv, t)`, add the server's stderr to a failure, and
 * always close the server; after a passing body, the server must exit 0 on the client's close.
 *   test('name', withServer({ env: {...} }, async (srv) => { ... }));
 */
export function withServer(options, fn) {
  if (typeof options === 'function') {
    fn = options;
    options = {};
  }
  return async (t) => {
    const srv = await startServer(options);
    try {
      await fn(srv, t);
    } catch (error) {
      if (!String(error?.message).includes('--- server stderr') && !String(error?.message).includes('server wrote nothing')) {
        addContext(error, srv.context());
      }
      await srv.close();
      throw error;
    }
    const exit = await srv.close();
    // Closing the client must end the server cleanly (this also catches sanitizer reports at exit).
    assert.deepEqual(exit, { code: 0, signal: null }, `server exit after the client closed${srv.context()}`);
  };
}

/** The numeric uid and primary gid of a user, from /etc/passwd. */
export function userIds(name) {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  assert.ok(line, `no user ${name} in /etc/passwd`);
  const fields = line.split(':');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** Run the binary without a client (for start-up failures): resolves {code, signal, stdout, stderr}. */
export function runBinary(args = [], env = {}, { timeoutMs = 10_000 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(serverBinary(), args, { env: serverEnvironment(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk) => (stdout += chunk));
    proc.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${serverBinary()} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    // A server that does start would wait on stdin: give it EOF so that it exits either way.
    proc.stdin.end();
  });
}

/** A fresh scratch directory (removed by the caller or left in the OS temp dir). */
export function scratchDir(prefix = 'mcpbg-e2e-') {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

/** Read a pid file written by a job, once it holds a whole number. */
export async function readPidFile(file, { timeoutMs = 5000 } = {}) {
  return waitFor(
    () => {
      const text = fs.readFileSync(file, 'utf8');
      return /^\d+\n?$/.test(text) ? Number(text.trim()) : null;
    },
    { timeoutMs, what: `a pid in ${file}` },
  );
}
