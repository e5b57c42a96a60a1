/**
 * The extended-report certificate table (GHCB spec "SNP Extended Guest Request", the configfs-tsm auxblob):
 * entries of { GUID (16 bytes), offset u32le, length u32le } terminated by an all-zero entry; offsets are
 * relative to the start of the table.
 */
import { bytesToHex, concatBytes, hexToBytes } from '../../util/text-codec.ts';
import { SnpFormatError } from './errors.ts';

export const CERT_GUIDS = {
  vcek: '63da758d-e664-4564-adc5-f4b93be8accd',
  vlek: 'a8074bc2-a25a-483e-aae6-39c045a0b8a1',
  ask: '4ab7b379-bbac-4fe4-a02f-05aef327c782',
  ark: 'c0b406a4-a803-4952-9743-3fb6014cd0ae',
} as const;

export type CertRole = keyof typeof CERT_GUIDS;

export interface CertTableEntry {
  guid: string;
  /** The role for the four known GUIDs, undefined otherwise (kept, not interpreted). */
  role?: CertRole;
  offset: number;
  length: number;
  data: Uint8Array;
}

/** GUID text → 16 bytes in the mixed-endian (Microsoft/EFI) layout the firmware uses. */
export function guidToBytes(guid: string): Uint8Array {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(guid);
  if (!m) throw new SnpFormatError('SNP_GUID', `not a GUID: ${guid}`);
  const h = (s: string) => hexToBytes(s);
  const le = (s: string) => h(s).reverse();
  return concatBytes(le(m[1]!), le(m[2]!), le(m[3]!), h(m[4]!), h(m[5]!));
}

export function bytesToGuid(b: Uint8Array): string {
  const x = (a: number, z: number, rev: boolean) => {
    const s = b.slice(a, z);
    return bytesToHex(rev ? s.reverse() : s);
  };
  return `${x(0, 4, true)}-${x(4, 6, true)}-${x(6, 8, true)}-${x(8, 10, false)}-${x(10, 16, false)}`;
}

const ROLE_BY_GUID = new Map<string, CertRole>(
  Object.entries(CERT_GUIDS).map(([k, g]) => [g, k as CertRole] as [string, CertRole]),
);

/**
 * Bounds of a certificate table (issue 14: a hostile table must not make the verifier copy or hold
 * more than it needs). Real tables hold 1–4 certificates of 1–2 KB each (VCEK/VLEK, ASK/ASVK, ARK).
 */
export const CERT_TABLE_LIMITS = {
  /** Bytes of the whole table (header, terminator and certificates; kernel buffers may be padded). */
  maxTableBytes: 256 * 1024,
  /** Entries before the zero terminator. */
  maxEntries: 32,
  /** Bytes of one certificate. */
  maxCertBytes: 32 * 1024,
} as const;

/**
 * Parse a certificate table. Each entry's `data` is a view into `buf` (nothing is copied). Throws
 * SnpFormatError with a stable code: SNP_CERT_TABLE (truncated, out of range), SNP_CERT_TABLE_SIZE (table
 * or one certificate too large), SNP_CERT_TABLE_ENTRIES (too many entries), SNP_CERT_TABLE_DUPLICATE (a GUID
 * twice), SNP_CERT_TABLE_OVERLAP (two entries share bytes, or an entry overlaps the header).
 */
export function parseCertTable(buf: Uint8Array): CertTableEntry[] {
  const L = CERT_TABLE_LIMITS;
  if (buf.length > L.maxTableBytes)
    throw new SnpFormatError(
      'SNP_CERT_TABLE_SIZE',
      `certificate table is ${buf.length} bytes, over the ${L.maxTableBytes}-byte limit`,
    );
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: CertTableEntry[] = [];
  const seen = new Set<string>();
  let headerEnd = 0;
  for (let at = 0; ; at += 24) {
    if (at + 24 > buf.length)
      throw new SnpFormatError('SNP_CERT_TABLE', 'certificate table has no terminating entry');
    const entry = buf.subarray(at, at + 24);
    if (entry.every((b) => b === 0)) {
      headerEnd = at + 24;
      break;
    }
    if (out.length >= L.maxEntries)
      throw new SnpFormatError(
        'SNP_CERT_TABLE_ENTRIES',
        `certificate table has more than ${L.maxEntries} entries`,
      );
    const guid = bytesToGuid(entry.subarray(0, 16));
    if (seen.has(guid))
      throw new SnpFormatError('SNP_CERT_TABLE_DUPLICATE', `certificate table lists ${guid} twice`);
    seen.add(guid);
    const offset = dv.getUint32(at + 16, true);
    const length = dv.getUint32(at + 20, true);
    if (offset + length > buf.length || offset < at + 24)
      throw new SnpFormatError(
        'SNP_CERT_TABLE',
        `entry ${guid}: offset ${offset} + length ${length} outside the table`,
      );
    if (length > L.maxCertBytes)
      throw new SnpFormatError(
        'SNP_CERT_TABLE_SIZE',
        `entry ${guid}: ${length} bytes, over the ${L.maxCertBytes}-byte certificate limit`,
      );
    const e: CertTableEntry = { guid, offset, length, data: buf.subarray(offset, offset + length) };
    const role = ROLE_BY_GUID.get(guid);
    if (role) e.role = role;
    out.push(e);
  }
  // Entries must not overlap each other or the header (a table whose entries all point at one region
  // would otherwise multiply the work done on it).
  const ranges = out.filter((e) => e.length > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i]!;
    if (r.offset < headerEnd)
      throw new SnpFormatError(
        'SNP_CERT_TABLE_OVERLAP',
        `entry ${r.guid}: offset ${r.offset} is inside the table header (${headerEnd} bytes)`,
      );
    const next = ranges[i + 1];
    if (next && r.offset + r.length > next.offset)
      throw new SnpFormatError(
        'SNP_CERT_TABLE_OVERLAP',
        `entries ${r.guid} and ${next.guid} overlap (${r.offset}+${r.length} > ${next.offset})`,
      );
  }
  return out;
}

/** The known certificates of a table by role (first entry wins). */
export function certsFromTable(entries: readonly CertTableEntry[]): Partial<Record<CertRole, Uint8Array>> {
  const out: Partial<Record<CertRole, Uint8Array>> = {};
  for (const e of entries) if (e.role && !out[e.role]) out[e.role] = e.data;
  return out;
}

/** Build a table: header entries, the zero terminator, then the certificates in order. */
export function buildCertTable(certs: ReadonlyArray<{ guid: string; data: Uint8Array }>): Uint8Array {
  const header = 24 * (certs.length + 1);
  const total = header + certs.reduce((n, c) => n + c.data.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let off = header;
  certs.forEach((c, i) => {
    out.set(guidToBytes(c.guid), i * 24);
    dv.setUint32(i * 24 + 16, off, true);
    dv.setUint32(i * 24 + 20, c.data.length, true);
    out.set(c.data, off);
    off += c.data.length;
  });
  return out;
}
