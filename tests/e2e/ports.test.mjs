// The TCP ports a job listens on: in status, list and the job resource (job://ID), and `wait {until_port}`
// returning when the job listens (on IPv4 and IPv6, from a child or from what the job left
// running), or at once when the job ends first. Real listeners: python3's http.server and
// sockets, on ports the kernel picks.

import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';

import { waitFor, withServer } from './lib/harness.mjs';

// A listener that prints the time it started listening (seconds since the epoch), then sleeps.
function listener(host, { delay = 0 } = {}) {
  const family = host.includes(':') ? 'socket.AF_INET6' : 'socket.AF_INET';
  return `python3 -c "import socket,time; time.sleep(${delay}); s=socket.socket(${family}); `
    + `s.bind(('${host}',0)); s.listen(); print(time.time(), flush=True); time.sleep(100)"`;
}

async function ipv6Available() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

test('wait until_port: true returns when http.server listens, and status and list show the port', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', {
    command: 'python3 -m http.server 0 --bind 127.0.0.1',
  });
  try {
    const waited = await srv.call('wait', { job_id, until_port: true, timeout_seconds: 20 });
    assert.equal(waited.reason, 'listening');
    assert.equal(waited.status, 'running');
    assert.equal(waited.port.address, '127.0.0.1');
    assert.ok(waited.port.port > 0 && waited.port.port < 65536, `a port: ${waited.port.port}`);

    const status = await srv.call('status', { job_id });
    assert.deepEqual(status.ports, [{ port: waited.port.port, address: '127.0.0.1' }]);
    const { jobs } = await srv.call('list', {});
    assert.deepEqual(jobs.find((row) => row.job_id === job_id).ports, status.ports);
    // The job resource is the status JSON: the same ports.
    const read = await srv.client.readResource({ uri: `job://${job_id}` });
    assert.deepEqual(JSON.parse(read.contents[0].text).ports, status.ports);

    // Waiting for that very port returns at once; for another one, on the timeout.
    const same = await srv.call('wait', { job_id, until_port: waited.port.port, timeout_seconds: 5 });
    assert.equal(same.reason, 'listening');
    assert.deepEqual(same.port, waited.port);
    const other = waited.port.port === 65535 ? 65534 : waited.port.port + 1;
    const none = await srv.call('wait', { job_id, until_port: other, timeout_seconds: 0.3 });
    assert.equal(none.reason, 'timeout');
    assert.equal(none.port, undefined);
  } finally {
    await srv.call('kill', { job_id, signal: 'KILL' });
  }
  let after;
  await waitFor(async () => (after = await srv.call('status', { job_id })).status === 'killed', { what: 'the job killed' });
  assert.equal(after.ports, undefined, 'a finished job lists no ports');
}));

test('the port is seen within a second of listening, from a child of the job', withServer(async (srv) => {
  // The shell stays the main process (`; true`), python is its child.
  const { job_id } = await srv.call('execute', { command: `${listener('127.0.0.1', { delay: 0.5 })}; true` });
  try {
    const waited = await srv.call('wait', { job_id, until_port: true, timeout_seconds: 20 });
    const seenAt = Date.now() / 1000;
    assert.equal(waited.reason, 'listening');
    const listenedAt = Number(waited.output.trim() || (await srv.call('output', { job_id, offset: 0 })).output.trim());
    assert.ok(Number.isFinite(listenedAt), `the listener printed its time: ${waited.output}`);
    assert.ok(seenAt - listenedAt < 1, `seen ${(seenAt - listenedAt).toFixed(3)} s after it listened`);
    const status = await srv.call('status', { job_id });
    assert.deepEqual(status.ports, [waited.port]);
  } finally {
    await srv.call('kill', { job_id, signal: 'KILL' });
  }
}));

test('an IPv6 listener shows its address as ::1', withServer(async (srv, t) => {
  if (!(await ipv6Available())) {
    t.skip('no IPv6 loopback on this machine');
    return;
  }
  const { job_id } = await srv.call('execute', { command: 'python3 -m http.server 0 --bind ::1' });
  try {
    const waited = await srv.call('wait', { job_id, until_port: true, timeout_seconds: 20 });
    assert.equal(waited.reason, 'listening');
    assert.equal(waited.port.address, '::1');
    const status = await srv.call('status', { job_id });
    assert.deepEqual(status.ports, [waited.port]);
  } finally {
    await srv.call('kill', { job_id, signal: 'KILL' });
  }
}));

test('a server the job left running still counts: wait goes on after the main process exits', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', {
    command: `(sleep 0.3; exec ${listener('127.0.0.1')}) >/dev/null 2>&1 </dev/null & exit 0`,
  });
  try {
    const waited = await srv.call('wait', { job_id, until_port: true, timeout_seconds: 20 });
    assert.equal(waited.reason, 'listening');
    assert.equal(waited.status, 'completed', 'the main process exited at once');
    const status = await srv.call('status', { job_id });
    assert.equal(status.processes_left, 1);
    assert.deepEqual(status.ports, [waited.port]);
  } finally {
    await srv.call('kill', { job_id, signal: 'KILL' });
  }
}));

test('wait until_port returns at once when the job ends without listening', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { command: 'sleep 0.2; echo no server; exit 2' });
  const waited = await srv.call('wait', { job_id, until_port: true, timeout_seconds: 20 });
  assert.equal(waited.reason, 'exited');
  assert.equal(waited.status, 'failed');
  assert.equal(waited.exit_code, 2);
  assert.equal(waited.port, undefined);
  assert.ok(waited.elapsed_seconds < 5, `returned at the exit: ${waited.elapsed_seconds} s`);
}));

test('a bad until_port is a tool error saying what to pass', withServer(async (srv) => {
  const { job_id } = await srv.call('execute', { command: 'sleep 100' });
  try {
    for (const [bad, expected] of [
      [0, /until_port.*from 1 to 65535.*true for any port \(got 0\)/],
      [70000, /until_port.*from 1 to 65535.*\(got 70000\)/],
      ['8080', /until_port.*from 1 to 65535.*\(got "8080"\)/],
      [80.5, /until_port.*whole number.*\(got 80.5\)/],
      [false, /until_port.*true for any port \(got false\)/],
      [null, /until_port.*\(got null\)/],
    ]) {
      const text = await srv.callError('wait', { job_id, until_port: bad });
      assert.match(text, expected, `until_port ${JSON.stringify(bad)}: ${text}`);
    }
  } finally {
    await srv.call('kill', { job_id, signal: 'KILL' });
  }
}));
