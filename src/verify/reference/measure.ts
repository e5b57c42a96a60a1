/**
 * Expected launch measurements, computed from the artefacts a VM boots from.
 *
 * SEV-SNP (AMD SEV-SNP ABI spec, SNP_LAUNCH_UPDATE and the PAGE_INFO structure): the launch digest
 * starts as 48 zero bytes; every page the VMM adds folds in as
 *   LD = SHA-384(LD ‖ CONTENTS(48) ‖ LENGTH=0x70 (u16) ‖ PAGE_TYPE (u8) ‖ IMI_PAGE=0 ‖ VMPL3/2/1 perms=0 ‖ 0 ‖ GPA (u64))
 * where CONTENTS is SHA-384 of the page for NORMAL and VMSA pages, zero otherwise. The pages are, in
 * order (as QEMU/EC2 add them and the public sev-snp-measure tool reproduces): the whole OVMF image as
 * NORMAL pages ending at 4 GiB; then the OVMF SEV metadata sections (SNP_SEC_MEM and SVSM_CAA: ZERO
 * pages; SNP_SECRETS: a SECRETS page; CPUID: a CPUID page, which EC2 adds after every other section;
 * SNP_KERNEL_HASHES: the page holding QEMU's kernel/initrd/cmdline hash table for direct boot, or ZERO
 * pages without a kernel); then one VMSA page per vCPU at GPA 0xFFFFFFFFF000, the BSP starting at the
 * reset vector and the APs at the SEV-ES reset block's EIP, with RDX = the vCPU type's CPUID signature
 * (QEMU) and the VMM's segment attributes.
 *
 * GCE (Google's published reconstruction, github.com/google/gce-tcb-verifier sev/ld_from_ovmf.go, and
 * its test vectors): the same OVMF pages, then the metadata sections in table order with SNP_SEC_MEM as
 * UNMEASURED pages (type 4, not ZERO), SVSM_CAA and SNP_KERNEL_HASHES as ZERO pages, SECRETS and CPUID
 * as above (GCE has no direct kernel boot); then one VMSA per vCPU with G_PAT 0x70106 and RDX 0x600,
 * measured at the product's highest page-aligned GPA (Milan 48-bit: 0xFFFFFFFFF000; Genoa 52-bit:
 * 0xFFFFFFFFFF000).
 *
 * TDX (Intel TDX module ABI, TDH.MEM.PAGE.ADD / TDH.MR.EXTEND; TDVF metadata, Intel TDVF design
 * guide): MRTD = SHA-384 over, for each TDVF metadata section not marked PAGE.AUG, one 128-byte
 * "MEM.PAGE.ADD" record per page (ASCII at 0, GPA at 16), and for sections marked MR.EXTEND the
 * page's content in 256-byte chunks, each preceded by a 128-byte "MR.EXTEND" record (ASCII at 0, GPA
 * at 16). KVM (upstream) extends each page right after adding it ("single-pass"); older TDX stacks
 * added all of a section's pages first ("two-pass").
 *
 * Node only (Buffer throughout; firmware files are read by the CLI): not part of the browser build.
 */

import { createHasher, digest } from '../../util/digest.ts';
import { WasmvmTeeError } from '../../util/errors.ts';
import { cpuSig, VCPU_TYPES } from '../defaults.ts';

export type MeasureErrorCode =
  | 'MEASURE_BAD_FIRMWARE' // no OVMF footer table / SEV metadata / TDVF metadata, or inconsistent
  | 'MEASURE_NO_KERNEL_HASHES' // kernel given, firmware has no SNP_KERNEL_HASHES section
  | 'MEASURE_UNSUPPORTED' // an option this tool cannot compute honestly
  | 'MEASURE_BAD_INPUT';

export class MeasureError extends WasmvmTeeError<MeasureErrorCode> {}

const PAGE = 4096;
const FOUR_GB = 0x1_0000_0000;

/** GUID as stored on disk (first three fields little-endian). */
export function guidBytes(guid: string): Buffer {
  const h = guid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(h)) throw new MeasureError('MEASURE_BAD_INPUT', `bad GUID ${guid}`);
  const b = Buffer.from(h, 'hex');
  return Buffer.concat([
    Buffer.from(b.subarray(0, 4)).reverse(),
    Buffer.from(b.subarray(4, 6)).reverse(),
    Buffer.from(b.subarray(6, 8)).reverse(),
    b.subarray(8),
  ]);
}

export const GUIDS = {
  footer: '96b582de-1fb2-45f7-baea-a366c55a082d',
  sevHashTable: '7255371f-3a3b-4b04-927b-1da6efa8d454',
  sevEsResetBlock: '00f771de-1a7e-4fcb-890e-68c77e2fb44e',
  sevMetadata: 'dc886566-984a-4798-a75e-5585a7bf67cc',
  tdxMetadata: 'e47a6535-984a-4798-865e-4685a7bf8ec2',
  hashTableHeader: '9438d606-4f22-4cc9-b479-a793d411fd21',
  kernelEntry: '4de79437-abd2-427f-b835-d5b172d2045b',
  initrdEntry: '44baf731-3a2f-4bd7-9af1-41e29169781d',
  cmdlineEntry: '97d02dd8-bd20-4c94-aa78-e7714d36ab2a',
} as const;

/**
 * The OVMF GUIDed footer table: it ends 32 bytes before the end of the image with
 * { u16 size, GUID footer }; entries before it are { data, u16 size, GUID }, read backwards.
 */
export function parseFooterTable(fw: Uint8Array): Map<string, Buffer> {
  const b = Buffer.from(fw.buffer, fw.byteOffset, fw.byteLength);
  const table = new Map<string, Buffer>();
  const end = b.length - 32;
  if (end < 18) throw new MeasureError('MEASURE_BAD_FIRMWARE', 'image too small for an OVMF footer table');
  if (!b.subarray(end - 16, end).equals(guidBytes(GUIDS.footer)))
    throw new MeasureError('MEASURE_BAD_FIRMWARE', 'no OVMF GUIDed footer table at the end of the image');
  const total = b.readUInt16LE(end - 18);
  if (total < 18 || total > end)
    throw new MeasureError('MEASURE_BAD_FIRMWARE', `footer table size ${total} is out of range`);
  let t = b.subarray(end - total, end - 18);
  while (t.length >= 18) {
    const guid = t.subarray(t.length - 16);
    const size = t.readUInt16LE(t.length - 18);
    if (size < 18 || size > t.length)
      throw new MeasureError('MEASURE_BAD_FIRMWARE', `footer table entry size ${size} is out of range`);
    table.set(guidString(guid), Buffer.from(t.subarray(t.length - size, t.length - 18)));
    t = t.subarray(0, t.length - size);
  }
  return table;
}

function guidString(le: Buffer): string {
  const h = Buffer.concat([
    Buffer.from(le.subarray(0, 4)).reverse(),
    Buffer.from(le.subarray(4, 6)).reverse(),
    Buffer.from(le.subarray(6, 8)).reverse(),
    le.subarray(8, 16),
  ]).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---------------------------------------------------------------- SEV-SNP

export const SNP_SECTION = {
  SNP_SEC_MEM: 1,
  SNP_SECRETS: 2,
  CPUID: 3,
  SVSM_CAA: 4,
  SNP_KERNEL_HASHES: 0x10,
} as const;

export interface SevMetadataSection {
  gpa: number;
  size: number;
  type: number;
}

export interface OvmfInfo {
  /** Guest-physical address the image is mapped at (4 GiB − size). */
  gpa: number;
  sections: SevMetadataSection[];
  /** AP reset EIP from the SEV-ES reset block (0 when absent). */
  resetEip: number;
  /** GPA of QEMU's kernel hashes table (0 when absent). */
  hashTableGpa: number;
}

export function parseOvmf(fw: Uint8Array): OvmfInfo {
  if (fw.length === 0 || fw.length % PAGE !== 0)
    throw new MeasureError(
      'MEASURE_BAD_FIRMWARE',
      `OVMF size ${fw.length} is not a positive multiple of 4096`,
    );
  const b = Buffer.from(fw.buffer, fw.byteOffset, fw.byteLength);
  const table = parseFooterTable(fw);
  const meta = table.get(GUIDS.sevMetadata);
  if (!meta || meta.length < 4)
    throw new MeasureError(
      'MEASURE_BAD_FIRMWARE',
      'the OVMF footer table has no SEV metadata entry (not an SEV-SNP OVMF)',
    );
  const start = b.length - meta.readUInt32LE(0);
  if (start < 0 || start + 16 > b.length || b.toString('latin1', start, start + 4) !== 'ASEV')
    throw new MeasureError('MEASURE_BAD_FIRMWARE', 'SEV metadata: no "ASEV" header at the given offset');
  const len = b.readUInt32LE(start + 4);
  const version = b.readUInt32LE(start + 8);
  const n = b.readUInt32LE(start + 12);
  if (version !== 1)
    throw new MeasureError('MEASURE_BAD_FIRMWARE', `SEV metadata version ${version} (expected 1)`);
  if (len < 16 + 12 * n || start + len > b.length)
    throw new MeasureError('MEASURE_BAD_FIRMWARE', 'SEV metadata: section table does not fit');
  const sections: SevMetadataSection[] = [];
  for (let i = 0; i < n; i++) {
    const p = start + 16 + 12 * i;
    sections.push({ gpa: b.readUInt32LE(p), size: b.readUInt32LE(p + 4), type: b.readUInt32LE(p + 8) });
  }
  const reset = table.get(GUIDS.sevEsResetBlock);
  const ht = table.get(GUIDS.sevHashTable);
  return {
    gpa: FOUR_GB - b.length,
    sections,
    resetEip: reset && reset.length >= 4 ? reset.readUInt32LE(0) : 0,
    hashTableGpa: ht && ht.length >= 4 ? ht.readUInt32LE(0) : 0,
  };
}

export { cpuSig, VCPU_TYPES };

export type SnpVmm = 'qemu' | 'ec2' | 'gce';

/** AMD product generations whose guest-physical address width GCE's VMSA GPA depends on. */
export type SnpProduct = 'milan' | 'genoa';
const PRODUCT_GPA_BITS: Record<SnpProduct, number> = { milan: 48, genoa: 52 };

/** The VMSA page's GPA: KVM measures GPA −1, truncated to the product's GPA width and page-aligned. */
export function vmsaGpa(vmm: SnpVmm, product: SnpProduct = 'milan'): number {
  if (vmm !== 'gce') return 0xfffffffff000;
  const bits = PRODUCT_GPA_BITS[product];
  if (bits === undefined)
    throw new MeasureError('MEASURE_BAD_INPUT', `unknown AMD product '${String(product)}'`);
  return Number((1n << BigInt(bits)) - 1n) - 0xfff;
}

export class LaunchDigest {
  ld: Buffer;
  constructor(seed?: Uint8Array) {
    if (seed && seed.length !== 48)
      throw new MeasureError('MEASURE_BAD_INPUT', 'a launch digest seed is 48 bytes');
    this.ld = seed ? Buffer.from(seed) : Buffer.alloc(48);
  }
  private update(type: number, gpa: number, contents: Buffer): void {
    const info = Buffer.alloc(0x70);
    this.ld.copy(info, 0);
    contents.copy(info, 48);
    info.writeUInt16LE(0x70, 96);
    info.writeUInt8(type, 98);
    // IMI_PAGE, VMPL3/2/1 permissions, reserved: 0
    info.writeBigUInt64LE(BigInt(gpa), 104);
    this.ld = Buffer.from(digest('sha384', info));
  }
  normalPages(gpa: number, data: Uint8Array): void {
    if (data.length % PAGE !== 0) throw new MeasureError('MEASURE_BAD_INPUT', 'normal pages: not page-sized');
    for (let off = 0; off < data.length; off += PAGE)
      this.update(1, gpa + off, Buffer.from(digest('sha384', data.subarray(off, off + PAGE))));
  }
  vmsaPage(page: Uint8Array, gpa = 0xfffffffff000): void {
    this.update(2, gpa, Buffer.from(digest('sha384', page)));
  }
  unmeasuredPages(gpa: number, size: number): void {
    if (size % PAGE !== 0)
      throw new MeasureError('MEASURE_BAD_FIRMWARE', `unmeasured section size ${size} not page-sized`);
    for (let off = 0; off < size; off += PAGE) this.update(4, gpa + off, Buffer.alloc(48));
  }
  zeroPages(gpa: number, size: number): void {
    if (size % PAGE !== 0)
      throw new MeasureError('MEASURE_BAD_FIRMWARE', `zero section size ${size} not page-sized`);
    for (let off = 0; off < size; off += PAGE) this.update(3, gpa + off, Buffer.alloc(48));
  }
  secretsPage(gpa: number): void {
    this.update(5, gpa, Buffer.alloc(48));
  }
  cpuidPage(gpa: number): void {
    this.update(6, gpa, Buffer.alloc(48));
  }
}

/** QEMU's SEV hashes table for direct kernel boot (SHA-256 of cmdline‖NUL, initrd, kernel). */
export function sevHashesTable(kernel: Uint8Array, initrd?: Uint8Array, append?: string): Buffer {
  const sha256 = (d: Uint8Array) => Buffer.from(digest('sha256', d));
  const cmdline = Buffer.concat([Buffer.from(append ?? '', 'utf8'), Buffer.from([0])]);
  const entries: [string, Buffer][] = [
    [GUIDS.cmdlineEntry, sha256(cmdline)],
    [GUIDS.initrdEntry, sha256(initrd ?? new Uint8Array())],
    [GUIDS.kernelEntry, sha256(kernel)],
  ];
  const len = 16 + 2 + entries.length * (16 + 2 + 32);
  const t = Buffer.alloc((len + 15) & ~15);
  guidBytes(GUIDS.hashTableHeader).copy(t, 0);
  t.writeUInt16LE(len, 16);
  let p = 18;
  for (const [g, h] of entries) {
    guidBytes(g).copy(t, p);
    t.writeUInt16LE(16 + 2 + 32, p + 16);
    h.copy(t, p + 18);
    p += 50;
  }
  return t;
}

/** The initial VMSA (AMD APM vol. 2, table B-4 layout) of one vCPU, 4096 bytes. */
export function vmsaPage(eip: number, vcpuSig: number, vmm: SnpVmm, guestFeatures: bigint): Buffer {
  const v = Buffer.alloc(PAGE);
  const seg = (off: number, selector: number, attrib: number, limit: number, base: number) => {
    v.writeUInt16LE(selector, off);
    v.writeUInt16LE(attrib, off + 2);
    v.writeUInt32LE(limit, off + 4);
    v.writeBigUInt64LE(BigInt(base), off + 8);
  };
  const q = (off: number, x: bigint | number) => v.writeBigUInt64LE(BigInt(x), off);
  let cs = 0x9b;
  let ss = 0x93;
  let tr = 0x8b;
  let rdx = vcpuSig;
  let gPat = 0x7040600070406n;
  if (vmm === 'gce') {
    // gce-tcb-verifier VmsaV1: GCE's hypervisor sets G_PAT to 0x70106 and RDX to 0x600
    gPat = 0x70106n;
    rdx = 0x600;
  }
  if (vmm === 'ec2') {
    cs = eip === 0xfffffff0 ? 0x9a : 0x9b;
    ss = 0x92;
    tr = 0x83;
    rdx = 0;
  }
  seg(0x00, 0, 0x93, 0xffff, 0); // es
  seg(0x10, 0xf000, cs, 0xffff, (eip & 0xffff0000) >>> 0); // cs
  seg(0x20, 0, ss, 0xffff, 0); // ss
  seg(0x30, 0, 0x93, 0xffff, 0); // ds
  seg(0x40, 0, 0x93, 0xffff, 0); // fs
  seg(0x50, 0, 0x93, 0xffff, 0); // gs
  seg(0x60, 0, 0, 0xffff, 0); // gdtr
  seg(0x70, 0, 0x82, 0xffff, 0); // ldtr
  seg(0x80, 0, 0, 0xffff, 0); // idtr
  seg(0x90, 0, tr, 0xffff, 0); // tr
  q(0xd0, 0x1000); // EFER.SVME (KVM)
  q(0x148, 0x40); // CR4.MCE (KVM)
  q(0x158, 0x10); // CR0.ET
  q(0x160, 0x400); // DR7
  q(0x168, 0xffff0ff0); // DR6
  q(0x170, 0x2); // RFLAGS
  q(0x178, eip & 0xffff); // RIP
  q(0x268, gPat); // G_PAT
  q(0x310, rdx); // RDX
  q(0x3b0, guestFeatures); // SEV_FEATURES
  q(0x3e8, 0x1); // XCR0
  return v;
}

export interface SnpMeasureOptions {
  ovmf: Uint8Array;
  vcpus: number;
  /** QEMU CPU model name (VCPU_TYPES) or a numeric CPUID signature. Ignored for EC2 and GCE. */
  vcpuType?: string;
  vcpuSig?: number;
  vmm?: SnpVmm;
  /** GCE only: the AMD product the VM runs on (its GPA width places the VMSA page). Default milan. */
  product?: SnpProduct;
  kernel?: Uint8Array;
  initrd?: Uint8Array;
  append?: string;
  /** SEV_FEATURES of the VMSAs (default 0x1: SNP active). */
  guestFeatures?: bigint;
  /** Precomputed launch digest after the OVMF pages (sev-snp-measure --snp-ovmf-hash). */
  ovmfHash?: Uint8Array;
}

/** The SEV-SNP launch MEASUREMENT a VM booted from these artefacts reports (48 bytes). */
export function measureSnp(o: SnpMeasureOptions): Buffer {
  const vmm = o.vmm ?? 'qemu';
  if (vmm !== 'qemu' && vmm !== 'ec2' && vmm !== 'gce')
    throw new MeasureError('MEASURE_BAD_INPUT', `unknown VMM '${String(vmm)}'`);
  if (!Number.isInteger(o.vcpus) || o.vcpus < 1 || o.vcpus > 512)
    throw new MeasureError('MEASURE_BAD_INPUT', '--vcpus must be 1..512');
  let sig = o.vcpuSig ?? 0;
  if (vmm === 'qemu' && o.vcpuSig === undefined) {
    const s = o.vcpuType ? VCPU_TYPES[o.vcpuType] : undefined;
    if (s === undefined)
      throw new MeasureError(
        'MEASURE_BAD_INPUT',
        `--vcpu-type '${o.vcpuType ?? ''}' unknown (one of ${Object.keys(VCPU_TYPES).join(', ')})`,
      );
    sig = s;
  }
  if (o.product !== undefined && vmm !== 'gce')
    throw new MeasureError('MEASURE_BAD_INPUT', 'the AMD product only matters under --vmm gce');
  const vmsaAt = vmsaGpa(vmm, o.product);
  const info = parseOvmf(o.ovmf);
  if (vmm === 'gce') checkGceFirmware(info, o);
  const gctx = new LaunchDigest(o.ovmfHash);
  if (!o.ovmfHash) gctx.normalPages(info.gpa, o.ovmf);
  let hashesPage: Buffer | undefined;
  if (o.kernel) {
    if (!info.sections.some((s) => s.type === SNP_SECTION.SNP_KERNEL_HASHES))
      throw new MeasureError(
        'MEASURE_NO_KERNEL_HASHES',
        "a kernel was given but the OVMF SEV metadata has no SNP_KERNEL_HASHES section (build OVMF's AmdSev package for direct boot)",
      );
    if (!info.hashTableGpa)
      throw new MeasureError('MEASURE_BAD_FIRMWARE', 'no SEV hash table GPA in the OVMF footer table');
    const table = sevHashesTable(o.kernel, o.initrd, o.append);
    const off = info.hashTableGpa & 0xfff;
    if (off + table.length > PAGE)
      throw new MeasureError('MEASURE_BAD_FIRMWARE', 'hash table crosses a page');
    hashesPage = Buffer.alloc(PAGE);
    table.copy(hashesPage, off);
  }
  for (const s of info.sections) {
    switch (s.type) {
      case SNP_SECTION.SNP_SEC_MEM:
        if (vmm === 'gce') gctx.unmeasuredPages(s.gpa, s.size);
        else gctx.zeroPages(s.gpa, s.size);
        break;
      case SNP_SECTION.SVSM_CAA:
        gctx.zeroPages(s.gpa, s.size);
        break;
      case SNP_SECTION.SNP_SECRETS:
        gctx.secretsPage(s.gpa);
        break;
      case SNP_SECTION.CPUID:
        if (vmm !== 'ec2') gctx.cpuidPage(s.gpa);
        break;
      case SNP_SECTION.SNP_KERNEL_HASHES:
        if (hashesPage) {
          if (s.size !== PAGE)
            throw new MeasureError(
              'MEASURE_BAD_FIRMWARE',
              `SNP_KERNEL_HASHES section is ${s.size} bytes, not one page`,
            );
          gctx.normalPages(s.gpa, hashesPage);
        } else gctx.zeroPages(s.gpa, s.size);
        break;
      default:
        throw new MeasureError('MEASURE_BAD_FIRMWARE', `unknown OVMF SEV metadata section type ${s.type}`);
    }
  }
  if (vmm === 'ec2') for (const s of info.sections) if (s.type === SNP_SECTION.CPUID) gctx.cpuidPage(s.gpa);
  if (o.vcpus > 1 && !info.resetEip)
    throw new MeasureError(
      'MEASURE_BAD_FIRMWARE',
      'more than one vCPU but the OVMF has no SEV-ES reset block (AP EIP)',
    );
  const features = o.guestFeatures ?? 1n;
  for (let i = 0; i < o.vcpus; i++)
    gctx.vmsaPage(vmsaPage(i === 0 ? 0xfffffff0 : info.resetEip, sig, vmm, features), vmsaAt);
  return gctx.ld;
}

/**
 * What GCE's launch requires of the firmware (gce-tcb-verifier ovmf/sev_data.go): an SEV-ES reset
 * block, exactly one SECRETS and one CPUID section, at least one SNP_SEC_MEM section, every section a
 * positive number of pages, none overlapping; no direct kernel boot.
 */
function checkGceFirmware(info: OvmfInfo, o: SnpMeasureOptions): void {
  if (o.kernel)
    throw new MeasureError(
      'MEASURE_UNSUPPORTED',
      '--vmm gce: GCE boots its UEFI without a measured kernel hash table; --kernel does not apply',
    );
  const bad = (m: string) => new MeasureError('MEASURE_BAD_FIRMWARE', `GCE firmware: ${m}`);
  if (!info.resetEip) throw bad('no SEV-ES reset block in the OVMF footer table');
  const count = (t: number) => info.sections.filter((s) => s.type === t).length;
  if (count(SNP_SECTION.SNP_SECRETS) !== 1) throw bad('expected exactly one SNP_SECRETS section');
  if (count(SNP_SECTION.CPUID) !== 1) throw bad('expected exactly one CPUID section');
  if (count(SNP_SECTION.SNP_SEC_MEM) < 1) throw bad('no SNP_SEC_MEM (pre-validated) section');
  const sorted = [...info.sections].sort((a, b) => a.gpa - b.gpa);
  for (const [i, s] of sorted.entries()) {
    if (s.size === 0 || s.size % PAGE !== 0)
      throw bad(`section at 0x${s.gpa.toString(16)} is not a positive number of pages (${s.size} bytes)`);
    const next = sorted[i + 1];
    if (next && s.gpa + s.size > next.gpa)
      throw bad(`section at 0x${s.gpa.toString(16)} overlaps the one at 0x${next.gpa.toString(16)}`);
  }
}

// ---------------------------------------------------------------- TDX

export const TDVF_SECTION = {
  BFV: 0,
  CFV: 1,
  TD_HOB: 2,
  TEMP_MEM: 3,
  PERM_MEM: 4,
  PAYLOAD: 5,
  PAYLOAD_PARAM: 6,
} as const;
const ATTR_MR_EXTEND = 1;
const ATTR_PAGE_AUG = 2;

export interface TdvfSection {
  dataOffset: number;
  rawDataSize: number;
  memoryAddress: bigint;
  memoryDataSize: bigint;
  type: number;
  attributes: number;
}

export function parseTdvf(fw: Uint8Array): TdvfSection[] {
  const b = Buffer.from(fw.buffer, fw.byteOffset, fw.byteLength);
  const table = parseFooterTable(fw);
  const entry = table.get(GUIDS.tdxMetadata);
  if (!entry || entry.length < 4)
    throw new MeasureError(
      'MEASURE_BAD_FIRMWARE',
      'the footer table has no TDX metadata entry (not a TDVF image)',
    );
  const start = b.length - entry.readUInt32LE(entry.length - 4);
  if (start < 0 || start + 16 > b.length || b.toString('latin1', start, start + 4) !== 'TDVF')
    throw new MeasureError('MEASURE_BAD_FIRMWARE', 'TDX metadata: no "TDVF" descriptor at the given offset');
  const version = b.readUInt32LE(start + 8);
  const n = b.readUInt32LE(start + 12);
  if (version !== 1)
    throw new MeasureError('MEASURE_BAD_FIRMWARE', `TDVF metadata version ${version} (expected 1)`);
  if (start + 16 + 32 * n > b.length)
    throw new MeasureError('MEASURE_BAD_FIRMWARE', 'TDVF section table does not fit');
  const out: TdvfSection[] = [];
  for (let i = 0; i < n; i++) {
    const p = start + 16 + 32 * i;
    const s: TdvfSection = {
      dataOffset: b.readUInt32LE(p),
      rawDataSize: b.readUInt32LE(p + 4),
      memoryAddress: b.readBigUInt64LE(p + 8),
      memoryDataSize: b.readBigUInt64LE(p + 16),
      type: b.readUInt32LE(p + 24),
      attributes: b.readUInt32LE(p + 28),
    };
    if (s.memoryAddress % 4096n !== 0n || s.memoryDataSize % 4096n !== 0n)
      throw new MeasureError('MEASURE_BAD_FIRMWARE', `TDVF section ${i}: address or size not page-aligned`);
    if (s.memoryDataSize < BigInt(s.rawDataSize))
      throw new MeasureError('MEASURE_BAD_FIRMWARE', `TDVF section ${i}: memory size below raw data size`);
    if (s.attributes & ATTR_MR_EXTEND && BigInt(s.dataOffset) + s.memoryDataSize > BigInt(b.length))
      throw new MeasureError('MEASURE_BAD_FIRMWARE', `TDVF section ${i}: measured data runs past the image`);
    if (s.memoryDataSize > 0x4000_0000n)
      throw new MeasureError(
        'MEASURE_BAD_FIRMWARE',
        `TDVF section ${i}: ${s.memoryDataSize} bytes is implausible`,
      );
    out.push(s);
  }
  return out;
}

export type TdxPageOrder = 'single-pass' | 'two-pass';

/** MRTD of a TD started from this TDVF image (48 bytes). */
export function measureTdx(o: { tdvf: Uint8Array; pageOrder?: TdxPageOrder }): Buffer {
  const order = o.pageOrder ?? 'single-pass';
  if (order !== 'single-pass' && order !== 'two-pass')
    throw new MeasureError('MEASURE_BAD_INPUT', `unknown page order '${String(order)}'`);
  const fw = Buffer.from(o.tdvf.buffer, o.tdvf.byteOffset, o.tdvf.byteLength);
  const h = createHasher('sha384');
  const record = (ascii: string, gpa: bigint) => {
    const r = Buffer.alloc(128);
    r.write(ascii, 0, 'latin1');
    r.writeBigUInt64LE(gpa, 16);
    h.update(r);
  };
  const add = (s: TdvfSection, page: bigint) => {
    if (!(s.attributes & ATTR_PAGE_AUG)) record('MEM.PAGE.ADD', s.memoryAddress + page * 4096n);
  };
  const extend = (s: TdvfSection, page: bigint) => {
    if (!(s.attributes & ATTR_MR_EXTEND)) return;
    for (let c = 0; c < 16; c++) {
      record('MR.EXTEND', s.memoryAddress + page * 4096n + BigInt(c * 256));
      const off = s.dataOffset + Number(page) * 4096 + c * 256;
      h.update(fw.subarray(off, off + 256));
    }
  };
  for (const s of parseTdvf(o.tdvf)) {
    const pages = s.memoryDataSize / 4096n;
    if (order === 'two-pass') {
      for (let p = 0n; p < pages; p++) add(s, p);
      for (let p = 0n; p < pages; p++) extend(s, p);
    } else
      for (let p = 0n; p < pages; p++) {
        add(s, p);
        extend(s, p);
      }
  }
  return Buffer.from(h.digest());
}
