/**
 * The extended-report certificate table (GHCB spec "SNP Extended Guest Request", the configfs-tsm auxblob):
 * entries of { GUID (16 bytes), offset u32le, length u32le } terminated by an all-zero entry; offsets are
 * relative to the start of the table.
 */
import { SnpFormatError } from './report.ts';

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
  const h = (s: string) => Buffer.from(s, 'hex');
  const le = (s: string) => h(s).reverse();
  return new Uint8Array(Buffer.concat([le(m[1]!), le(m[2]!), le(m[3]!), h(m[4]!), h(m[5]!)]));
}

export function bytesToGuid(b: Uint8Array): string {
  const x = (a: number, z: number, rev: boolean) => {
    const s = Buffer.from(b.subarray(a, z));
    return (rev ? s.reverse() : s).toString('hex');
  };
  return `${x(0, 4, true)}-${x(4, 6, true)}-${x(6, 8, true)}-${x(8, 10, false)}-${x(10, 16, false)}`;
}

const ROLE_BY_GUID = new Map<string, CertRole>(
  Object.entries(CERT_GUIDS).map(([k, g]) => [g, k as CertRole] as [string, CertRole]),
);

/** Parse a certificate table. Throws SnpFormatError on truncation or out-of-range entries. */
export function parseCertTable(buf: Uint8Array): CertTableEntry[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: CertTableEntry[] = [];
  for (let at = 0; ; at += 24) {
    if (at + 24 > buf.length)
      throw new SnpFormatError('SNP_CERT_TABLE', 'certificate table has no terminating entry');
    const entry = buf.subarray(at, at + 24);
    if (entry.every((b) => b === 0)) break;
    const guid = bytesToGuid(entry.subarray(0, 16));
    const offset = dv.getUint32(at + 16, true);
    const length = dv.getUint32(at + 20, true);
    if (offset + length > buf.length || offset < at + 24)
      throw new SnpFormatError(
        'SNP_CERT_TABLE',
        `entry ${guid}: offset ${offset} + length ${length} outside the table`,
      );
    const e: CertTableEntry = { guid, offset, length, data: buf.slice(offset, offset + length) };
    const role = ROLE_BY_GUID.get(guid);
    if (role) e.role = role;
    out.push(e);
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
