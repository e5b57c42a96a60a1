import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cpuSig,
  type MeasureError,
  measureSnp,
  measureTdx,
  parseOvmf,
  VCPU_TYPES,
  vmsaPage,
} from '../../../src/verify/reference/measure.ts';
import { sevOvmf, tdvfImage } from './firmware.ts';

/**
 * Published vectors: virtee/sev-snp-measure-go guest/guest_test.go + guest/testdata/ovmf_img_{1,2}.json,
 * whose expected digests were "created by running sev-snp-measure.py --mode snp --vcpus 2 --vmm-type ec2
 * --snp-ovmf-hash <hash>" on two real OVMF builds. The JSON files give every input the computation
 * needs besides the OVMF pages themselves (whose digest is the given OVMF hash): the SEV metadata
 * sections and the SEV-ES reset EIP. The test builds an OVMF image carrying exactly that metadata.
 */
const GO_SECTIONS = [
  { gpa: 0x800000, size: 0x9000, type: 1 },
  { gpa: 0x80a000, size: 0x3000, type: 1 },
  { gpa: 0x80d000, size: 0x1000, type: 2 },
  { gpa: 0x80e000, size: 0x1000, type: 3 },
  { gpa: 0x80f000, size: 0x11000, type: 1 },
];
const GO_VECTORS = [
  {
    ovmfHash:
      'a58211791a556a630a4319dc9e2ea96cc0e9784dd9f20a4fadf81b26c98d163fcdcb6703884bbbb80d7b1de45b3d84d0',
    expected:
      '4c6e33087d08fa770259484dddbef367086a15c3e2cf10038dc97229d39c942671c2e22b300178f8de594a3f2fa59303',
  },
  {
    ovmfHash:
      '2027a27bb9f7acfd280e4c7bd68a73973b94bf0756e5b282e004b9395f597b8d0eb4defa7d8f6549375aa4d2b146f0f3',
    expected:
      'c2c84b9364fc9f0f54b04534768c860c6e0e386ad98b96e8b98eca46ac8971d05c531ba48373f054c880cfd1f4a0a84e',
  },
];

describe('measure snp', () => {
  it('reproduces sev-snp-measure published digests (EC2, 2 vCPUs, given OVMF hash)', () => {
    const ovmf = sevOvmf({ pages: 16, sections: GO_SECTIONS, resetEip: 0x80b004 });
    for (const v of GO_VECTORS) {
      const ld = measureSnp({
        ovmf,
        vcpus: 2,
        vmm: 'ec2',
        ovmfHash: Buffer.from(v.ovmfHash, 'hex'),
      });
      assert.equal(ld.toString('hex'), v.expected);
    }
    // Any change to an input changes the digest (the test can fail)
    const seed = Buffer.from(GO_VECTORS[0]!.ovmfHash, 'hex');
    assert.notEqual(
      measureSnp({ ovmf, vcpus: 1, vmm: 'ec2', ovmfHash: seed }).toString('hex'),
      GO_VECTORS[0]!.expected,
    );
    const moved = sevOvmf({ pages: 16, sections: GO_SECTIONS, resetEip: 0x80b008 });
    assert.notEqual(
      measureSnp({ ovmf: moved, vcpus: 2, vmm: 'ec2', ovmfHash: seed }).toString('hex'),
      GO_VECTORS[0]!.expected,
    );
  });

  it('CPUID signatures and the VMSA layout', () => {
    assert.equal(VCPU_TYPES['EPYC-v4'], 0x00800f12);
    assert.equal(VCPU_TYPES['EPYC-Milan'], 0x00a00f11);
    assert.equal(VCPU_TYPES['EPYC-Genoa'], 0x00a10f10);
    assert.equal(cpuSig(26, 0, 0), 0x00b00f00);
    const v = vmsaPage(0xfffffff0, VCPU_TYPES['EPYC-Milan']!, 'qemu', 1n);
    assert.equal(v.length, 4096);
    assert.equal(v.readUInt16LE(0x10), 0xf000); // CS selector
    assert.equal(v.readBigUInt64LE(0x18), 0xffff0000n); // CS base
    assert.equal(v.readBigUInt64LE(0x178), 0xfff0n); // RIP
    assert.equal(v.readBigUInt64LE(0x310), 0xa00f11n); // RDX = CPUID signature
    assert.equal(v.readBigUInt64LE(0x3b0), 1n); // SEV_FEATURES
    assert.equal(v.readBigUInt64LE(0x3e8), 1n); // XCR0
  });

  it('the OVMF pages, direct boot and vCPU count all enter the digest', () => {
    const sections = [...GO_SECTIONS, { gpa: 0x810000, size: 0x1000, type: 0x10 }];
    const ovmf = sevOvmf({ pages: 8, sections, resetEip: 0x80b004, hashTableGpa: 0x810c00 });
    const base = { ovmf, vcpus: 4, vcpuType: 'EPYC-Milan' } as const;
    const a = measureSnp(base).toString('hex');
    const kernel = Buffer.from('kernel image');
    const withKernel = measureSnp({ ...base, kernel, append: 'console=ttyS0' }).toString('hex');
    const otherCmdline = measureSnp({ ...base, kernel, append: 'console=ttyS1' }).toString('hex');
    const otherType = measureSnp({ ...base, vcpuType: 'EPYC-Genoa' }).toString('hex');
    const flipped = Buffer.from(ovmf);
    flipped[5] = (flipped[5]! ^ 1) & 0xff;
    const otherFw = measureSnp({ ...base, ovmf: flipped }).toString('hex');
    assert.equal(new Set([a, withKernel, otherCmdline, otherType, otherFw]).size, 5);
    // the OVMF-hash shortcut equals hashing the pages
    const info = parseOvmf(ovmf);
    assert.equal(info.gpa, 0x1_0000_0000 - 8 * 4096);
  });

  it('bad input gets a coded error', () => {
    const plain = Buffer.alloc(8192);
    assert.throws(
      () => measureSnp({ ovmf: plain, vcpus: 1, vcpuType: 'EPYC' }),
      (e: MeasureError) => e.code === 'MEASURE_BAD_FIRMWARE',
    );
    const ovmf = sevOvmf({ pages: 8, sections: GO_SECTIONS, resetEip: 0x80b004 });
    assert.throws(
      () => measureSnp({ ovmf, vcpus: 1, vcpuType: 'EPYC', kernel: Buffer.from('k') }),
      (e: MeasureError) => e.code === 'MEASURE_NO_KERNEL_HASHES',
    );
    assert.throws(
      () => measureSnp({ ovmf, vcpus: 1, vcpuType: 'Skylake' }),
      (e: MeasureError) => e.code === 'MEASURE_BAD_INPUT',
    );
    assert.throws(
      () => measureSnp({ ovmf, vcpus: 1, vmm: 'gce' }),
      (e: MeasureError) => e.code === 'MEASURE_UNSUPPORTED',
    );
  });
});

describe('measure tdx', () => {
  const sections = [
    // BFV: measured (MR.EXTEND), 3 pages at the top of 4 GiB
    {
      dataOffset: 0x1000,
      rawDataSize: 0x3000,
      memoryAddress: 0xfffc0000,
      memoryDataSize: 0x3000,
      type: 0,
      attributes: 1,
    },
    // TD HOB and temp memory: added, not extended
    {
      dataOffset: 0,
      rawDataSize: 0,
      memoryAddress: 0x809000,
      memoryDataSize: 0x2000,
      type: 2,
      attributes: 0,
    },
    // PAGE.AUG section: neither added nor extended
    {
      dataOffset: 0,
      rawDataSize: 0,
      memoryAddress: 0x900000,
      memoryDataSize: 0x1000,
      type: 3,
      attributes: 2,
    },
  ];
  it('single-pass and two-pass orders differ; AUG sections do not count', () => {
    const fw = tdvfImage(8, sections);
    const single = measureTdx({ tdvf: fw }).toString('hex');
    const two = measureTdx({ tdvf: fw, pageOrder: 'two-pass' }).toString('hex');
    assert.notEqual(single, two);
    const noAug = tdvfImage(8, sections.slice(0, 2));
    // the PAGE.AUG section is neither added nor extended: removing it leaves MRTD unchanged
    assert.equal(measureTdx({ tdvf: noAug }).toString('hex'), single);
    const changed = Buffer.from(fw);
    changed[0x1000 + 300] = (changed[0x1000 + 300]! ^ 0x80) & 0xff; // a byte of the measured BFV
    assert.notEqual(measureTdx({ tdvf: changed }).toString('hex'), single);
  });
  it('a non-TDVF image is refused', () => {
    assert.throws(
      () => measureTdx({ tdvf: Buffer.alloc(8192) }),
      (e: MeasureError) => e.code === 'MEASURE_BAD_FIRMWARE',
    );
  });
});

describe('wasmvm-tee measure (CLI)', async () => {
  const { main } = await import('../../../src/cli/measure.ts');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  async function run(args: string[]) {
    let out = '';
    let err = '';
    const code = await main(args, {
      out: (s) => {
        out += `${s}\n`;
      },
      err: (s) => {
        err += `${s}\n`;
      },
    });
    return { code, out, err };
  }
  it('snp and tdx print the measurement; bad input exits 2 with a code', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-measure-'));
    const ovmf = join(tmp, 'ovmf.fd');
    writeFileSync(ovmf, sevOvmf({ pages: 16, sections: GO_SECTIONS, resetEip: 0x80b004 }));
    const r = await run([
      'snp',
      '--ovmf',
      ovmf,
      '--vcpus',
      '2',
      '--vmm',
      'ec2',
      '--snp-ovmf-hash',
      GO_VECTORS[0]!.ovmfHash,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), GO_VECTORS[0]!.expected);
    const q = await run(['snp', '--ovmf', ovmf, '--vcpus', '1', '--vcpu-type', 'EPYC-Milan', '--json']);
    assert.equal(q.code, 0, q.err);
    assert.match(JSON.parse(q.out).measurement, /^[0-9a-f]{96}$/);
    const tdvf = join(tmp, 'tdvf.fd');
    writeFileSync(
      tdvf,
      tdvfImage(8, [
        {
          dataOffset: 0x1000,
          rawDataSize: 0x1000,
          memoryAddress: 0xfffc0000,
          memoryDataSize: 0x1000,
          type: 0,
          attributes: 1,
        },
      ]),
    );
    const t = await run(['tdx', '--tdvf', tdvf]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out.trim(), /^[0-9a-f]{96}$/);
    const bad = await run(['tdx', '--tdvf', ovmf]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /MEASURE_BAD_FIRMWARE/);
    const noKernelHashes = await run([
      'snp',
      '--ovmf',
      ovmf,
      '--vcpus',
      '1',
      '--vcpu-type',
      'EPYC',
      '--kernel',
      ovmf,
    ]);
    assert.match(noKernelHashes.err, /MEASURE_NO_KERNEL_HASHES/);
    assert.equal((await run(['snp', '--ovmf', ovmf])).code, 2);
    rmSync(tmp, { recursive: true, force: true });
  });
});
