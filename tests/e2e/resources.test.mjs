// Jobs as MCP resources, subscriptions and log messages, through the official SDK client:
// listResources / listResourceTemplates / readResource, subscribeResource with
// notifications/resources/updated (on job end, throttled while output grows), setLoggingLevel and
// notifications/message when a job ends, notifications/resources/list_changed.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  EmptyResultSchema,
  LoggingMessageNotificationSchema,
  McpError,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

import { UNKNOWN_ID, child, withServer } from './lib/harness.mjs';

// Prints "tick 0" .. "tick 49", one every 50 ms: about 2.5 s of growing output.
const TICKER = 'i=0; while [ $i -lt 50 ]; do echo tick $i; i=$((i+1)); sleep 0.05; done';

function collectUpdates(srv) {
  const updates = [];
  srv.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
    updates.push({ uri: notification.params.uri, at: Date.now() });
  });
  return updates;
}

function collectLogMessages(srv) {
  const messages = [];
  srv.client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    messages.push(notification.params);
  });
  return messages;
}

test('the server declares resources (with subscribe and listChanged) and logging', withServer(async (srv) => {
  const capabilities = srv.client.getServerCapabilities();
  assert.deepEqual(capabilities.resources, { subscribe: true, listChanged: true });
  assert.deepEqual(capabilities.logging, {});
}));

test('resources/list shows both URIs of every job; read returns status JSON and output text', withServer(async (srv) => {
  const done = await srv.run({ command: "printf 'alpha\\nbeta\\n'", label: 'printer' });
  const running = await srv.call('execute', { argv: child('sleep', 60_000) });

  const { resources } = await srv.client.listResources();
  const uris = resources.map((r) => r.uri);
  assert.deepEqual(uris, [
    `job://${running.job_id}`,
    `job://${running.job_id}/output`,
    `job://${done.job_id}`,
    `job://${done.job_id}/output`,
  ]);
  const status = resources.find((r) => r.uri === `job://${done.job_id}`);
  assert.equal(status.name, 'printer');
  assert.equal(status.mimeType, 'application/json');
  assert.match(status.description, /completed with exit 0/);
  assert.equal(resources.find((r) => r.uri === `job://${done.job_id}/output`).mimeType, 'text/plain');
  assert.match(resources.find((r) => r.uri === `job://${running.job_id}`).description, /running since/);

  const read = await srv.client.readResource({ uri: `job://${done.job_id}` });
  assert.equal(read.contents.length, 1);
  assert.equal(read.contents[0].uri, `job://${done.job_id}`);
  assert.equal(read.contents[0].mimeType, 'application/json');
  assert.deepEqual(JSON.parse(read.contents[0].text), await srv.call('status', { job_id: done.job_id }));

  const output = await srv.client.readResource({ uri: `job://${done.job_id}/output` });
  assert.equal(output.contents[0].mimeType, 'text/plain');
  assert.equal(output.contents[0].text, 'alpha\nbeta\n');

  const { resourceTemplates } = await srv.client.listResourceTemplates();
  assert.deepEqual(
    resourceTemplates.map((t) => [t.uriTemplate, t.mimeType]),
    [
      ['job://{job_id}', 'application/json'],
      ['job://{job_id}/output', 'text/plain'],
    ],
  );
}));

test('the output resource marks dropped bytes and is bounded by max_read_bytes', withServer(
  { args: ['--max-output-size', '4KiB', '--max-read-bytes', '2KiB'] },
  async (srv) => {
    const done = await srv.run({ argv: child('spew', 20_000) });
    assert.ok(done.dropped_bytes > 0, JSON.stringify(done));
    const { contents } = await srv.client.readResource({ uri: `job://${done.job_id}/output` });
    const text = contents[0].text;
    // Kept: 1 KiB head + 3 KiB tail; shown: the last 2 KiB, with a first line saying so.
    assert.match(text, /^\[\.\.\. 17952 earlier bytes not shown: .*last 2048 bytes \(max_read_bytes\)/);
    assert.equal(Buffer.byteLength(text.slice(text.indexOf('\n') + 1)), 2048);
  },
));

test('unknown jobs and malformed URIs are "Resource not found" (-32002) with data.uri', withServer(async (srv) => {
  for (const uri of [`job://${UNKNOWN_ID}`, `job://${UNKNOWN_ID}/output`, 'job://not-a-job', 'file:///etc/passwd']) {
    for (const attempt of [() => srv.client.readResource({ uri }), () => srv.client.subscribeResource({ uri })]) {
      await assert.rejects(attempt(), (error) => {
        assert.ok(error instanceof McpError, `not an McpError: ${error}`);
        assert.equal(error.code, -32002);
        assert.deepEqual(error.data, { uri });
        assert.match(error.message, /Resource not found/);
        return true;
      });
    }
  }
}));

test('a subscriber hears when the job ends (both URIs), and nothing for other jobs', withServer(async (srv) => {
  const updates = collectUpdates(srv);
  const watched = await srv.call('execute', { argv: child('sleep', 60_000) });
  const other = await srv.call('execute', { argv: child('sleep', 60_000) });
  await srv.client.subscribeResource({ uri: `job://${watched.job_id}` });
  await srv.client.subscribeResource({ uri: `job://${watched.job_id}/output` });
  await srv.client.subscribeResource({ uri: `job://${other.job_id}` });
  await srv.client.unsubscribeResource({ uri: `job://${other.job_id}` });
  assert.deepEqual(updates, []);

  await srv.call('kill', { job_id: other.job_id });
  await srv.waitForEnd(other.job_id);
  await srv.call('kill', { job_id: watched.job_id });
  const expected = [`job://${watched.job_id}`, `job://${watched.job_id}/output`];
  await srv.waitFor(() => expected.every((uri) => updates.some((u) => u.uri === uri)), {
    timeoutMs: 10_000,
    what: 'updated notifications for both URIs of the killed job',
  });
  // Notifications leave before the responses that follow them: a status call now proves that
  // nothing else was sent for the unsubscribed job.
  assert.equal((await srv.waitForEnd(watched.job_id)).status, 'killed');
  assert.deepEqual(updates.map((u) => u.uri).sort(), expected.sort());
}));

test('output updates come at most once a second while the output grows', withServer(async (srv) => {
  const updates = collectUpdates(srv);
  const job = await srv.call('execute', { command: TICKER });
  const uri = `job://${job.job_id}/output`;
  await srv.client.subscribeResource({ uri });
  await srv.waitFor(() => updates.length >= 1, { timeoutMs: 5000, what: 'a first output update' });
  // The job is still printing: this update came while it ran.
  assert.equal((await srv.call('status', { job_id: job.job_id })).status, 'running');

  const status = await srv.waitForEnd(job.job_id, { timeoutMs: 15_000 });
  assert.equal(status.status, 'completed');
  await srv.waitFor(() => updates.length >= 2, { what: 'the update sent when the job ended' });
  assert.ok(updates.every((u) => u.uri === uri), JSON.stringify(updates));
  assert.ok(updates.length <= 4, `${updates.length} updates: ${JSON.stringify(updates)}`);
  // While it ran, updates were at least a second apart (the one at the end is never held back).
  const ended = Date.parse(status.ended);
  const whileRunning = updates.filter((u) => u.at < ended);
  for (let i = 1; i < whileRunning.length; i++) {
    assert.ok(whileRunning[i].at - whileRunning[i - 1].at >= 900, JSON.stringify(updates));
  }
  const { contents } = await srv.client.readResource({ uri });
  assert.match(contents[0].text, /tick 49\n$/);
}));

test('job ends become log messages, filtered by setLoggingLevel', withServer(async (srv) => {
  const messages = collectLogMessages(srv);
  const ok = await srv.run({ command: 'true', label: 'quick' });
  await srv.waitFor(() => messages.some((m) => m.data.includes(ok.job_id)), {
    what: 'a log message for the completed job',
  });
  const message = messages.find((m) => m.data.includes(ok.job_id));
  assert.equal(message.level, 'info');
  assert.equal(message.logger, 'mcp-background-job');
  assert.match(message.data, new RegExp(`^job ${ok.job_id} \\(quick\\) \`true\` completed with exit 0 after \\d+\\.\\d s$`));

  await srv.client.setLoggingLevel('error');
  // The message for a job's end is sent before the status call that sees it ended is answered.
  const silenced = await srv.run({ command: 'exit 3' });
  assert.equal(silenced.status, 'failed');
  assert.ok(!messages.some((m) => m.data.includes(silenced.job_id)), JSON.stringify(messages));

  await srv.client.setLoggingLevel('warning');
  const quietSuccess = await srv.run({ command: 'true' });
  const failure = await srv.run({ command: 'exit 4' });
  await srv.waitFor(() => messages.some((m) => m.data.includes(failure.job_id)), {
    what: 'a log message for the failed job',
  });
  assert.equal(messages.find((m) => m.data.includes(failure.job_id)).level, 'warning');
  assert.match(messages.find((m) => m.data.includes(failure.job_id)).data, /`exit 4` failed with exit 4 after/);
  assert.ok(!messages.some((m) => m.data.includes(quietSuccess.job_id)));

  // Sent raw: the SDK's setLoggingLevel is typed to the valid names.
  await assert.rejects(
    srv.client.request({ method: 'logging/setLevel', params: { level: 'loud' } }, EmptyResultSchema),
    (error) => {
      assert.ok(error instanceof McpError, `not an McpError: ${error}`);
      assert.equal(error.code, -32602);
      return true;
    },
  );
}));

test('list_changed follows resources/list: sent when a job starts', withServer(async (srv) => {
  let changes = 0;
  srv.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
    changes += 1;
  });
  await srv.run({ command: 'true' });
  // Not listed yet: not told. (The status calls inside run() came after the job started.)
  assert.equal(changes, 0);
  await srv.client.listResources();
  const job = await srv.call('execute', { command: 'true' });
  await srv.waitFor(() => changes >= 1, { what: 'notifications/resources/list_changed' });
  const { resources } = await srv.client.listResources();
  assert.equal(resources[0].uri, `job://${job.job_id}`);
}));
