/** Synthetic OVMF / TDVF images with real footer tables and metadata, for the measure tests. */
import { GUIDS, guidBytes } from '../../../src/verify/reference/measure.ts';

export interface SevSection {
  gpa: number;
  size: number;
  type: number;
}

/** An image of `size` bytes with a GUIDed footer table ending 32 bytes before its end. */
export function withFooterTable(image: Buffer, entries: [string, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  for (const [guid, data] of entries) {
    const h = Buffer.alloc(2);
    h.writeUInt16LE(data.length + 18);
    parts.push(data, h, guidBytes(guid));
  }
  const body = Buffer.concat(parts);
  const total = Buffer.alloc(2);
  total.writeUInt16LE(body.length + 18);
  const table = Buffer.concat([body, total, guidBytes(GUIDS.footer)]);
  table.copy(image, image.length - 32 - table.length);
  return image;
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** An SEV-SNP OVMF: ASEV metadata at 0x1000 from the end, reset block, optional hash table GPA. */
export function sevOvmf(o: {
  pages: number;
  sections: SevSection[];
  resetEip?: number;
  hashTableGpa?: number;
  fill?: (page: number) => number;
}): Buffer {
  const img = Buffer.alloc(o.pages * 4096);
  for (let p = 0; p < o.pages; p++)
    img.fill(o.fill ? o.fill(p) : (p * 37 + 11) & 0xff, p * 4096, p * 4096 + 4096);
  const metaOff = 0x2000; // from the end
  const start = img.length - metaOff;
  const meta = Buffer.concat([
    Buffer.from('ASEV', 'latin1'),
    u32(16 + 12 * o.sections.length),
    u32(1),
    u32(o.sections.length),
    ...o.sections.flatMap((s) => [u32(s.gpa), u32(s.size), u32(s.type)]),
  ]);
  meta.copy(img, start);
  const entries: [string, Buffer][] = [[GUIDS.sevMetadata, u32(metaOff)]];
  if (o.resetEip !== undefined) entries.push([GUIDS.sevEsResetBlock, u32(o.resetEip)]);
  if (o.hashTableGpa !== undefined)
    entries.push([GUIDS.sevHashTable, Buffer.concat([u32(o.hashTableGpa), u32(0x400)])]);
  return withFooterTable(img, entries);
}

export interface TdvfSectionSpec {
  dataOffset: number;
  rawDataSize: number;
  memoryAddress: number;
  memoryDataSize: number;
  type: number;
  attributes: number;
}

/** A TDVF image: TDVF descriptor at 0x2000 from the end, pages filled with a pattern. */
export function tdvfImage(pages: number, sections: TdvfSectionSpec[]): Buffer {
  const img = Buffer.alloc(pages * 4096);
  for (let i = 0; i < img.length; i++) img[i] = (i * 7 + (i >> 12) * 13) & 0xff;
  const metaOff = 0x2000;
  const start = img.length - metaOff;
  const desc = Buffer.alloc(16 + 32 * sections.length);
  desc.write('TDVF', 0, 'latin1');
  desc.writeUInt32LE(desc.length, 4);
  desc.writeUInt32LE(1, 8);
  desc.writeUInt32LE(sections.length, 12);
  sections.forEach((s, i) => {
    const p = 16 + 32 * i;
    desc.writeUInt32LE(s.dataOffset, p);
    desc.writeUInt32LE(s.rawDataSize, p + 4);
    desc.writeBigUInt64LE(BigInt(s.memoryAddress), p + 8);
    desc.writeBigUInt64LE(BigInt(s.memoryDataSize), p + 16);
    desc.writeUInt32LE(s.type, p + 24);
    desc.writeUInt32LE(s.attributes, p + 28);
  });
  desc.copy(img, start);
  return withFooterTable(img, [[GUIDS.tdxMetadata, u32(metaOff)]]);
}
