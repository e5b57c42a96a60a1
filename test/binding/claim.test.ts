import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  claimFromJson,
  claimToJson,
  type ExecutionClaim,
  encodeClaim,
  inputSide,
  outputSide,
  reportDataFor,
  sessionKeyReportData,
} from '../../src/binding/index.ts';
import { BINDING_VECTORS } from './vectors.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('binding: canonical claim encoding', () => {
  for (const v of BINDING_VECTORS) {
    it(`vector '${v.name}' matches docs/binding.md`, () => {
      const claim = claimFromJson(v.claim);
      assert.equal(hex(inputSide(claim)), v.inputSide);
      assert.equal(hex(outputSide(claim)), v.outputSide);
      assert.equal(hex(reportDataFor(claim)), v.reportData);
      assert.equal(
        hex(reportDataFor(claim)),
        createHash('sha256').update(inputSide(claim)).digest('hex') +
          createHash('sha256').update(outputSide(claim)).digest('hex'),
      );
      assert.deepEqual(claimToJson(claim), v.claim);
    });
  }

  it('the vectors are written in docs/binding.md', async () => {
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../../docs/binding.md', import.meta.url), 'utf8');
    for (const v of BINDING_VECTORS) {
      assert.ok(doc.includes(v.inputSide), `${v.name}: input side not in doc`);
      assert.ok(doc.includes(v.outputSide), `${v.name}: output side not in doc`);
      assert.ok(doc.includes(v.reportData), `${v.name}: report data not in doc`);
    }
  });

  const base: ExecutionClaim = {
    bytecodeSha256: '11'.repeat(32),
    fn: 'f',
    inputs: [{ type: 'i32', value: -1 }],
    mode: 'interp',
    status: 'ok',
    outputs: [{ type: 'f64', bits: 0x7ff8000000000001n }],
  };

  it('every field changes REPORT_DATA, on its own side', () => {
    const rd = hex(reportDataFor(base));
    const variants: Array<[string, Partial<ExecutionClaim>, 'in' | 'out']> = [
      ['bytecode', { bytecodeSha256: '12'.repeat(32) }, 'in'],
      ['fn', { fn: 'g' }, 'in'],
      ['inputs value', { inputs: [{ type: 'i32', value: -2 }] }, 'in'],
      ['inputs type', { inputs: [{ type: 'f32', bits: 0xffffffff }] }, 'in'],
      ['legacy inputs', { inputs: { legacy: ['-1'] } }, 'in'],
      ['mode', { mode: 'singlepass' }, 'in'],
      ['gas limit', { gasLimit: 0n }, 'in'],
      ['nonce', { nonce: new Uint8Array(0) }, 'in'],
      ['request id', { requestId: '' }, 'out'],
      ['status', { status: 'out_of_gas' }, 'out'],
      ['nan payload', { outputs: [{ type: 'f64', bits: 0x7ff8000000000002n }] }, 'out'],
      ['exit code', { exitCode: 0 }, 'out'],
      ['gas used', { gasUsed: 0n }, 'out'],
      ['cost table', { costTableVersion: 'v1' }, 'out'],
      ['stdout', { stdoutSha256: '00'.repeat(32) }, 'out'],
      ['stderr', { stderrSha256: '00'.repeat(32) }, 'out'],
    ];
    for (const [name, patch, side] of variants) {
      const c = { ...base, ...patch } as ExecutionClaim;
      const r = hex(reportDataFor(c));
      assert.notEqual(r, rd, name);
      if (side === 'in') assert.equal(r.slice(64), rd.slice(64), `${name} must not change the output side`);
      else assert.equal(r.slice(0, 64), rd.slice(0, 64), `${name} must not change the input side`);
    }
  });

  it('JSON view round-trips, including i64 extremes and NaN bits', () => {
    const c: ExecutionClaim = {
      ...base,
      inputs: [
        { type: 'i64', value: -(2n ** 63n) },
        { type: 'f32', bits: 0x7fc00001 },
      ],
      outputs: [{ type: 'i64', value: 2n ** 63n - 1n }],
      gasLimit: 2n ** 64n - 1n,
      nonce: Uint8Array.of(1, 2, 3),
      exitCode: -1,
    };
    const back = claimFromJson(JSON.parse(JSON.stringify(claimToJson(c))));
    assert.equal(hex(encodeClaim(back)), hex(encodeClaim(c)));
  });

  it('rejects malformed claims with stable codes', () => {
    assert.throws(() => inputSide({ ...base, bytecodeSha256: 'zz' }), { code: 'INVALID_HEX' });
    assert.throws(() => inputSide({ ...base, bytecodeSha256: '00' }), { code: 'INVALID_CLAIM' });
    assert.throws(() => inputSide({ ...base, gasLimit: -1n }), { code: 'INVALID_CLAIM' });
    assert.throws(() => inputSide({ ...base, mode: 'jit' as never }), { code: 'INVALID_CLAIM' });
    assert.throws(() => claimFromJson({ v: 2 }), { code: 'INVALID_CLAIM' });
  });

  it('session key REPORT_DATA binds both keys, epoch and nonce', () => {
    const spki = new Uint8Array(120).fill(3);
    const claimSpki = new Uint8Array(91).fill(5);
    const a = hex(sessionKeyReportData(spki, claimSpki, 1));
    assert.equal(a.length, 128);
    assert.notEqual(hex(sessionKeyReportData(spki, claimSpki, 2)), a);
    assert.notEqual(hex(sessionKeyReportData(spki, claimSpki, 1, Uint8Array.of(0))), a);
    assert.notEqual(hex(sessionKeyReportData(new Uint8Array(120).fill(4), claimSpki, 1)), a);
    assert.notEqual(hex(sessionKeyReportData(spki, new Uint8Array(91).fill(6), 1)), a);
    // length prefixes: moving a byte from one key to the other changes the hash
    assert.notEqual(
      hex(sessionKeyReportData(new Uint8Array(121).fill(3), new Uint8Array(90).fill(5), 1)),
      hex(sessionKeyReportData(new Uint8Array(120).fill(3), new Uint8Array(91).fill(5), 1)),
    );
    assert.throws(() => sessionKeyReportData(spki, new Uint8Array(0), 1), { code: 'INVALID_ENVELOPE' });
  });

  it('session key REPORT_DATA vector (docs/binding.md)', () => {
    const v = sessionKeyReportData(
      new Uint8Array(4).fill(0x11),
      new Uint8Array(3).fill(0x22),
      7,
      Uint8Array.of(0xaa, 0xbb),
    );
    assert.equal(
      hex(v),
      '79eb5dfa1975f2fcd2d8d5dca15cd95fa9d97af9776475ee0a1d2e511e32550d8bf6ff86c2533bde56068db26a236f2a470f28270213d173f288682d416d9ac7',
    );
  });
});
