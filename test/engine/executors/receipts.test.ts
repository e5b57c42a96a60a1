/**
 * Receipts of the guest's attestation calls (src/engine/executors/receipts.ts): collected by both
 * executors (a forked executor process and the in-process pool), in call order, each equal to what the
 * guest received, capped at 64 with `truncated`, and never taken from a worker's result.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { GUEST_ATTESTATIONS_MAX } from '../../../src/binding/index.ts';
import {
  RECEIPTS_MAX,
  ReceiptBook,
  receiptOf,
  withReceipts,
} from '../../../src/engine/executors/receipts.ts';
import { Engine } from '../../../src/engine/index.ts';
import {
  type AttestingHost,
  attestingGuest,
  attestingHost,
  expectedStartReceipts,
} from '../../host/attesting-guest.ts';

const HOST_MODULES = ['wasi_snapshot_preview1', 'wasmtime_attestation'];

describe('engine: receipts of guest attestations', () => {
  let host: AttestingHost;
  let guest: Uint8Array;
  const engines: Engine[] = [];
  before(async () => {
    host = await attestingHost();
    guest = await attestingGuest();
  });
  after(async () => {
    await Promise.all(engines.map((e) => e.close()));
    host.cleanup();
  });

  for (const [name, opts] of [
    ['forked executor (singlepass)', { mode: 'singlepass' as const, inProcess: false }],
    ['in-process pool (interp)', { mode: 'interp' as const, inProcess: true }],
  ] as const) {
    it(`${name}: one receipt per call, in order, each what the guest received`, async () => {
      const engine = new Engine({ workers: 1, hostHandler: host.handler, interpInProcess: opts.inProcess });
      engines.push(engine);
      host.clearCache();
      const r = await engine.execute({
        bytecode: guest,
        fn: '_start',
        args: [],
        mode: opts.mode,
        hostModules: HOST_MODULES,
      });
      assert.equal(r.status, 'ok', r.message);
      assert.equal(engine.stats().executors[opts.mode]?.inProcess, opts.inProcess);
      const want = expectedStartReceipts(r.stdout ?? new Uint8Array(0));
      assert.deepEqual(r.guestAttestations, { receipts: want, truncated: false });
      const got = r.guestAttestations!.receipts;
      assert.deepEqual(
        got.map((x) => [x.kind, x.outcome]),
        [
          ['vm', 'ok'],
          ['gpu', 'ok'],
          ['gpu', 'evidence_failed'],
          ['vm', 'ok'],
          ['vm', 'ok'],
        ],
      );
      assert.equal(got[0]!.teeType, 'AMD SEV-SNP');
      assert.equal(got[0]!.simulated, true);
      assert.ok(
        got.every((x, i) => x.cached === (i === 3)),
        'the same data again: from the host cache',
      );
      assert.equal(got[3]!.evidenceSha256, got[0]!.evidenceSha256);
      assert.notEqual(got[4]!.evidenceSha256, got[0]!.evidenceSha256);
      assert.equal(got[1]!.gpuIndex, 0);
      assert.equal(got[2]!.evidenceSha256, undefined);
      // an execution without attestation calls has none
      const plain = await engine.execute({
        bytecode: guest,
        fn: 'alloc',
        args: [{ type: 'i32', value: 8 }],
        mode: opts.mode,
        hostModules: HOST_MODULES,
      });
      assert.equal(plain.status, 'ok');
      assert.equal(plain.guestAttestations, undefined);
    });

    it(`${name}: at most 64 receipts, then truncated; the calls still work`, async () => {
      const engine = new Engine({ workers: 1, hostHandler: host.handler, interpInProcess: opts.inProcess });
      engines.push(engine);
      const r = await engine.execute({
        bytecode: guest,
        fn: 'many',
        args: [],
        mode: opts.mode,
        hostModules: HOST_MODULES,
      });
      assert.equal(r.status, 'ok', r.message);
      assert.deepEqual(r.outputs, [{ type: 'i32', value: 70 }], 'all 70 calls answered success');
      assert.equal(r.guestAttestations?.receipts.length, 64);
      assert.equal(r.guestAttestations?.truncated, true);
      assert.ok(r.guestAttestations?.receipts.every((x) => x.kind === 'vm' && x.outcome === 'ok'));
    });
  }

  it('the cap is binding’s GUEST_ATTESTATIONS_MAX', () => {
    assert.equal(RECEIPTS_MAX, GUEST_ATTESTATIONS_MAX);
  });
});

describe('engine: receiptOf / ReceiptBook', () => {
  it('a failed or refused host call is a receipt with its code (internal when the host threw)', () => {
    assert.deepEqual(
      receiptOf('vm', { data: '' }, { ok: true, value: { success: false, code: 'no_tee', tee_type: null } }),
      {
        kind: 'vm',
        outcome: 'no_tee',
        cached: false,
        dataSha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      },
    );
    assert.equal(receiptOf('gpu', { index: 2 }, { ok: false, error: 'boom' }).outcome, 'internal');
    assert.equal(receiptOf('gpu', { index: 2 }, { ok: false, error: 'boom' }).gpuIndex, 2);
    // not an answer the guest would take as one: internal, nothing taken from it
    const odd = receiptOf('vm', {}, { ok: true, value: { success: 'yes', evidence: 'x', cached: true } });
    assert.deepEqual(odd, {
      kind: 'vm',
      outcome: 'internal',
      cached: false,
      dataSha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    });
    assert.equal(
      receiptOf('vm', { data: 'zz' }, { ok: true, value: { success: true } }).dataSha256,
      undefined,
    );
  });

  it('only attestation calls are receipts; answers after the execution ended are dropped', async () => {
    const book = new ReceiptBook();
    book.begin(1);
    const replies: unknown[] = [];
    const handler = async (m: string) => (m === 'attest_vm' ? { success: true, tee_type: 'Intel TDX' } : {});
    book.call(handler, 1, 'detect_tee', {}, (r) => replies.push(r));
    book.call(handler, 1, 'attest_vm', {}, (r) => replies.push(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(replies.length, 2);
    const g = book.end(1);
    assert.deepEqual(
      g?.receipts.map((x) => x.teeType),
      ['Intel TDX'],
    );
    book.call(handler, 1, 'attest_vm', {}, (r) => replies.push(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(replies.length, 3, 'still answered');
    assert.equal(book.end(1), undefined);
  });

  it('withReceipts drops whatever a result carried under that name', () => {
    const forged = { status: 'ok', guestAttestations: { receipts: [], truncated: true } };
    assert.equal('guestAttestations' in withReceipts(forged, undefined), false);
    const g = { receipts: [{ kind: 'vm' as const, outcome: 'ok', cached: false }], truncated: false };
    assert.equal(withReceipts(forged, g).guestAttestations, g);
  });
});
