// The 2026-07-28 era with the official v2 client (@modelcontextprotocol/client): server/discover,
// no handshake, per-request _meta, resultType "complete". Pinned and auto-negotiated.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

import { TOOL_NAMES, serverBinary, serverEnvironment } from './lib/harness.mjs';

async function connect(mode) {
  const transport = new StdioClientTransport({
    command: serverBinary(),
    args: [],
    env: serverEnvironment(),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'mcpbg-e2e-v2', version: '1.0.0' },
                            { capabilities: {}, versionNegotiation: { mode } });
  await client.connect(transport);
  return client;
}

for (const [label, mode] of [['pinned', { pin: '2026-07-28' }], ['auto', 'auto']]) {
  test(`v2 client (${label}) negotiates 2026-07-28 and runs a job end to end`, async () => {
    const client = await connect(mode);
    try {
      assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());

      const started = await client.callTool({ name: 'execute', arguments: { command: 'echo modern', wait_seconds: 10 } });
      assert.equal(started.isError, undefined);
      assert.equal(started.structuredContent.status, 'completed');
      assert.equal(started.structuredContent.output, 'modern\n');

      const failed = await client.callTool({ name: 'status', arguments: { job_id: 'not-a-uuid' } });
      assert.equal(failed.isError, true);
      assert.match(failed.content[0].text, /not a job id/);
    } finally {
      await client.close();
    }
  });
}
