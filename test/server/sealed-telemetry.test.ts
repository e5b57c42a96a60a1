/**
 * Sealed runs in OpenTelemetry and Prometheus, in process (docs/sealed-execution.md §5): an in-memory
 * span exporter records every span of a sealed call and of the same call through plain Execute. The
 * sealed call's spans are marked `wasmvm.mode = "sealed"` and carry no request id, status, gas, cache or
 * content (inputs, outputs, bytecode hash, function name); the plain call's spans do carry the request
 * id and status (the control: the capture sees what the server records). Metrics count the sealed run
 * without content.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { Engine } from '../../src/engine/index.ts';
import {
  attestForSealing,
  createWasmvmClient,
  executeAndVerify,
  executeSealedAndVerify,
} from '../../src/server/client.ts';
import { fixture, simulatedAttester, startTestServer, type TestServer } from './helpers.ts';

const arith = fixture('arith.wasm');
const REQUEST_ID = 'req-7f3a9c-confidential';
const A = '123456789';
const B = '987654321';
const SUM = '1111111110';

function dump(spans: readonly ReadableSpan[]): string {
  return JSON.stringify(
    spans.map((s) => ({
      name: s.name,
      attributes: s.attributes,
      events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
      status: s.status,
      links: s.links,
    })),
  );
}

describe('sealed execution: telemetry without content', () => {
  let engine: Engine;
  let ts: TestServer;
  let provider: NodeTracerProvider;
  const exporter = new InMemorySpanExporter();

  before(async () => {
    provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    provider.register();
    engine = new Engine({ workers: 1 });
    const sim = simulatedAttester();
    ts = await startTestServer({ engine, attester: sim.attester }, {}, sim.cleanup);
  });
  after(async () => {
    await ts.close();
    engine.close();
    await provider.shutdown();
    trace.disable();
  });

  it('spans of a sealed run: marked sealed, no request id, status or content; plain Execute as control', async () => {
    const client = createWasmvmClient({ baseUrl: ts.server.url });
    const session = await attestForSealing(client, { allowSimulated: true });
    exporter.reset();
    const r = await executeSealedAndVerify(
      client,
      { bytecode: arith, fn: 'add', args: [A, B], requestId: REQUEST_ID },
      { session, allowSimulated: true },
    );
    assert.equal(r.verified, true);
    assert.deepEqual(r.outputs, [{ type: 'i32', value: Number(SUM) }]);
    const sealedSpans = exporter.getFinishedSpans();
    const names = sealedSpans.map((s) => s.name);
    assert.ok(names.includes('wasmvm.queue') && names.includes('wasmvm.execute'), names.join(','));
    const rpc = sealedSpans.find((s) => /ExecuteSealed/.test(s.name));
    assert.ok(rpc, `no RPC span: ${names.join(',')}`);
    for (const s of sealedSpans.filter((x) => x.name === 'wasmvm.queue' || x.name === 'wasmvm.execute'))
      assert.equal(s.attributes['wasmvm.mode'], 'sealed', s.name);
    const text = dump(sealedSpans);
    const bytecodeSha256 = createHash('sha256').update(arith).digest('hex');
    for (const needle of [REQUEST_ID, A, B, SUM, bytecodeSha256, '"add"'])
      assert.equal(text.includes(needle), false, `'${needle}' in the sealed run's spans: ${text}`);
    for (const key of ['wasmvm.request_id', 'wasmvm.status', 'wasmvm.gas_used', 'wasmvm.cache_hit'])
      assert.equal(text.includes(key), false, `${key} on a sealed span`);

    exporter.reset();
    const p = await executeAndVerify(
      client,
      { bytecode: arith, fn: 'add', args: [A, B], requestId: REQUEST_ID },
      { allowSimulated: true },
    );
    assert.equal(p.verified, true);
    const plain = dump(exporter.getFinishedSpans());
    assert.ok(plain.includes(REQUEST_ID), 'control: the plain call records its request id');
    assert.ok(plain.includes('wasmvm.status'), 'control: the plain call records its status');
  });

  it('metrics count sealed runs without content', async () => {
    const m = await ts.server.metrics.render();
    assert.match(m, /wasmvm_sealed_executions_total\{outcome="sealed"\} 1\b/);
    const sealedLines = m.split('\n').filter((l) => /sealed/i.test(l) && !l.startsWith('#'));
    assert.ok(sealedLines.length > 0);
    for (const l of sealedLines)
      for (const needle of [REQUEST_ID, A, B, SUM, 'add'])
        assert.equal(l.includes(needle), false, `'${needle}' in ${l}`);
  });
});
