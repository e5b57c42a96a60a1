/**
 * `measure snp|tdx` against an independent Python computation written from the specifications
 * (test-toolchains/measure/measure_ref.py, stdlib only), on synthetic OVMF/TDVF images that carry
 * real footer tables and metadata. (The EC2 path is also checked against sev-snp-measure's published
 * digests in test/verify/reference/measure.test.ts; QEMU, direct boot and TDX are checked here.)
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { measureSnp, measureTdx, VCPU_TYPES } from '../src/verify/reference/measure.ts';
import { sevOvmf, tdvfImage } from '../test/verify/reference/firmware.ts';

const python = process.env.WASMVM_PYTHON ?? '/usr/bin/python3';
const script = fileURLToPath(new URL('./measure/measure_ref.py', import.meta.url));
const available = spawnSync(python, ['-c', 'import hashlib'], { encoding: 'utf8' }).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'wasmvm-measure-xc-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function py(args: string[]): string {
  const r = spawnSync(python, [script, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('measure: cross-check with an independent Python computation', {
  skip: !available && !process.env.CI ? `${python} missing` : false,
}, () => {
  const sections = [
    { gpa: 0x800000, size: 0x9000, type: 1 },
    { gpa: 0x809000, size: 0x1000, type: 2 },
    { gpa: 0x80a000, size: 0x1000, type: 3 },
    { gpa: 0x80b000, size: 0x2000, type: 4 },
    { gpa: 0x80d000, size: 0x1000, type: 0x10 },
    { gpa: 0x80e000, size: 0x3000, type: 1 },
  ];
  const ovmf = sevOvmf({ pages: 32, sections, resetEip: 0x80b004, hashTableGpa: 0x80dc00 });
  const f = join(tmp, 'ovmf.fd');
  writeFileSync(f, ovmf);
  const kernel = join(tmp, 'vmlinuz');
  const initrd = join(tmp, 'initrd');
  writeFileSync(kernel, Buffer.from('a kernel'.repeat(999)));
  writeFileSync(initrd, Buffer.from('an initrd'.repeat(555)));

  for (const [vmm, vcpus, type] of [
    ['qemu', 1, 'EPYC-v4'],
    ['qemu', 4, 'EPYC-Milan'],
    ['ec2', 3, 'EPYC-Genoa'],
  ] as const) {
    it(`snp ${vmm}, ${vcpus} vCPU(s), ${type}, with and without direct boot`, () => {
      const sig = VCPU_TYPES[type]!;
      const ts = measureSnp({ ovmf, vcpus, vmm, vcpuType: type }).toString('hex');
      assert.equal(ts, py(['snp', f, String(vcpus), vmm, sig.toString(16)]));
      const tk = measureSnp({
        ovmf,
        vcpus,
        vmm,
        vcpuType: type,
        kernel: Buffer.from('a kernel'.repeat(999)),
        initrd: Buffer.from('an initrd'.repeat(555)),
        append: 'console=ttyS0 root=/dev/vda',
      }).toString('hex');
      assert.equal(
        tk,
        py(['snp', f, String(vcpus), vmm, sig.toString(16), kernel, initrd, 'console=ttyS0 root=/dev/vda']),
      );
      assert.notEqual(ts, tk);
    });
  }

  it('tdx single-pass and two-pass', () => {
    const fw = tdvfImage(16, [
      {
        dataOffset: 0x2000,
        rawDataSize: 0x4000,
        memoryAddress: 0xfffc0000,
        memoryDataSize: 0x4000,
        type: 0,
        attributes: 1,
      },
      {
        dataOffset: 0x6000,
        rawDataSize: 0x1000,
        memoryAddress: 0xffc84000,
        memoryDataSize: 0x1000,
        type: 1,
        attributes: 1,
      },
      {
        dataOffset: 0,
        rawDataSize: 0,
        memoryAddress: 0x809000,
        memoryDataSize: 0x2000,
        type: 2,
        attributes: 0,
      },
      {
        dataOffset: 0,
        rawDataSize: 0,
        memoryAddress: 0x80b000,
        memoryDataSize: 0x3000,
        type: 3,
        attributes: 0,
      },
      {
        dataOffset: 0,
        rawDataSize: 0,
        memoryAddress: 0x900000,
        memoryDataSize: 0x1000,
        type: 3,
        attributes: 2,
      },
    ]);
    const t = join(tmp, 'tdvf.fd');
    writeFileSync(t, fw);
    for (const order of ['single-pass', 'two-pass'] as const)
      assert.equal(measureTdx({ tdvf: fw, pageOrder: order }).toString('hex'), py(['tdx', t, order]));
  });
});
