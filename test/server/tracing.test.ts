/**
 * OpenTelemetry traces through the standard environment variables: `wasmvm-tee serve` with
 * OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local OTLP/HTTP collector (a plain HTTP server here)
 * exports one server span per RPC, continuing the caller's W3C traceparent, with queue / execute /
 * attest children and no guest data; without OTEL_* nothing is exported.
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tracingRequested } from '../../src/server/tracing.ts';
import { SimulatedSevSnpProvider } from '../../src/tee/index.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/wasmvm-tee.js');
const wasm = readFileSync(join(root, 'test/server/fixtures/arith.wasm'));

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

describe('OpenTelemetry traces (OTLP/HTTP, standard env vars)', () => {
  let dir: string;
  let collector: Server;
  const bodies: string[] = [];
  let child: ChildProcess;
  let url: string;
  let stderr = '';
  let exited: Promise<number | null>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wasmvm-otel-'));
    await new SimulatedSevSnpProvider({ stateDir: dir, rsaBits: 2048, warn: false }).getChain();
    collector = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        if (req.url === '/v1/traces') bodies.push(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const port = (collector.address() as AddressInfo).port;
    child = spawn(
      process.execPath,
      [bin, 'serve', '--port', '0', '--host', '127.0.0.1', '--tee', 'simulated'],
      {
        env: {
          ...process.env,
          WASMVM_TEE_STATE_DIR: dir,
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
          OTEL_SERVICE_NAME: 'wasmvm-tee-test',
          OTEL_BSP_SCHEDULE_DELAY: '100',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    exited = new Promise((r) => child.on('exit', (code) => r(code)));
    url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`serve did not start:\n${stderr}`)), 90_000);
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /serving on (http:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
    });
  });
  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    collector.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('which variables turn traces on', () => {
    assert.equal(tracingRequested({}), false);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' }), true);
    assert.equal(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://x' }), true);
    assert.equal(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' }), true);
    assert.equal(
      tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' }),
      false,
    );
    assert.equal(tracingRequested({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }), false);
  });

  it('exports the Execute span under the caller trace, with queue, execute and attest children', async () => {
    assert.match(stderr, /OpenTelemetry traces on/);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${url}/wasm.WASMVMTeeService/Execute`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
      body: JSON.stringify({
        execution: { fnName: 'add', bytecode: wasm.toString('base64'), inputs: ['20', '22'] },
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const out = (await res.json()) as { result: { status?: string } };
    assert.equal(out.result.status ?? 'ok', 'ok');
    // SIGTERM: the server drains, then the SDK flushes what is buffered
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    const spans: OtlpSpan[] = [];
    let service = '';
    for (const b of bodies) {
      const j = JSON.parse(b) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] };
          scopeSpans: { spans: OtlpSpan[] }[];
        }[];
      };
      for (const rs of j.resourceSpans) {
        service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? service;
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
    }
    assert.equal(service, 'wasmvm-tee-test');
    const server = spans.find((s) => s.name === 'wasm.WASMVMTeeService/Execute');
    assert.ok(server, `spans: ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(server.traceId, traceId);
    assert.equal(server.parentSpanId, '00f067aa0ba902b7');
    assert.equal(server.kind, 2); // SERVER
    const attr = (s: OtlpSpan, k: string) => s.attributes?.find((a) => a.key === k)?.value;
    assert.deepEqual(attr(server, 'wasmvm.status'), { stringValue: 'ok' });
    for (const child_ of ['wasmvm.queue', 'wasmvm.execute', 'wasmvm.attest']) {
      const s = spans.find((x) => x.name === child_);
      assert.ok(s, child_);
      assert.equal(s.traceId, traceId);
      assert.equal(s.parentSpanId, server.spanId, `${child_} is a child of the RPC span`);
    }
    // no guest data: the function name and the inputs appear nowhere
    const all = bodies.join('\n');
    assert.doesNotMatch(all, /"add"/);
    assert.doesNotMatch(all, /"20"|"22"/);
  });
});
