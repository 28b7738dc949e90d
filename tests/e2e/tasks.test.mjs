// MCP tasks (2025-11-25, experimental) through the official TypeScript SDK's task API
// (client.experimental.tasks): execute started as a task, polled, its result fetched, cancelled,
// listed; the same job seen through the job tools; over stdio and over HTTP (who sees whose task).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CallToolResultSchema, TaskStatusNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

import { UUID_V4, waitFor, withServer } from './lib/harness.mjs';
import { connectClient, structured, withHttpServer } from './lib/http.mjs';

const RELATED_TASK = 'io.modelcontextprotocol/related-task';

/** Starts `arguments` of execute as a task and returns the created task (stops polling there). */
async function startTask(client, args, ttl) {
  const stream = client.experimental.tasks.callToolStream(
    { name: 'execute', arguments: args }, undefined, { task: ttl === undefined ? {} : { ttl } });
  for await (const message of stream) {
    if (message.type === 'taskCreated') return message.task;
    throw new Error(`expected taskCreated first, got ${JSON.stringify(message)}`);
  }
  throw new Error('the stream ended without a task');
}

test('execute runs as a task: created, polled, its result, the same job through status and list', withServer(async (srv) => {
  const execute = srv.tools.find((tool) => tool.name === 'execute');
  assert.deepEqual(execute.execution, { taskSupport: 'optional' });
  assert.equal(srv.tools.find((tool) => tool.name === 'status').execution, undefined);

  const messages = [];
  const stream = srv.client.experimental.tasks.callToolStream(
    { name: 'execute', arguments: { command: 'echo task-out; sleep 0.3' } }, undefined, { task: { ttl: 60000 } });
  for await (const message of stream) messages.push(message);
  const kinds = messages.map((m) => m.type);
  assert.equal(kinds[0], 'taskCreated', JSON.stringify(messages));
  assert.equal(kinds.at(-1), 'result', JSON.stringify(messages));
  const created = messages[0].task;
  assert.match(created.taskId, UUID_V4);
  assert.equal(created.status, 'working');
  assert.equal(created.ttl, 60000);
  assert.equal(created.pollInterval, 1000);
  const result = messages.at(-1).result;
  assert.equal(result.structuredContent.job_id, created.taskId);
  assert.equal(result.structuredContent.exit_code, 0);
  assert.equal(result.structuredContent.output, 'task-out\n');
  assert.deepEqual(result._meta[RELATED_TASK], { taskId: created.taskId });

  // One identity: the job tools see the task's job, the task methods the job.
  const status = await srv.call('status', { job_id: created.taskId });
  assert.equal(status.status, 'completed');
  const task = await srv.client.experimental.tasks.getTask(created.taskId);
  assert.equal(task.status, 'completed');
  assert.equal(task.statusMessage, 'exited with code 0');
  const { tasks } = await srv.client.experimental.tasks.listTasks();
  assert.ok(tasks.some((t) => t.taskId === created.taskId), JSON.stringify(tasks));

  // A job started without a task is a task too; a job that exits non-zero is a failed one, and
  // its result (what execute with wait_seconds gives) is an error result.
  const plain = await srv.call('execute', { command: 'echo oops; exit 4' });
  await waitFor(async () => (await srv.client.experimental.tasks.getTask(plain.job_id)).status === 'failed',
    { what: 'the plain job failed' });
  const failed = await srv.client.experimental.tasks.getTaskResult(plain.job_id, CallToolResultSchema);
  assert.equal(failed.isError, true);
  assert.equal(failed.structuredContent.exit_code, 4);
  assert.equal(failed.structuredContent.output, 'oops\n');
}));

test('tasks/cancel kills the job as kill does; cancelling it again is -32602', withServer(async (srv) => {
  const heard = [];
  srv.client.setNotificationHandler(TaskStatusNotificationSchema, (n) => heard.push(n.params));
  const task = await startTask(srv.client, { command: 'sleep 60' });
  const cancelled = await srv.client.experimental.tasks.cancelTask(task.taskId);
  assert.equal(cancelled.status, 'cancelled');
  await waitFor(async () => (await srv.call('status', { job_id: task.taskId })).status === 'killed',
    { what: 'the job killed' });
  // The session that created the task hears of its end.
  await waitFor(() => heard.some((t) => t.taskId === task.taskId && t.status === 'cancelled'),
    { what: 'notifications/tasks/status for the cancelled task' });
  await assert.rejects(srv.client.experimental.tasks.cancelTask(task.taskId),
    (error) => error.code === -32602 && /already cancelled/.test(error.message));
  await assert.rejects(srv.client.experimental.tasks.getTask('not-a-task'),
    (error) => error.code === -32602 && /not a job id/.test(error.message));
  // Only execute may run as a task.
  await assert.rejects(
    srv.client.request({ method: 'tools/call', params: { name: 'list', arguments: {}, task: {} } },
      CallToolResultSchema),
    (error) => error.code === -32601);
}));

test('a refused execute is a failed task whose result is the error', withServer(async (srv) => {
  const task = await startTask(srv.client, { command: 'true', cwd: '/definitely/not/here' });
  assert.equal(task.status, 'failed');
  assert.match(task.statusMessage, /not\/here|cwd/);
  const result = await srv.client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
  assert.equal(result.isError, true);
  assert.deepEqual(result._meta[RELATED_TASK], { taskId: task.taskId });
}));

test('cancelling a tasks/result request ends the wait, not the job', withServer(async (srv) => {
  const task = await startTask(srv.client, { command: 'sleep 60' });
  const controller = new AbortController();
  const pending = srv.client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema, { signal: controller.signal });
  // The request is in flight (the server holds it until the job ends); withdraw it.
  await waitFor(async () => (await srv.call('status', { job_id: task.taskId })).status === 'running',
    { what: 'the job running' });
  controller.abort('enough');
  await assert.rejects(pending);
  const after = await srv.client.experimental.tasks.getTask(task.taskId);
  assert.equal(after.status, 'working');
  await srv.client.experimental.tasks.cancelTask(task.taskId);
}));

test('over HTTP: any session may read or cancel a task by its id; tasks/list shows a session its own', withHttpServer(async (srv) => {
  const a = await connectClient(srv.url);
  const b = await connectClient(srv.url);
  try {
    const task = await startTask(a.client, { command: 'sleep 60' }, 30000);
    const seen = await b.client.experimental.tasks.getTask(task.taskId);
    assert.equal(seen.status, 'working');
    assert.ok((await a.client.experimental.tasks.listTasks()).tasks.some((t) => t.taskId === task.taskId));
    assert.ok(!(await b.client.experimental.tasks.listTasks()).tasks.some((t) => t.taskId === task.taskId));
    // The same job through the job tools of the other session.
    const status = structured(await b.client.callTool({ name: 'status', arguments: { job_id: task.taskId } }));
    assert.equal(status.status, 'running');
    const cancelled = await b.client.experimental.tasks.cancelTask(task.taskId);
    assert.equal(cancelled.status, 'cancelled');
    const result = await a.client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    assert.equal(result.structuredContent.status, 'killed');
    assert.deepEqual(result._meta[RELATED_TASK], { taskId: task.taskId });
  } finally {
    await a.client.close();
    await b.client.close();
  }
}));
