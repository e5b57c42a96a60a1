import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  checkSessionShape,
  claimFromJson,
  claimToJson,
  type ExecutionClaim,
  encodeClaim,
  gpuBindingData,
  inputSide,
  outputSide,
  reportDataFor,
  sessionKeyDataFromJson,
  sessionKeyReportData,
} from '../../src/binding/index.ts';
import { BINDING_VECTORS, SESSION_VECTOR } from './vectors.ts';

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
      assert.equal(hex(gpuBindingData(claim)), v.gpuBindingData);
    });
  }

  it('the vectors are written in docs/binding.md', async () => {
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../../docs/binding.md', import.meta.url), 'utf8');
    for (const v of BINDING_VECTORS) {
      assert.ok(doc.includes(v.inputSide), `${v.name}: input side not in doc`);
      assert.ok(doc.includes(v.outputSide), `${v.name}: output side not in doc`);
      assert.ok(doc.includes(v.reportData), `${v.name}: report data not in doc`);
      assert.ok(doc.includes(v.gpuBindingData), `${v.name}: GPU binding data not in doc`);
    }
    assert.ok(doc.includes(SESSION_VECTOR.reportData), 'session vector not in doc');
    for (const k of ['reportDataTlsTee', 'reportDataTlsOperator', 'reportDataTlsTeeBuild'] as const)
      assert.ok(doc.includes(SESSION_VECTOR[k]), `session vector ${k} not in doc`);
  });

  const base: ExecutionClaim = {
    bytecodeSha256: '11'.repeat(32),
    fn: 'f',
    inputs: [{ type: 'i32', value: -1 }],
    mode: 'interp',
    meter: false,
    attestationRequested: 'default',
    gpuRequested: false,
    status: 'ok',
    outputs: [{ type: 'f64', bits: 0x7ff8000000000001n }],
    executedMode: 'interp',
    attestationMode: 'per-request',
    teeKind: 'sev-snp',
    simulated: false,
    issuedAt: 1n,
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
      ['gas limit', { gasLimit: 1n }, 'in'],
      ['nonce', { nonce: new Uint8Array(0) }, 'in'],
      ['meter', { meter: true }, 'in'],
      ['attestation requested', { attestationRequested: 'per-request' }, 'in'],
      ['gpu requested', { gpuRequested: true }, 'in'],
      ['trap message', { trapMessage: '' }, 'out'],
      ['executed mode', { executedMode: 'multipass' }, 'out'],
      ['attestation mode', { attestationMode: 'session-key', session: '00'.repeat(64) }, 'out'],
      ['tee kind', { teeKind: 'tdx' }, 'out'],
      ['simulated', { simulated: true }, 'out'],
      ['gpu digest', { gpuEvidenceSha256: '00'.repeat(32) }, 'out'],
      ['issued at', { issuedAt: 2n }, 'out'],
      ['negative zero', { outputs: [{ type: 'f64', bits: 0x8000000000000000n }] }, 'out'],
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
      gasLimit: 2n ** 63n - 1n,
      nonce: Uint8Array.of(1, 2, 3),
      exitCode: -1,
    };
    const back = claimFromJson(JSON.parse(JSON.stringify(claimToJson(c))));
    assert.equal(hex(encodeClaim(back)), hex(encodeClaim(c)));
  });

  it('rejects malformed claims with stable codes, naming the field', () => {
    assert.throws(() => inputSide({ ...base, bytecodeSha256: 'zz' }), { code: 'INVALID_HEX' });
    assert.throws(() => inputSide({ ...base, bytecodeSha256: '00' }), { code: 'INVALID_CLAIM' });
    for (const gasLimit of [-1n, 0n, 2n ** 63n])
      assert.throws(() => inputSide({ ...base, gasLimit }), {
        code: 'INVALID_CLAIM',
        field: 'claim.gasLimit',
      });
    assert.throws(() => inputSide({ ...base, mode: 'jit' as never }), { code: 'INVALID_CLAIM' });
    assert.throws(() => outputSide({ ...base, attestationMode: 'session-key' }), { field: 'claim.session' });
    const good = BINDING_VECTORS[0]!.claim as Record<string, unknown>;
    assert.throws(() => claimFromJson({ ...good, v: 2 }), {
      code: 'UNSUPPORTED_CLAIM_VERSION',
      message: /claim\.v: unsupported claim version 2 \(this verifier reads v3\)/,
    });
    assert.throws(() => claimFromJson({ ...good, extra: 1 }), {
      field: 'claim.extra',
      message: /unknown field/,
    });
    for (const k of [
      'fn',
      'meter',
      'gpuRequested',
      'executedMode',
      'teeKind',
      'simulated',
      'issuedAt',
      'outputs',
    ]) {
      const o = { ...good };
      delete o[k];
      assert.throws(() => claimFromJson(o), { field: `claim.${k}`, message: /missing/ }, k);
    }
    assert.throws(() => claimFromJson({ ...good, outputs: [{ type: 'i32', value: 1, bits: 1 }] }), {
      field: 'claim.outputs[0].bits',
    });
    assert.throws(() => claimFromJson({ ...good, simulated: 'false' }), { field: 'claim.simulated' });
    assert.throws(() => claimFromJson({ ...good, issuedAt: '01' }), { field: 'claim.issuedAt' });
  });

  it('session key REPORT_DATA binds both keys, epoch, validity, kid and nonce', () => {
    const k = {
      spki: new Uint8Array(120).fill(3),
      claimSpki: new Uint8Array(91).fill(5),
      epoch: 1,
      notBefore: 1000,
      notAfter: 2000,
      kid: 'a',
    };
    const a = hex(sessionKeyReportData(k));
    assert.equal(a.length, 128);
    for (const [name, over] of [
      ['epoch', { epoch: 2 }],
      ['notBefore', { notBefore: 999 }],
      ['notAfter', { notAfter: 2001 }],
      ['kid', { kid: 'b' }],
      ['spki', { spki: new Uint8Array(120).fill(4) }],
      ['claimSpki', { claimSpki: new Uint8Array(91).fill(6) }],
    ] as const)
      assert.notEqual(hex(sessionKeyReportData({ ...k, ...over })), a, name);
    assert.notEqual(hex(sessionKeyReportData(k, Uint8Array.of(0))), a);
    // length prefixes: moving a byte from one key to the other changes the hash
    assert.notEqual(
      hex(
        sessionKeyReportData({
          ...k,
          spki: new Uint8Array(121).fill(3),
          claimSpki: new Uint8Array(90).fill(5),
        }),
      ),
      hex(
        sessionKeyReportData({
          ...k,
          spki: new Uint8Array(120).fill(3),
          claimSpki: new Uint8Array(91).fill(5),
        }),
      ),
    );
    assert.throws(() => sessionKeyReportData({ ...k, claimSpki: new Uint8Array(0) }), {
      code: 'INVALID_ENVELOPE',
    });
    assert.throws(() => sessionKeyReportData({ ...k, notAfter: 999 }), { code: 'INVALID_ENVELOPE' });
  });

  it('session key REPORT_DATA with a TLS key: v5 vectors; without one, v4 bytes unchanged', () => {
    const d = SESSION_VECTOR.data;
    const base = {
      ...d,
      spki: Buffer.from(d.spki, 'hex'),
      claimSpki: Buffer.from(d.claimSpki, 'hex'),
      sealPublicKey: Buffer.from(d.sealPublicKey, 'hex'),
    };
    const n = Buffer.from(SESSION_VECTOR.nonce, 'hex');
    const spkiSha256 = Buffer.from(SESSION_VECTOR.tlsSpkiSha256, 'hex');
    assert.equal(hex(sessionKeyReportData(base, n)), SESSION_VECTOR.reportData);
    assert.equal(
      hex(sessionKeyReportData({ ...base, tls: { origin: 'tee-generated', spkiSha256 } }, n)),
      SESSION_VECTOR.reportDataTlsTee,
    );
    assert.equal(
      hex(sessionKeyReportData({ ...base, tls: { origin: 'operator-supplied', spkiSha256 } }, n)),
      SESSION_VECTOR.reportDataTlsOperator,
    );
    assert.equal(
      hex(
        sessionKeyReportData(
          {
            ...base,
            tls: { origin: 'tee-generated', spkiSha256 },
            serverBuild: Buffer.from(SESSION_VECTOR.serverBuild, 'hex'),
          },
          n,
        ),
      ),
      SESSION_VECTOR.reportDataTlsTeeBuild,
    );
    assert.throws(
      () =>
        sessionKeyReportData(
          { ...base, tls: { origin: 'tee-generated', spkiSha256: new Uint8Array(31) } },
          n,
        ),
      { code: 'INVALID_ENVELOPE' },
    );
    // JSON: `tls` is parsed strictly (lowercase hex, known origin, no other fields)
    const json = {
      jwk: { kty: 'EC', crv: 'P-384', x: 'x', y: 'y', kid: d.kid },
      spki: base.spki.toString('base64'),
      claimSpki: base.claimSpki.toString('base64'),
      epoch: d.epoch,
      notBefore: new Date(d.notBefore).toISOString(),
      notAfter: new Date(d.notAfter).toISOString(),
      nonce: SESSION_VECTOR.nonce,
      evidence: { kind: 'sev-snp', simulated: true, provider: 'p', report: '' },
      seal: { suite: d.sealSuite, publicKey: base.sealPublicKey.toString('base64') },
      tls: { spkiSha256: SESSION_VECTOR.tlsSpkiSha256, origin: 'tee-generated' },
    } as const;
    checkSessionShape(json);
    assert.equal(
      hex(sessionKeyReportData(sessionKeyDataFromJson(json as never), n)),
      SESSION_VECTOR.reportDataTlsTee,
    );
    for (const tls of [
      { spkiSha256: 'AB'.repeat(32), origin: 'tee-generated' },
      { spkiSha256: '44'.repeat(31), origin: 'tee-generated' },
      { spkiSha256: SESSION_VECTOR.tlsSpkiSha256, origin: 'self' },
      { spkiSha256: SESSION_VECTOR.tlsSpkiSha256, origin: 'tee-generated', extra: 1 },
    ])
      assert.throws(() => checkSessionShape({ ...json, tls }), { code: 'INVALID_ENVELOPE' });
  });

  it('session key REPORT_DATA vector (docs/binding.md)', () => {
    const d = SESSION_VECTOR.data;
    const v = sessionKeyReportData(
      {
        ...d,
        spki: Buffer.from(d.spki, 'hex'),
        claimSpki: Buffer.from(d.claimSpki, 'hex'),
        sealPublicKey: Buffer.from(d.sealPublicKey, 'hex'),
      },
      Buffer.from(SESSION_VECTOR.nonce, 'hex'),
    );
    assert.equal(hex(v), SESSION_VECTOR.reportData);
    const { sealSuite: _s, sealPublicKey: _p, ...noSeal } = d;
    const w = sessionKeyReportData(
      { ...noSeal, spki: Buffer.from(d.spki, 'hex'), claimSpki: Buffer.from(d.claimSpki, 'hex') },
      Buffer.from(SESSION_VECTOR.nonce, 'hex'),
    );
    assert.equal(hex(w), SESSION_VECTOR.reportDataNoSeal);
    // The sealing key is bound: another key or suite is another REPORT_DATA; half of it is refused.
    const base = {
      ...d,
      spki: Buffer.from(d.spki, 'hex'),
      claimSpki: Buffer.from(d.claimSpki, 'hex'),
      sealPublicKey: Buffer.from(d.sealPublicKey, 'hex'),
    };
    const n = Buffer.from(SESSION_VECTOR.nonce, 'hex');
    assert.equal(hex(sessionKeyReportData(base, n)), hex(v));
    assert.notEqual(hex(sessionKeyReportData({ ...base, sealPublicKey: new Uint8Array(32) }, n)), hex(v));
    assert.notEqual(hex(sessionKeyReportData({ ...base, sealSuite: 'x25519-sha256-aes256gcm' }, n)), hex(v));
    assert.throws(
      () => sessionKeyReportData({ ...noSeal, spki: base.spki, claimSpki: base.claimSpki, sealSuite: 'x' }),
      {
        code: 'INVALID_ENVELOPE',
      },
    );
  });
});
