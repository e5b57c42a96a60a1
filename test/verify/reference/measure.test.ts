import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cpuSig,
  GUIDS,
  type MeasureError,
  measureSnp,
  measureTdx,
  parseOvmf,
  VCPU_TYPES,
  vmsaGpa,
  vmsaPage,
} from '../../../src/verify/reference/measure.ts';
import { sevOvmf, tdvfImage, withFooterTable } from './firmware.ts';

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
      () => measureSnp({ ovmf, vcpus: 1, vmm: 'gce', kernel: Buffer.from('k') }),
      (e: MeasureError) => e.code === 'MEASURE_UNSUPPORTED',
    );
    assert.throws(
      () => measureSnp({ ovmf, vcpus: 1, vcpuType: 'EPYC', product: 'genoa' }),
      (e: MeasureError) => e.code === 'MEASURE_BAD_INPUT',
    );
  });
});

/**
 * Published vectors for GCE: google/gce-tcb-verifier sev/sev_test.go. TestLaunchDigest builds
 * `ovmfsev.CleanExample(t, 0x1000)` (its Python reference script is in the test's comment) and expects
 * the 1-vCPU Milan digest; TestUnsignedSnp measures the same image with 4 VMSAs. The image: 4 KiB of
 * zeros with "LGTM"×4 at 0x800 and 0xa00, the ASEV metadata at offset 0 (SNP_SEC_MEM 0xff001000, CPUID
 * 0xff003000, SNP_SECRETS 0xff004000, one page each), and a footer table (metadata offset 0x1000, SEV-ES
 * reset block address 0xff0000ff) ending 0x20 bytes before the end.
 */
function gceCleanExample(o: { resetBlock?: boolean } = {}): Buffer {
  const fw = Buffer.alloc(0x1000);
  fw.write('LGTM'.repeat(4), 0x800, 'latin1');
  fw.write('LGTM'.repeat(4), 0xa00, 'latin1');
  const words = [0x56455341, 0x34, 1, 3, 0xff001000, 0x1000, 1, 0xff003000, 0x1000, 3, 0xff004000, 0x1000, 2];
  for (const [i, w] of words.entries()) fw.writeUInt32LE(w, i * 4);
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const entries: [string, Buffer][] = [[GUIDS.sevMetadata, u32(0x1000)]];
  if (o.resetBlock !== false) entries.push([GUIDS.sevEsResetBlock, u32(0xff0000ff)]);
  return withFooterTable(fw, entries);
}

describe('measure snp --vmm gce (Google gce-tcb-verifier vectors)', () => {
  it('1 vCPU on Milan: TestLaunchDigest', () => {
    assert.equal(
      measureSnp({ ovmf: gceCleanExample(), vcpus: 1, vmm: 'gce' }).toString('hex'),
      '06843de00c62bb9a12fd870bd340e1af8b0ebf516e3fe04f5c9add43b7981a1df2e825b4c712fbd87c97b129eba2e6de',
    );
  });

  it('4 VMSAs on Milan: TestUnsignedSnp', () => {
    assert.equal(
      measureSnp({ ovmf: gceCleanExample(), vcpus: 4, vmm: 'gce', product: 'milan' }).toString('hex'),
      '1a8cd8039cdcdcd1ec9800ca215ba5cbbed437697debf0b2fc1a9b873f1eb15f82dc7d5cf246dbee4df1bb9d3b6c7a16',
    );
  });

  it('the BSP VMSA is byte-identical to TestPutVmsa (G_PAT 0x70106, RDX 0x600)', () => {
    const v = vmsaPage(0xfffffff0, 0, 'gce', 1n);
    // the non-zero bytes of gce-tcb-verifier's vmsaBytes, offset → value
    const want = new Map<number, number>([
      [0x02, 0x93],
      [0x04, 0xff],
      [0x05, 0xff],
      [0x11, 0xf0],
      [0x12, 0x9b],
      [0x14, 0xff],
      [0x15, 0xff],
      [0x1a, 0xff],
      [0x1b, 0xff],
      [0x22, 0x93],
      [0x24, 0xff],
      [0x25, 0xff],
      [0x32, 0x93],
      [0x34, 0xff],
      [0x35, 0xff],
      [0x42, 0x93],
      [0x44, 0xff],
      [0x45, 0xff],
      [0x52, 0x93],
      [0x54, 0xff],
      [0x55, 0xff],
      [0x64, 0xff],
      [0x65, 0xff],
      [0x72, 0x82],
      [0x74, 0xff],
      [0x75, 0xff],
      [0x84, 0xff],
      [0x85, 0xff],
      [0x92, 0x8b],
      [0x94, 0xff],
      [0x95, 0xff],
      [0xd1, 0x10],
      [0x148, 0x40],
      [0x158, 0x10],
      [0x161, 0x04],
      [0x168, 0xf0],
      [0x169, 0x0f],
      [0x16a, 0xff],
      [0x16b, 0xff],
      [0x170, 0x02],
      [0x178, 0xf0],
      [0x179, 0xff],
      [0x268, 0x06],
      [0x269, 0x01],
      [0x26a, 0x07],
      [0x311, 0x06],
      [0x3b0, 0x01],
      [0x3e8, 0x01],
    ]);
    for (let i = 0; i < 4096; i++) assert.equal(v[i], want.get(i) ?? 0, `VMSA byte 0x${i.toString(16)}`);
  });

  it('Genoa places the VMSA at its 52-bit top page: a different digest', () => {
    assert.equal(vmsaGpa('gce', 'genoa'), 0xfffffffff000 * 16 + 0xf000);
    assert.equal(vmsaGpa('gce', 'milan'), 0xfffffffff000);
    assert.equal(vmsaGpa('qemu'), 0xfffffffff000);
    const milan = measureSnp({ ovmf: gceCleanExample(), vcpus: 1, vmm: 'gce' });
    const genoa = measureSnp({ ovmf: gceCleanExample(), vcpus: 1, vmm: 'gce', product: 'genoa' });
    assert.notEqual(genoa.toString('hex'), milan.toString('hex'));
  });

  it('SNP_SEC_MEM is UNMEASURED under GCE, ZERO under QEMU: the same image measures differently', () => {
    const qemu = measureSnp({ ovmf: gceCleanExample(), vcpus: 1, vcpuSig: 0x600, vmm: 'qemu' });
    assert.notEqual(
      qemu.toString('hex'),
      measureSnp({ ovmf: gceCleanExample(), vcpus: 1, vmm: 'gce' }).toString('hex'),
    );
  });

  it('firmware GCE cannot launch is refused with MEASURE_BAD_FIRMWARE', () => {
    assert.throws(
      () => measureSnp({ ovmf: gceCleanExample({ resetBlock: false }), vcpus: 1, vmm: 'gce' }),
      (e: MeasureError) => e.code === 'MEASURE_BAD_FIRMWARE' && /reset block/.test(e.message),
    );
    const mk = (sections: number[][]) => {
      const fw = gceCleanExample();
      fw.fill(0, 0, 0x40);
      const words = [0x56455341, 16 + 12 * sections.length, 1, sections.length, ...sections.flat()];
      for (const [i, w] of words.entries()) fw.writeUInt32LE(w, i * 4);
      return fw;
    };
    const cases: [string, number[][]][] = [
      [
        'no CPUID',
        [
          [0xff001000, 0x1000, 1],
          [0xff004000, 0x1000, 2],
        ],
      ],
      [
        'two SECRETS',
        [
          [0xff001000, 0x1000, 1],
          [0xff003000, 0x1000, 3],
          [0xff004000, 0x1000, 2],
          [0xff005000, 0x1000, 2],
        ],
      ],
      [
        'no SNP_SEC_MEM',
        [
          [0xff003000, 0x1000, 3],
          [0xff004000, 0x1000, 2],
        ],
      ],
      [
        'overlap',
        [
          [0xff001000, 0x3000, 1],
          [0xff003000, 0x1000, 3],
          [0xff004000, 0x1000, 2],
        ],
      ],
      [
        'empty section',
        [
          [0xff001000, 0, 1],
          [0xff003000, 0x1000, 3],
          [0xff004000, 0x1000, 2],
        ],
      ],
    ];
    for (const [what, sections] of cases)
      assert.throws(
        () => measureSnp({ ovmf: mk(sections), vcpus: 1, vmm: 'gce' }),
        (e: MeasureError) => e.code === 'MEASURE_BAD_FIRMWARE' && /^GCE firmware: /.test(e.message),
        what,
      );
    // the same images are still measured under QEMU (sev-snp-measure does not check these)
    assert.equal(measureSnp({ ovmf: mk(cases[0]![1]), vcpus: 1, vcpuType: 'EPYC' }).length, 48);
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

  it("snp --vmm gce prints Google's vector; --product is checked", async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-tee-measure-'));
    const fw = join(tmp, 'gce.fd');
    writeFileSync(fw, gceCleanExample());
    const r = await run([
      'snp',
      '--ovmf',
      fw,
      '--vcpus',
      '4',
      '--vmm',
      'gce',
      '--product',
      'milan',
      '--json',
    ]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(
      j.measurement,
      '1a8cd8039cdcdcd1ec9800ca215ba5cbbed437697debf0b2fc1a9b873f1eb15f82dc7d5cf246dbee4df1bb9d3b6c7a16',
    );
    assert.equal(j.inputs.vmm, 'gce');
    assert.equal(j.inputs.product, 'milan');
    const turin = await run(['snp', '--ovmf', fw, '--vcpus', '1', '--vmm', 'gce', '--product', 'turin']);
    assert.equal(turin.code, 2);
    assert.match(turin.err, /--product: milan or genoa/);
    const qemuProduct = await run([
      'snp',
      '--ovmf',
      fw,
      '--vcpus',
      '1',
      '--vcpu-type',
      'EPYC',
      '--product',
      'genoa',
    ]);
    assert.equal(qemuProduct.code, 2);
    assert.match(qemuProduct.err, /MEASURE_BAD_INPUT: .*gce/);
    rmSync(tmp, { recursive: true, force: true });
  });
});
