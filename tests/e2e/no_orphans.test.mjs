// No job outlives the server, even when the server is killed with SIGKILL and gets no chance to
// shut down: its watchdog stops every job's process group, grandchildren included.

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { child, processAlive, readPidFile, startServer, waitFor } from './lib/harness.mjs';

test('SIGKILL of the server leaves no job process behind, grandchildren included', async () => {
  const srv = await startServer();
  const pidFile = path.join(srv.tmp, 'grandchild.pid');
  const stubborn = await srv.call('execute', { argv: child('ignore-term') });
  const parent = await srv.call('execute', { argv: child('grandchild', pidFile) });
  const shell = await srv.call('execute', { command: 'sleep 1000 & sleep 1000 & wait' });
  const grandchild = await readPidFile(pidFile);
  await waitFor(async () => (await srv.call('status', { job_id: stubborn.job_id })).output_bytes === 6,
                { what: 'the TERM-ignoring job to be ready' });

  process.kill(srv.pid, 'SIGKILL');
  const killedAt = Date.now();
  const pids = [stubborn.pid, parent.pid, grandchild, shell.pid];
  await waitFor(() => pids.every((pid) => !processAlive(pid)),
                { timeoutMs: 4000, what: `every job process (${pids.join(', ')}) to be gone` });
  assert.ok(Date.now() - killedAt < 3000, 'gone within a second or two');
  await srv.close().catch(() => {});
});
