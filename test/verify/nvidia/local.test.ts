import { strict as assert } from 'node:assert';
import { createHash, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { describeOpaque, parseSpdmEvidence, SpdmError } from '../../../src/formats/nvidia/spdm.ts';
import type { GpuEvidence } from '../../../src/tee/nvidia/types.ts';
import { leafFwids, parseCertChain } from '../../../src/verify/nvidia/certs.ts';
import { verifyGpuEvidence, verifyGpuEvidenceList } from '../../../src/verify/nvidia/local.ts';
import {
  NVIDIA_DEVICE_IDENTITY_ROOT_PEM,
  NVIDIA_DEVICE_IDENTITY_ROOT_SHA256,
} from '../../../src/verify/nvidia/roots.ts';
import {
  blackwellEvidence,
  checkOf,
  dataJson,
  dataText,
  hopperEvidence,
  NONCE_1GPU,
  NONCE_8GPU,
  NONCE_BLACKWELL,
  nrasRequestEvidence,
} from './helpers.ts';

const NOW = new Date('2026-06-29T02:10:00Z');

function mutateEvidence(e: GpuEvidence, f: (b: Uint8Array) => void): GpuEvidence {
  const b = new Uint8Array(Buffer.from(e.evidence, 'base64'));
  f(b);
  return { ...e, evidence: Buffer.from(b).toString('base64') };
}

function pemBlocks(e: GpuEvidence): string[] {
  return Buffer.from(e.certificate, 'base64')
    .toString('latin1')
    .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)!;
}
function withChain(e: GpuEvidence, blocks: string[]): GpuEvidence {
  return { ...e, certificate: Buffer.from(`${blocks.join('\n')}\n`).toString('base64') };
}

describe('pinned roots', () => {
  it('the pinned Device Identity CA is the vector root and its fingerprint constant is right', () => {
    const pinned = new X509Certificate(NVIDIA_DEVICE_IDENTITY_ROOT_PEM);
    const vector = new X509Certificate(dataText('nvidia-device-identity-root-ca.pem'));
    assert.ok(pinned.raw.equals(vector.raw));
    assert.equal(createHash('sha256').update(pinned.raw).digest('hex'), NVIDIA_DEVICE_IDENTITY_ROOT_SHA256);
  });
});

describe('SPDM parsing', () => {
  it('parses the Hopper evidence: request, 64 DMTF blocks, opaque TLVs', () => {
    const e = hopperEvidence();
    const s = parseSpdmEvidence(Buffer.from(e.evidence, 'base64'));
    assert.equal(s.request.version, 0x11);
    assert.equal(s.request.bytes.length, 37);
    assert.equal(s.request.param2, 0xff);
    assert.equal(Buffer.from(s.request.nonce).toString('hex'), e.nonce);
    assert.equal(s.response.blocks.length, 64);
    assert.ok(s.response.blocks.every((b) => b.spec === 1 && b.value.length === 48));
    assert.equal(s.response.signature.length, 96);
    const o = describeOpaque(s.response);
    assert.equal(o.DRIVER_VERSION, '590.12');
    assert.equal(o.VBIOS_VERSION, '96.00.A5.00.01');
    assert.equal(o.PROJECT, 'G520');
  });

  it('opaque driver/VBIOS versions equal what NRAS reported for the same evidence', () => {
    const [e] = nrasRequestEvidence('nras-v3-h100-1gpu.request.json');
    const o = describeOpaque(parseSpdmEvidence(Buffer.from(e!.evidence, 'base64')).response);
    // NRAS GPU-0 claims for this request: x-nvidia-gpu-driver-version 595.71.05, vbios 96.00.D9.00.02
    assert.equal(o.DRIVER_VERSION, '595.71.05');
    assert.equal(o.VBIOS_VERSION, '96.00.D9.00.02');
  });

  it('rejects truncations and bad codes with SpdmError', () => {
    const raw = new Uint8Array(Buffer.from(hopperEvidence().evidence, 'base64'));
    for (const n of [0, 3, 20, 37, 40, 100, raw.length - 1])
      assert.throws(() => parseSpdmEvidence(raw.subarray(0, n)), SpdmError);
    const bad = raw.slice();
    bad[1] = 0xe1;
    assert.throws(() => parseSpdmEvidence(bad), /not GET_MEASUREMENTS/);
    const bad2 = raw.slice();
    bad2[38] = 0x61;
    assert.throws(() => parseSpdmEvidence(bad2), /not MEASUREMENTS/);
    // One zero byte of padding is tolerated (issue 13 item 8, test/verify/nvidia/padded.test.ts); a non-zero one is not.
    const extra = new Uint8Array(raw.length + 1);
    extra.set(raw);
    assert.equal(parseSpdmEvidence(extra).response.trailingZeroBytes, 1);
    extra[raw.length] = 7;
    assert.throws(() => parseSpdmEvidence(extra), /not all zero/);
  });
});

describe('local verification of recorded evidence', () => {
  it('nvattest Hopper evidence verifies to the pinned root with its nonce', async () => {
    const e = hopperEvidence();
    const v = await verifyGpuEvidence(e, { nonce: e.nonce, now: NOW });
    assert.equal(v.ok, true, JSON.stringify(v.checks, null, 1));
    for (const id of [
      'nvidia.spdm.signature',
      'nvidia.chain.root-pinned',
      'nvidia.chain.signatures',
      'nvidia.chain.fwid',
      'nvidia.nonce',
      'nvidia.arch',
    ])
      assert.equal(checkOf(v, id).outcome, 'pass', id);
    assert.equal(checkOf(v, 'nvidia.chain.revocation').outcome, 'skip');
    assert.equal(checkOf(v, 'nvidia.measurements').outcome, 'skip');
    assert.equal(v.fields?.hwmodel, 'GH100 A01 GSP BROM');
  });

  it('multi-GPU nvattest evidence: every GPU verifies', async () => {
    const list = dataJson<GpuEvidence[]>('nvat-multi-gpu-hopper-evidence.json');
    assert.equal(list.length, 4);
    const v = await verifyGpuEvidenceList(list, { nonce: list[0]!.nonce, now: NOW });
    assert.equal(v.ok, true);
    assert.equal(v.parts?.length, 4);
  });

  it('the evidence inside the recorded NRAS requests (1 and 8 GPUs) verifies, nonce extracted', async () => {
    for (const [file, nonce, n] of [
      ['nras-v3-h100-1gpu.request.json', NONCE_1GPU, 1],
      ['nras-v3-h100-8gpu.request.json', NONCE_8GPU, 8],
    ] as const) {
      const list = nrasRequestEvidence(file);
      assert.equal(list.length, n);
      for (const e of list) {
        const v = await verifyGpuEvidence(e, { nonce, now: NOW });
        assert.equal(v.ok, true, `${file}: ${JSON.stringify(v.checks.filter((c) => c.outcome === 'fail'))}`);
        assert.equal(v.fields?.requestNonce, nonce);
      }
    }
  });

  it('Blackwell report parses, chain verifies to the pinned root, FWID (standard TcbInfo) and signature verify', async () => {
    const v = await verifyGpuEvidence(blackwellEvidence(), { nonce: NONCE_BLACKWELL, now: NOW });
    assert.equal(v.ok, true, JSON.stringify(v.checks.filter((c) => c.outcome === 'fail')));
    assert.equal(v.fields?.hwmodel, 'GB100 A01 GSP BROM');
    assert.equal(checkOf(v, 'nvidia.arch').outcome, 'pass');
    assert.equal(checkOf(v, 'nvidia.chain.fwid').outcome, 'pass');
  });

  it('a different expected nonce fails; the nonce field must match the signed one', async () => {
    const e = hopperEvidence();
    const v = await verifyGpuEvidence(e, { nonce: NONCE_1GPU, now: NOW });
    assert.equal(v.ok, false);
    assert.equal(checkOf(v, 'nvidia.nonce').outcome, 'fail');
    const v2 = await verifyGpuEvidence({ ...e, nonce: NONCE_1GPU }, { now: NOW });
    assert.equal(checkOf(v2, 'nvidia.nonce.consistent').outcome, 'fail');
    assert.equal(checkOf(v2, 'nvidia.nonce').outcome, 'skip');
    const v3 = await verifyGpuEvidence(e, { nonce: e.nonce.toUpperCase(), now: NOW });
    assert.equal(checkOf(v3, 'nvidia.nonce').outcome, 'pass');
    const v4 = await verifyGpuEvidence(e, { nonce: e.nonce.slice(0, 62), now: NOW });
    assert.equal(checkOf(v4, 'nvidia.nonce').outcome, 'fail');
  });

  it('CC settings reported with the evidence: debug / CC-off / simulated rejected, absent = skip', async () => {
    const e = hopperEvidence();
    const base = {
      environment: 'prod' as const,
      ccFeature: true,
      devToolsMode: false,
      multiGpuMode: 'none' as const,
    };
    const ok = await verifyGpuEvidence({ ...e, cc: base }, { nonce: e.nonce, now: NOW });
    assert.equal(checkOf(ok, 'nvidia.cc-settings').outcome, 'pass');
    for (const cc of [
      { ...base, devToolsMode: true },
      { ...base, ccFeature: false },
      { ...base, environment: 'sim' as const },
    ]) {
      const v = await verifyGpuEvidence({ ...e, cc }, { nonce: e.nonce, now: NOW });
      assert.equal(checkOf(v, 'nvidia.cc-settings').outcome, 'fail', JSON.stringify(cc));
    }
    const dev = await verifyGpuEvidence(
      { ...e, cc: { ...base, devToolsMode: true } },
      { nonce: e.nonce, now: NOW, allowDevTools: true },
    );
    assert.equal(checkOf(dev, 'nvidia.cc-settings').outcome, 'pass');
    assert.equal(checkOf(await verifyGpuEvidence(e, { now: NOW }), 'nvidia.cc-settings').outcome, 'skip');
    const junk = await verifyGpuEvidence(null as unknown as GpuEvidence, {});
    assert.equal(junk.ok, false);
  });

  it('wrong arch is rejected', async () => {
    const v = await verifyGpuEvidence({ ...hopperEvidence(), arch: 'BLACKWELL' }, { now: NOW });
    assert.equal(checkOf(v, 'nvidia.arch').outcome, 'fail');
  });
});

describe('SPDM response mutations', () => {
  const e = hopperEvidence();
  const raw = Buffer.from(e.evidence, 'base64');
  const parsed = parseSpdmEvidence(raw);
  const respStart = parsed.request.bytes.length;

  it('a flipped measurement byte breaks the signature', async () => {
    const m = mutateEvidence(e, (b) => {
      b[respStart + 8 + 7] = b[respStart + 8 + 7]! ^ 1; // first byte of block 1's digest
    });
    const v = await verifyGpuEvidence(m, { nonce: e.nonce, now: NOW });
    assert.equal(checkOf(v, 'nvidia.spdm.signature').outcome, 'fail');
    assert.equal(v.ok, false);
  });

  it('a changed request nonce breaks the signature and the nonce check', async () => {
    const m = mutateEvidence(e, (b) => {
      b[4] = b[4]! ^ 0x80;
    });
    const v = await verifyGpuEvidence(m, { nonce: e.nonce, now: NOW });
    assert.equal(checkOf(v, 'nvidia.spdm.signature').outcome, 'fail');
    assert.equal(checkOf(v, 'nvidia.nonce').outcome, 'fail');
  });

  it('a flipped signature byte (r or s) fails', async () => {
    for (const off of [raw.length - 96, raw.length - 1]) {
      const m = mutateEvidence(e, (b) => {
        b[off] = b[off]! ^ 0x01;
      });
      const v = await verifyGpuEvidence(m, { nonce: e.nonce, now: NOW });
      assert.equal(checkOf(v, 'nvidia.spdm.signature').outcome, 'fail');
    }
  });

  it('a changed FWID in the opaque data fails the FWID binding (and the signature)', async () => {
    const fw = Buffer.from(parsed.response.opaqueFields.find((f) => f.name === 'FWID')!.value);
    const at = raw.indexOf(fw);
    assert.ok(at > 0);
    const m = mutateEvidence(e, (b) => {
      b[at] = b[at]! ^ 0xff;
    });
    const v = await verifyGpuEvidence(m, { nonce: e.nonce, now: NOW });
    assert.equal(checkOf(v, 'nvidia.chain.fwid').outcome, 'fail');
    assert.equal(checkOf(v, 'nvidia.spdm.signature').outcome, 'fail');
  });

  it('any single-byte change in the signed range is rejected (property)', async () => {
    const signedLen = parsed.signedData.length;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: signedLen - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (pos, x) => {
          const m = mutateEvidence(e, (b) => {
            b[pos] = b[pos]! ^ x;
          });
          const v = await verifyGpuEvidence(m, { nonce: e.nonce, now: NOW });
          return v.ok === false;
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('certificate chain mutations', () => {
  const e = hopperEvidence();
  const blocks = pemBlocks(e);

  it('chain without the root is completed by the pinned root', async () => {
    const v = await verifyGpuEvidence(withChain(e, blocks.slice(0, 4)), { nonce: e.nonce, now: NOW });
    assert.equal(v.ok, true);
    assert.match(checkOf(v, 'nvidia.chain.root-pinned').detail, /completed by the pinned/);
  });

  it('a missing intermediate breaks the chain', async () => {
    const v = await verifyGpuEvidence(withChain(e, [blocks[0]!, blocks[2]!, blocks[3]!, blocks[4]!]), {
      nonce: e.nonce,
      now: NOW,
    });
    assert.equal(checkOf(v, 'nvidia.chain.signatures').outcome, 'fail');
  });

  it("another GPU's leaf certificate fails the signature and the FWID", async () => {
    const other = nrasRequestEvidence('nras-v3-h100-8gpu.request.json')[1]!;
    const otherLeaf = pemBlocks(other)[0]!;
    const v = await verifyGpuEvidence(withChain(e, [otherLeaf, ...blocks.slice(1)]), {
      nonce: e.nonce,
      now: NOW,
    });
    assert.equal(checkOf(v, 'nvidia.spdm.signature').outcome, 'fail');
    assert.equal(checkOf(v, 'nvidia.chain.fwid').outcome, 'fail');
    assert.equal(checkOf(v, 'nvidia.chain.signatures').outcome, 'fail');
  });

  it('a self-signed root that is not the pinned one is rejected (the shipped root is only matched)', async () => {
    // the shipped root replaced by another self-signed NVIDIA root (the CoRIM signing root)
    const v = await verifyGpuEvidence(
      withChain(e, blocks.slice(0, 4).concat([dataText('nvidia-corim-signing-root-ca.pem')])),
      {
        nonce: e.nonce,
        now: NOW,
      },
    );
    assert.equal(checkOf(v, 'nvidia.chain.root-pinned').outcome, 'fail');
    assert.equal(v.ok, false);
  });

  it('a corrupted certificate signature fails', async () => {
    const der = Buffer.from(new X509Certificate(blocks[1]!).raw);
    der[der.length - 5] = der[der.length - 5]! ^ 1;
    const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----`;
    const v = await verifyGpuEvidence(withChain(e, [blocks[0]!, pem, ...blocks.slice(2)]), {
      nonce: e.nonce,
      now: NOW,
    });
    assert.equal(checkOf(v, 'nvidia.chain.signatures').outcome, 'fail');
  });

  it('validity is checked against the clock', async () => {
    const v = await verifyGpuEvidence(e, { nonce: e.nonce, now: new Date('2019-01-01T00:00:00Z') });
    assert.equal(checkOf(v, 'nvidia.chain.validity').outcome, 'fail');
  });

  it('an empty or non-PEM certificate field fails to parse', async () => {
    const v = await verifyGpuEvidence(
      { ...e, certificate: Buffer.from('nothing').toString('base64') },
      { now: NOW },
    );
    assert.equal(checkOf(v, 'nvidia.chain.parse').outcome, 'fail');
    assert.equal(v.ok, false);
  });

  it('leaf FWIDs: Hopper (NVIDIA layout) and Blackwell (TcbInfo fwids) both yield the report FWID', () => {
    for (const ev of [e, blackwellEvidence()]) {
      const leaf = parseCertChain(Buffer.from(ev.certificate, 'base64').toString('latin1'))[0]!;
      const fw = leafFwids(new Uint8Array(leaf.raw)).map((x) => Buffer.from(x).toString('hex'));
      const op = describeOpaque(parseSpdmEvidence(Buffer.from(ev.evidence, 'base64')).response);
      assert.ok(fw.includes(String(op.FWID)));
    }
  });
});

describe('reference values', () => {
  const e = hopperEvidence();
  const s = parseSpdmEvidence(Buffer.from(e.evidence, 'base64'));
  const all = Object.fromEntries(
    s.response.blocks.map((b) => [String(b.index), Buffer.from(b.value).toString('hex')]),
  );

  it('equal measurements pass; one changed or missing fails', async () => {
    const ok = await verifyGpuEvidence(e, {
      nonce: e.nonce,
      now: NOW,
      referenceValues: { measurements: all },
    });
    assert.equal(checkOf(ok, 'nvidia.measurements').outcome, 'pass');
    const changed = { ...all, '5': 'ab'.repeat(48) };
    const bad = await verifyGpuEvidence(e, {
      nonce: e.nonce,
      now: NOW,
      referenceValues: { measurements: changed },
    });
    assert.equal(checkOf(bad, 'nvidia.measurements').outcome, 'fail');
    assert.match(checkOf(bad, 'nvidia.measurements').detail, /index 5/);
    const partial = { '1': all['1']! };
    const miss = await verifyGpuEvidence(e, {
      nonce: e.nonce,
      now: NOW,
      referenceValues: { measurements: partial },
    });
    assert.equal(checkOf(miss, 'nvidia.measurements').outcome, 'fail');
    const allowed = await verifyGpuEvidence(e, {
      nonce: e.nonce,
      now: NOW,
      referenceValues: { measurements: partial, allowUnlistedIndices: true },
    });
    assert.equal(checkOf(allowed, 'nvidia.measurements').outcome, 'pass');
  });

  it('driver / VBIOS allow-lists, and a policy file nvidia section is accepted', async () => {
    const v = await verifyGpuEvidence(e, {
      nonce: e.nonce,
      now: NOW,
      referenceValues: {
        nvidia: { referenceValues: { driverVersions: ['590.12'], vbiosVersions: ['96.00.a5.00.01'] } },
      },
    });
    assert.equal(checkOf(v, 'nvidia.driver-version').outcome, 'pass');
    assert.equal(checkOf(v, 'nvidia.vbios-version').outcome, 'pass');
    const w = await verifyGpuEvidence(e, {
      nonce: e.nonce,
      now: NOW,
      referenceValues: { driverVersions: ['550.90.07'] },
    });
    assert.equal(checkOf(w, 'nvidia.driver-version').outcome, 'fail');
  });
});
