/** Shared test helpers for the TDX tests: vectors from test/data/tdx only. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCollateral } from '../../../src/verify/tdx/collateral-fs.ts';
import { mergeCollateral, type TdxCollateral } from '../../../src/verify/tdx/index.ts';

export const DATA = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'data', 'tdx');

export const QUOTES = [
  'quote-v4-debugtd.dat',
  'quote-v4-gotdxguest-spr.dat',
  'quote-v4-phala-b0c06f.dat',
  'quote-v5-gotdxguest.dat',
  'quote-v5-phala-outdated.dat',
] as const;

export function quoteBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(DATA, name)));
}

export function collateral(...names: string[]): TdxCollateral {
  return mergeCollateral(...names.map((n) => loadCollateral(join(DATA, n))));
}

export interface ExpectedQuote {
  file: string;
  length: number;
  version: number;
  bodyType: number | null;
  teeType: string;
  attestationKeyType: number;
  qeVendorId: string;
  bodyLength: number;
  trailingBytesAfterSignedData: number;
  teeTcbSvn: string;
  mrSeam: string;
  tdAttributes: string;
  debugTd: boolean;
  xfam: string;
  mrTd: string;
  mrConfigId: string;
  mrOwner: string;
  mrOwnerConfig: string;
  rtmr: string[];
  reportData: string;
  teeTcbSvn2: string | null;
  mrServiceTd: string | null;
  fmspc: string;
  pckValidity: [string, string];
}

export interface ExpectedTcb {
  quote: string;
  at: string;
  allowDebug: boolean;
  error?: string;
  status?: string;
  advisory_ids?: string[];
}

export const EXPECTED = JSON.parse(readFileSync(join(DATA, 'expected-results.json'), 'utf8')) as {
  quotes: ExpectedQuote[];
  tcbEvaluation: ExpectedTcb[];
};

/** Collateral used for each quote in the reference TCB evaluation (and a time inside its window). */
export const COLLATERAL_FOR: Record<string, { collateral: string[]; at: string }> = {
  'quote-v4-gotdxguest-spr.dat': { collateral: ['collateral-2023-06'], at: '2023-07-01T00:00:00Z' },
  'quote-v4-debugtd.dat': { collateral: ['collateral-2026-03'], at: '2026-04-01T00:00:00Z' },
  'quote-v4-phala-b0c06f.dat': {
    collateral: ['quote-v4-phala-b0c06f.collateral.json'],
    at: '2025-07-01T00:00:00Z',
  },
  'quote-v5-phala-outdated.dat': {
    collateral: ['quote-v5-phala-outdated.collateral.json'],
    at: '2026-03-01T00:00:00Z',
  },
  'quote-v5-gotdxguest.dat': { collateral: ['collateral-2026-03'], at: '2026-04-01T00:00:00Z' },
};

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
