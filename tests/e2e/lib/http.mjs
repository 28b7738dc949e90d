// What the HTTP end-to-end tests share: a server on a free loopback port, the SDK v1 client over
// StreamableHTTPClientTransport, and raw requests for what a client library would never send.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { serverBinary, serverEnvironment } from './harness.mjs';

export const ADDRESS_LINE = /serving MCP at (http:\/\/\S+\/mcp)/;
export const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/**
 * Starts the server on a free port (loopback unless `address` says otherwise, e.g. 0.0.0.0:0);
 * `env` is added to its environment. Resolves to { url, base, proc, stderr() }.
 */
export function startHttpServer(args = [], { address = '127.0.0.1:0', env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(serverBinary(), ['--http', address, ...args], {
      env: serverEnvironment(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the server printed no address within 10 s; stderr: ${stderr}`));
    }, 10_000);
    proc.stdout.on('data', (chunk) => (stdout += chunk));
    proc.stderr.on('data', (chunk) => {
      stderr += chunk;
      const found = ADDRESS_LINE.exec(stderr);
      if (found && timer) {
        clearTimeout(timer);
        const url = new URL(found[1]);
        resolve({
          url,
          base: `${url.protocol}//${url.host}`,
          proc,
          stderr: () => stderr,
          stdout: () => stdout,
          /** Sends SIGTERM once and resolves to how the server exited ({ code, signal }). */
          terminate() {
            const exited = new Promise((done) => proc.on('close', (code, signal) => done({ code, signal })));
            proc.kill('SIGTERM');
            return exited;
          },
          async stop() {
            if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
            const closed = new Promise((done) => proc.on('close', (code) => done(code)));
            proc.kill('SIGTERM');
            return closed;
          },
        });
      }
    });
    proc.on('error', reject);
    proc.on('close', (code) => reject(new Error(`the server exited (${code}) before serving; stderr: ${stderr}`)));
  });
}

export function withHttpServer(fn, args = [], options = {}) {
  return async () => {
    const srv = await startHttpServer(args, options);
    try {
      await fn(srv);
    } catch (error) {
      error.message += `\n--- server stderr ---\n${srv.stderr()}`;
      throw error;
    } finally {
      const code = await srv.stop();
      assert.equal(code, 0, `the server exits 0 on SIGTERM; stderr:\n${srv.stderr()}`);
    }
  };
}

/** The SDK v1 client over Streamable HTTP; `headers` go on every request (e.g. Authorization). */
export async function connectClient(url, { headers } = {}) {
  const client = new Client({ name: 'e2e-http', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(url, headers ? { requestInit: { headers } } : undefined);
  await client.connect(transport);
  return { client, transport };
}

export function structured(result) {
  assert.notEqual(result.isError, true, JSON.stringify(result));
  return result.structuredContent;
}

export const initializeBody = (id = 1) => JSON.stringify({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
});

/** initialize over raw fetch; returns the session id. */
export async function rawSession(srv) {
  const response = await fetch(srv.url, { method: 'POST', headers: JSON_HEADERS, body: initializeBody() });
  assert.equal(response.status, 200);
  const session = response.headers.get('mcp-session-id');
  assert.match(session, /^[0-9a-f]{32}$/);
  const body = await response.json();
  assert.equal(body.result.protocolVersion, '2025-11-25');
  return session;
}

/** A raw HTTP request with full control over Host (fetch does not let us set it). */
export function rawRequest(srv, { method = 'GET', path = '/healthz', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: srv.url.hostname, port: srv.url.port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * The JSON-RPC messages of an SSE response, as they arrive (an async iterator). Comment lines
 * (keep-alives) are skipped; the iterator ends with the stream.
 */
export async function* sseMessages(response) {
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const decoder = new TextDecoder();
  let pending = '';
  for await (const chunk of response.body) {
    pending += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const event = pending.slice(0, end);
      pending = pending.slice(end + 2);
      const data = event.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim());
      if (data.length > 0) yield JSON.parse(data.join('\n'));
    }
  }
}

/** The headers a 2026-07-28 request carries: the protocol version, method and name mirrored from the body. */
export function modernHeaders(body, extra = {}) {
  const headers = {
    ...JSON_HEADERS,
    'mcp-protocol-version': '2026-07-28',
    'mcp-method': body.method,
  };
  const name = body.method === 'resources/read' ? body.params?.uri : body.params?.name;
  if (name !== undefined && ['tools/call', 'resources/read', 'prompts/get'].includes(body.method)) headers['mcp-name'] = name;
  return { ...headers, ...extra };
}

/** A 2026-07-28 request body: `params` with the per-request _meta envelope. */
export function modernRequest(id, method, params = {}, meta = {}) {
  return {
    jsonrpc: '2.0',
    id,
    method,
    params: {
      ...params,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientCapabilities': {},
        'io.modelcontextprotocol/clientInfo': { name: 'raw-modern', version: '0' },
        ...meta,
      },
    },
  };
}
