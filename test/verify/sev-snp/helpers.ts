import { readFileSync } from 'node:fs';

export const DATA = new URL('../../data/sev-snp/', import.meta.url);
export const read = (f: string): Uint8Array => new Uint8Array(readFileSync(new URL(f, DATA)));
export const readText = (f: string): string => readFileSync(new URL(f, DATA), 'utf8');
export const expected = JSON.parse(readText('expected-results.json')) as {
  reports: Array<Record<string, unknown> & { report: string; vek: string; caBundle: string }>;
  turinChainOnly: Record<string, unknown>;
  parseOnlyNotAmdSigned: Array<{ file: string; hwidExtValueHex: string; ucodeSplDer: string }>;
  amdRoots: Record<string, Array<{ subjectCN: string; sha256: string; serial: string }>>;
};
/** A time inside every vector's VEK validity (the AWS VLEK expired on 2025-12-10; the Genoa VCEK starts 2026-02-17). */
export function timeFor(report: string): Date {
  if (report.includes('aws')) return new Date('2025-06-01T00:00:00Z');
  return new Date('2026-06-01T00:00:00Z');
}
