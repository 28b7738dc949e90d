// What leaves the server: secrets in job output and command lines come back as [REDACTED] from
// every tool and resource (offsets still count the job's raw bytes), unless the operator turns
// redaction off; and the audit log records state-changing calls, refusals and job ends, with
// the client's name and with secrets in commands redacted there too.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

import {
  child, runBinary, scratchDir, serverBinary, serverEnvironment, waitFor, withServer,
} from './lib/harness.mjs';

// Fake secrets in real shapes (the AWS key id is the one AWS's documentation uses).
const GITHUB_TOKEN = 'ghp_0123456789abcdefghijABCDEFGHIJklmnopqr';
const AWS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const PEM = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
  'VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK',
  'kC1FKmDHR5CqZ0sqbGHt3mr2XD5LtbHHPy+6SdEOzTwN3hDmtGoQdDnGl8VpTvMd',
  '-----END RSA PRIVATE KEY-----',
].join('\n');
const SECRET_TEXT =
  'build step 1\n' +
  `using ${GITHUB_TOKEN} for the API\n` +
  `aws ${AWS_KEY_ID} ok\n` +
  `${PEM}\n` +
  'done: ünïcode stays\n';
const REDACTED_TEXT =
  'build step 1\n' +
  'using [REDACTED] for the API\n' +
  'aws [REDACTED] ok\n' +
  '[REDACTED]\n' +
  'done: ünïcode stays\n';
const RAW_BYTES = Buffer.byteLength(SECRET_TEXT);
// Pieces of the secrets that must never appear in anything the client receives.
const LEAKS = [GITHUB_TOKEN.slice(4, 16), GITHUB_TOKEN.slice(-12), AWS_KEY_ID.slice(4), 'MIIEowIBAAKC', 'kC1FKmDHR5Cq'];

function assertNoLeak(text, where) {
  for (const piece of LEAKS) assert.ok(!text.includes(piece), `${where} leaks '${piece}': ${text}`);
}

/** A finished job that printed SECRET_TEXT (cat of a file, so the command line holds no secret). */
async function secretJob(srv, extra = {}) {
  const file = path.join(srv.tmp, 'secrets.txt');
  fs.writeFileSync(file, SECRET_TEXT);
  const started = await srv.call('execute', { argv: ['cat', file], wait_seconds: 10, ...extra });
  assert.equal(started.status, 'completed');
  return started;
}

describe('redaction (on by default)', () => {
  test('execute(wait_seconds), output, tail, wait and resources return [REDACTED]; offsets count raw bytes', withServer(async (srv) => {
    const started = await secretJob(srv);
    assert.equal(started.output, REDACTED_TEXT);
    assert.equal(started.offset, 0);
    assert.equal(started.next_offset, RAW_BYTES);
    const id = started.job_id;

    const whole = await srv.call('output', { job_id: id });
    assert.equal(whole.output, REDACTED_TEXT);
    assert.equal(whole.next_offset, RAW_BYTES);
    assert.equal(whole.total_bytes, RAW_BYTES);

    // A page that starts and ends inside the token: only a marker, never a piece of it.
    const tokenAt = Buffer.byteLength(SECRET_TEXT.slice(0, SECRET_TEXT.indexOf(GITHUB_TOKEN)));
    const inside = await srv.call('output', { job_id: id, offset: tokenAt + 10, max_bytes: 20 });
    assert.equal(inside.output, '[REDACTED]');
    assert.equal(inside.offset, tokenAt + 10);
    assert.equal(inside.next_offset, tokenAt + 30);

    // Paging in small steps: the offsets add up to the raw size, and no page leaks a piece.
    let offset = 0;
    let pages = 0;
    for (;;) {
      const page = await srv.call('output', { job_id: id, offset, max_bytes: 16 });
      assertNoLeak(page.output, `page at ${offset}`);
      assert.ok(page.next_offset > offset || !page.truncated);
      offset = page.next_offset;
      pages += 1;
      if (!page.truncated) break;
    }
    assert.equal(offset, RAW_BYTES);
    assert.ok(pages > 10);

    // tail: the last three lines begin inside the key block.
    const tail = await srv.call('tail', { job_id: id, lines: 3 });
    assert.equal(tail.output, '[REDACTED]\ndone: ünïcode stays\n');
    assert.equal(tail.next_offset, RAW_BYTES);

    // grep sees what the client sees: the redacted text. It cannot probe for a secret, and the
    // lines it returns are redacted, at their raw offsets.
    const probe = await srv.call('tail', { job_id: id, grep: 'ghp_|AKIA|MIIE' });
    assert.equal(probe.lines, 0);
    assert.equal(probe.output, '');
    const grep = await srv.call('output', { job_id: id, grep: '^aws', context: 1 });
    assert.equal(grep.output, 'using [REDACTED] for the API\naws [REDACTED] ok\n[REDACTED]\n');
    const awsAt = Buffer.byteLength(SECRET_TEXT.slice(0, SECRET_TEXT.indexOf('aws ')));
    assert.deepEqual(grep.matches, [{ offset: awsAt, line: 'aws [REDACTED] ok' }]);
    const tailGrep = await srv.call('tail', { job_id: id, grep: 'using' });
    assert.deepEqual(tailGrep.matches, [{ offset: tokenAt - 6, line: 'using [REDACTED] for the API' }]);

    // wait: its output is redacted, and `until` matches redacted lines only.
    const waited = await srv.call('wait', { job_id: id, offset: 0 });
    assert.equal(waited.reason, 'exited');
    assert.equal(waited.output, REDACTED_TEXT);
    assert.equal(waited.next_offset, RAW_BYTES);
    const matched = await srv.call('wait', { job_id: id, offset: 0, until: '^aws' });
    assert.equal(matched.reason, 'matched');
    assert.deepEqual(matched.match, { line: 'aws [REDACTED] ok', offset: awsAt });
    const notMatched = await srv.call('wait', { job_id: id, offset: 0, until: AWS_KEY_ID, timeout_seconds: 1 });
    assert.notEqual(notMatched.reason, 'matched');

    // Resources: the output resource and the status resource.
    const resource = await srv.client.readResource({ uri: `job://${id}/output` });
    assert.equal(resource.contents[0].text, REDACTED_TEXT);
    const listed = await srv.client.listResources();
    assertNoLeak(JSON.stringify(listed), 'resources/list');
  }));

  test('a job that is still printing a key block: the part printed so far is redacted', withServer(async (srv) => {
    const [begin, ...rest] = PEM.split('\n');
    const body = rest.slice(0, 2).join('\n');
    const started = await srv.call('execute', { argv: ['cat'] });
    // The key arrives in two writes; after the first, its END has not been printed yet.
    const first = await srv.call('interact', { job_id: started.job_id, input: `${begin}\n${body}`, newline: true, wait_ms: 2000 });
    assert.equal(first.output, '[REDACTED]\n');
    assertNoLeak(first.output, 'interact');
    const partial = await srv.call('output', { job_id: started.job_id });
    assert.equal(partial.output, '[REDACTED]\n');
    assert.equal(partial.next_offset, Buffer.byteLength(`${begin}\n${body}\n`));
    const second = await srv.call('interact', { job_id: started.job_id, input: '-----END RSA PRIVATE KEY-----\nafter', eof: true, wait_ms: 2000 });
    assert.equal(second.output, '[REDACTED]\nafter\n');
    await srv.waitForEnd(started.job_id);
    const all = await srv.call('output', { job_id: started.job_id });
    assert.equal(all.output, '[REDACTED]\nafter\n');
  }));

  test('interact: what the job answers is redacted', withServer(async (srv) => {
    const started = await srv.call('execute', { argv: ['cat'] });
    const answer = await srv.call('interact', { job_id: started.job_id, input: 'password=hunter2', wait_ms: 2000 });
    assert.equal(answer.output, 'password=[REDACTED]\n');
    assert.equal(answer.next_offset - answer.offset, Buffer.byteLength('password=hunter2\n'));
    await srv.call('kill', { job_id: started.job_id });
  }));

  test('a secret in a command line is redacted in status, list and resources', withServer(async (srv) => {
    const command = `true --token ${GITHUB_TOKEN} ${AWS_KEY_ID}`;
    const started = await srv.call('execute', { command, label: `deploy ${GITHUB_TOKEN}`, wait_seconds: 10 });
    const status = await srv.call('status', { job_id: started.job_id });
    assert.equal(status.command, 'true --token [REDACTED] [REDACTED]');
    assert.equal(status.label, 'deploy [REDACTED]');
    const list = await srv.call('list');
    assertNoLeak(JSON.stringify(list), 'list');
    const resource = await srv.client.readResource({ uri: `job://${started.job_id}` });
    assertNoLeak(resource.contents[0].text, 'the status resource');
    assert.equal(JSON.parse(resource.contents[0].text).command, 'true --token [REDACTED] [REDACTED]');
  }));

  test('redact_patterns add the operator\'s own shapes', withServer({ args: ['--redact-patterns', 'acme-[0-9]{4}'] }, async (srv) => {
    const started = await srv.call('execute', { command: 'echo id acme-1234 and acme-12', wait_seconds: 10 });
    assert.equal(started.output, 'id [REDACTED] and acme-12\n');
    const policy = await srv.call('policy');
    assert.equal(policy.output.redact_patterns, 1, 'the policy tool counts them without showing them');
  }));
});

test('redact = false returns the raw output and command', withServer({ args: ['--redact', 'false'] }, async (srv) => {
  const started = await secretJob(srv);
  assert.equal(started.output, SECRET_TEXT);
  const output = await srv.call('output', { job_id: started.job_id });
  assert.equal(output.output, SECRET_TEXT);
  const tail = await srv.call('tail', { job_id: started.job_id, grep: 'ghp_' });
  assert.equal(tail.matches[0].line, `using ${GITHUB_TOKEN} for the API`);
  const resource = await srv.client.readResource({ uri: `job://${started.job_id}/output` });
  assert.equal(resource.contents[0].text, SECRET_TEXT);
  const echo = await srv.call('execute', { command: `true ${GITHUB_TOKEN}`, wait_seconds: 10 });
  assert.equal((await srv.call('status', { job_id: echo.job_id })).command, `true ${GITHUB_TOKEN}`);
}));

// ---------------------------------------------------------------------------------------------
describe('audit log', () => {
  function readAudit(file) {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line));
  }

  test('records execute, interact, kill, a denial and job ends, with the client, secrets redacted', async () => {
    const dir = scratchDir('mcpbg-audit-');
    const file = path.join(dir, 'audit.log');
    try {
      let ids;
      await withServer({ args: ['--audit-log', file, '--denied-commands', 'forbidden'] }, async (srv) => {
        const sleeper = await srv.call('execute', { command: 'sleep 30', label: 'sleeper', env: { API_TOKEN: 'env-secret-value' } });
        const secret = await srv.call('execute', { command: `true --token ${GITHUB_TOKEN}`, wait_seconds: 10 });
        assert.equal(secret.status, 'completed');
        const denied = await srv.callError('execute', { command: 'forbidden thing' });
        assert.match(denied, /denied_commands/);
        const cat = await srv.call('execute', { argv: ['cat'] });
        await srv.call('interact', { job_id: cat.job_id, input: 'password=hunter2', eof: true, wait_ms: 2000 });
        await srv.call('kill', { job_id: sleeper.job_id, grace_seconds: 1 });
        await srv.waitForStatus(sleeper.job_id, 'killed');
        await srv.waitForEnd(cat.job_id);
        // A read-only call is not recorded; a failed state-changing one is.
        await srv.call('list');
        await srv.callError('kill', { job_id: '3f2b8c1e-9d4a-4b6e-8f00-0123456789ab' });
        ids = { sleeper: sleeper.job_id, secret: secret.job_id, cat: cat.job_id };
        // The writer thread is asynchronous: the lines so far arrive without the server stopping.
        await waitFor(() => fs.existsSync(file) && readAudit(file).filter((r) => r.event === 'job_end').length >= 3,
                      { what: 'three job_end records in the audit log' });
      })();

      const records = readAudit(file);
      const text = fs.readFileSync(file, 'utf8');
      assert.ok(!text.includes(GITHUB_TOKEN.slice(4)), `the audit log leaks the token: ${text}`);
      assert.ok(!text.includes('hunter2'), 'interact input is never recorded');
      assert.ok(!text.includes('env-secret-value'), 'environment values are never recorded');
      for (const record of records) assert.match(record.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

      const calls = records.filter((r) => r.event === 'tool_call');
      assert.deepEqual(calls.map((r) => [r.tool, r.decision]), [
        ['execute', 'allowed'], ['execute', 'allowed'], ['execute', 'denied'], ['execute', 'allowed'],
        ['interact', 'allowed'], ['kill', 'allowed'], ['kill', 'failed'],
      ]);
      for (const call of calls) assert.equal(call.client, 'mcpbg-e2e');

      const [sleeperCall, secretCall, deniedCall, catCall, interactCall, killCall, failedKill] = calls;
      assert.equal(sleeperCall.job_id, ids.sleeper);
      assert.equal(sleeperCall.command, 'sleep 30');
      assert.equal(sleeperCall.label, 'sleeper');
      assert.deepEqual(sleeperCall.env_names, ['API_TOKEN']);
      assert.ok(path.isAbsolute(sleeperCall.cwd));
      assert.equal(typeof sleeperCall.pid, 'number');
      assert.equal(secretCall.command, 'true --token [REDACTED]');
      assert.equal(deniedCall.rule, 'denied_commands: forbidden');
      assert.equal(deniedCall.command, 'forbidden thing');
      assert.match(deniedCall.error, /denied_commands/);
      assert.equal(deniedCall.job_id, undefined);
      assert.deepEqual(catCall.argv, ['cat']);
      assert.equal(interactCall.job_id, ids.cat);
      assert.equal(interactCall.input_bytes, 'password=hunter2'.length);
      assert.equal(interactCall.eof, true);
      assert.equal(killCall.job_id, ids.sleeper);
      assert.equal(killCall.signal, 'TERM');
      assert.match(failedKill.error, /no such job/);

      const ends = Object.fromEntries(records.filter((r) => r.event === 'job_end').map((r) => [r.job_id, r]));
      assert.equal(ends[ids.secret].status, 'completed');
      assert.equal(ends[ids.secret].exit_code, 0);
      assert.equal(ends[ids.secret].command, 'true --token [REDACTED]');
      assert.equal(ends[ids.sleeper].status, 'killed');
      assert.equal(ends[ids.sleeper].signal, 'SIGTERM');
      assert.equal(ends[ids.sleeper].exit_code, null);
      assert.equal(typeof ends[ids.sleeper].duration_seconds, 'number');
      assert.equal(ends[ids.cat].status, 'completed');
      // The kill is recorded before the end it caused.
      const order = records.map((r) => `${r.event}:${r.tool ?? ''}:${r.job_id ?? ''}`);
      assert.ok(order.indexOf(`tool_call:kill:${ids.sleeper}`) < order.indexOf(`job_end::${ids.sleeper}`));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a job ended for its memory limit: the job_end record says why', async () => {
    const dir = scratchDir('mcpbg-audit-');
    const file = path.join(dir, 'audit.log');
    try {
      let id;
      await withServer({ args: ['--audit-log', file, '--max-memory', '100M'] }, async (srv) => {
        const job = await srv.call('execute', { argv: child('alloc', 600) });
        id = job.job_id;
        const waited = await srv.call('wait', { job_id: id, timeout_seconds: 30 }, { timeoutMs: 40_000 });
        assert.equal(waited.status, 'failed');
      })();
      const end = readAudit(file).find((r) => r.event === 'job_end' && r.job_id === id);
      assert.equal(end.status, 'failed');
      assert.equal(end.reason, 'memory_limit');
      assert.equal(end.signal, 'SIGKILL');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a 2026-07-28 client is named by the clientInfo it sends with each request', async () => {
    const dir = scratchDir('mcpbg-audit-');
    const file = path.join(dir, 'audit.log');
    const transport = new StdioClientTransport({
      command: serverBinary(),
      args: ['--audit-log', file],
      env: serverEnvironment(),
      stderr: 'pipe',
    });
    const client = new Client({ name: 'modern-agent', version: '2.0.0' },
                              { capabilities: {}, versionNegotiation: { mode: { pin: '2026-07-28' } } });
    try {
      await client.connect(transport);
      const started = await client.callTool({ name: 'execute', arguments: { command: 'true', wait_seconds: 10 } });
      assert.equal(started.structuredContent.status, 'completed');
      await client.close();
      const calls = fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line))
        .filter((r) => r.event === 'tool_call');
      assert.equal(calls.length, 1);
      assert.equal(calls[0].client, 'modern-agent');
    } finally {
      await client.close().catch(() => {});
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('start-up', () => {
  test('an audit_log that cannot be written stops start-up with exit 2', async () => {
    // sysfs refuses to create files, even for root (a read-only directory would not stop root).
    const result = await runBinary(['--audit-log', '/sys/mcpbg-audit.log']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^invalid audit_log: cannot open '\/sys\/mcpbg-audit\.log' for writing: \S/);
  });

  test('a redact pattern that does not compile stops start-up with exit 2, naming it', async () => {
    const result = await runBinary(['--redact-patterns', 'acme-(']);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /redact_patterns: 'acme-\(' is not a valid RE2 regular expression/);
  });
});
