// The policy tool shows the operator's settings read-only, so an agent can plan within them.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { withServer } from './lib/harness.mjs';

test('policy shows the defaults: open commands, secrets redacted and kept from jobs', withServer(
  async (srv) => {
    const policy = await srv.call('policy', {});
    assert.equal(policy.working_dir, srv.tmp);
    assert.deepEqual(policy.commands, {
      shell: true, allowed_commands: [], denied_commands: [], allowed_programs: [],
      allowed_roots: [srv.tmp],
    });
    assert.deepEqual(policy.confinement, { sandbox: 'none', network: true });
    assert.equal(policy.limits.memory_bytes, null);
    assert.equal(policy.limits.processes, null);
    assert.equal(policy.environment.env_policy, 'inherit');
    assert.ok(policy.environment.env_exclude.includes('*TOKEN*'));
    assert.deepEqual(policy.scheduling,
      { max_jobs: 10, queue: true, max_queued: 100, max_starts_per_minute: null });
    assert.equal(policy.output.redact, true);
    assert.equal(policy.output.audit_log, false);
    const tool = (await srv.client.listTools()).tools.find((t) => t.name === 'policy');
    assert.equal(tool.annotations.readOnlyHint, true);
  },
));

test('policy reflects the operator\'s settings', withServer(
  {
    env: {
      MCP_BG_SHELL: 'false',
      MCP_BG_ALLOWED_PROGRAMS: 'git,make',
      MCP_BG_DENIED_COMMANDS: 'rm\\s+-rf',
      MCP_BG_MAX_MEMORY: '256M',
      MCP_BG_MAX_PROCESSES: '64',
      MCP_BG_MAX_CPU_TIME: '90s',
      MCP_BG_ENV_POLICY: 'minimal',
      MCP_BG_MAX_STARTS_PER_MINUTE: '30',
      MCP_BG_REDACT: 'false',
    },
  },
  async (srv) => {
    const policy = await srv.call('policy', {});
    assert.equal(policy.commands.shell, false);
    assert.deepEqual(policy.commands.allowed_programs, ['git', 'make']);
    assert.deepEqual(policy.commands.denied_commands, ['rm\\s+-rf']);
    assert.equal(policy.limits.memory_bytes, 256 * 1024 * 1024);
    assert.equal(policy.limits.processes, 64);
    assert.equal(policy.limits.cpu_seconds, 90);
    assert.equal(policy.environment.env_policy, 'minimal');
    assert.equal(policy.scheduling.max_starts_per_minute, 30);
    assert.equal(policy.output.redact, false);
  },
));
