/**
 * `wasmvm-tee verify --tdx-quote quote.dat ...`: verify an Intel TDX quote (v4/v5) offline against the
 * pinned Intel SGX Root CA, with collateral from files or Intel PCS (cached). Exit 0 only when it passes.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  type TdxFetchFn as FetchFn,
  fetchTdxCollateral as fetchCollateral,
  loadTdxCollateral as loadCollateral,
  mergeTdxCollateral as mergeCollateral,
  parsePckExtensions,
  parseTdxPolicy,
  parseTdxQuote,
  pemToDerList,
  type TdxCollateral,
  type TdxPolicy,
  verifyTdxQuote,
} from '../verify/index.ts';

export const summary = 'verify an Intel TDX quote (v4/v5) with DCAP collateral';

export const help = `Usage: wasmvm-tee verify --tdx-quote quote.dat [options]

Verifies an Intel TDX DCAP quote: quote signature, QE report signature and binding, PCK chain to the
PINNED Intel SGX Root CA, CRLs, TCB Info / QE identity signatures, TCB status, TD attributes, policy.

Options:
  --tdx-quote FILE        the quote (binary; '-' for stdin is not supported)
  --collateral PATH       collateral: a directory bundle (tcb-info-<fmspc>.json, td-qe-identity.json,
                          tcb-signing-chain.pem, pck-crl-*.der, root-ca-crl.der) or a *.collateral.json
                          (PCCS QuoteCollateralV3). Repeatable: later ones fill gaps.
  --pcs-cache DIR         cache for collateral fetched from Intel PCS
                          (default ~/.wasmvm-tee/tdx-collateral)
  --offline               never fetch: use --collateral and/or the cache only
  --now ISO-8601          verification time (default: now)
  --policy FILE           policy JSON (section "tdx", see docs/tdx.md)
  --allow-debug           accept a debug TD (TD_ATTRIBUTES.DEBUG)
  --accept-tcb LIST       comma-separated acceptable TCB statuses (default UpToDate,SWHardeningNeeded)
  --report-data HEX       expected REPORT_DATA (128 hex digits)
  --json                  print the verdict as JSON (TD report fields, TCB status, every check)
  --trust-simulated-root FILE   trust this SIMULATED root (PEM/DER; subject must say SIMULATED). Repeatable.
  --allow-simulated       accept ANY simulated root that comes with the quote (testing only)

Without --collateral and without --offline, collateral is fetched from
https://api.trustedservices.intel.com (tdx/certification/v4) and cached.
Exit status: 0 verified, 1 rejected, 2 usage error.`;

export interface VerifyTdxIo {
  out: (s: string) => void;
  err: (s: string) => void;
  fetch?: FetchFn;
}

const defaultIo: VerifyTdxIo = { out: (s) => console.log(s), err: (s) => console.error(s) };

function parseArgs(argv: string[]): Record<string, string[]> {
  const flags = new Set(['--offline', '--allow-debug', '--json', '--allow-simulated']);
  const valued = new Set([
    '--tdx-quote',
    '--collateral',
    '--pcs-cache',
    '--now',
    '--policy',
    '--accept-tcb',
    '--report-data',
    '--trust-simulated-root',
  ]);
  const out: Record<string, string[]> = {};
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let v: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    if (flags.has(a)) {
      if (v !== undefined) throw new Error(`${a} takes no value`);
      out[a] = [...(out[a] ?? []), 'true'];
    } else if (valued.has(a)) {
      if (v === undefined) {
        v = argv[++i];
        if (v === undefined) throw new Error(`${a} needs a value`);
      }
      out[a] = [...(out[a] ?? []), v];
    } else {
      throw new Error(`unknown option '${a}'`);
    }
  }
  return out;
}

export async function main(argv: string[], io: VerifyTdxIo = defaultIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(help);
    return 0;
  }
  let args: Record<string, string[]>;
  try {
    args = parseArgs(argv);
  } catch (e) {
    io.err(`verify --tdx-quote: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  const one = (k: string) => args[k]?.[args[k]!.length - 1];
  const quotePath = one('--tdx-quote');
  if (!quotePath) {
    io.err(`verify: --tdx-quote is required\n\n${help}`);
    return 2;
  }
  let now = new Date();
  if (one('--now')) {
    now = new Date(one('--now')!);
    if (Number.isNaN(now.getTime())) {
      io.err(`verify: --now '${one('--now')}' is not an ISO-8601 time`);
      return 2;
    }
  }
  let quote: Uint8Array;
  try {
    quote = new Uint8Array(readFileSync(quotePath));
  } catch (e) {
    io.err(`verify: cannot read ${quotePath}: ${(e as Error).message}`);
    return 2;
  }
  let policy: TdxPolicy = {};
  let expectedReportData: Uint8Array | undefined;
  let collateral: TdxCollateral | undefined;
  try {
    if (one('--policy')) policy = parseTdxPolicy(JSON.parse(readFileSync(one('--policy')!, 'utf8')));
    if (args['--allow-debug']) policy.allowDebug = true;
    if (one('--accept-tcb'))
      policy = parseTdxPolicy({ tdx: { ...policy, acceptedTcbStatuses: one('--accept-tcb')!.split(',') } });
    const rd = one('--report-data');
    if (rd !== undefined) {
      if (!/^[0-9a-fA-F]{128}$/.test(rd)) throw new Error('--report-data must be 128 hex digits');
      expectedReportData = new Uint8Array(Buffer.from(rd, 'hex'));
    }
    const parts = (args['--collateral'] ?? []).map((p) => loadCollateral(p));
    const offline = !!args['--offline'];
    const cacheDir = one('--pcs-cache') ?? join(homedir(), '.wasmvm-tee', 'tdx-collateral');
    if (parts.length === 0) {
      // Collateral for this quote's FMSPC from PCS (or the cache when offline).
      let fmspc: string | undefined;
      let ca: 'platform' | 'processor' = 'platform';
      try {
        const q = parseTdxQuote(quote);
        const ders = pemToDerList(q.qeCert?.inner.data ?? new Uint8Array());
        fmspc = Buffer.from(parsePckExtensions(ders[0]!).fmspc).toString('hex');
        if (Buffer.from(ders[1] ?? []).includes(Buffer.from('Processor CA'))) ca = 'processor';
      } catch {
        fmspc = undefined; // the verifier reports the format problem
      }
      if (fmspc) {
        try {
          const fetchOpts: Parameters<typeof fetchCollateral>[0] = { fmspc, ca, cacheDir, offline, now };
          if (io.fetch) fetchOpts.fetch = io.fetch;
          parts.push(await fetchCollateral(fetchOpts));
        } catch (e) {
          if (parts.length === 0) io.err(`verify: ${(e as Error).message}`);
        }
      }
    }
    if (parts.length > 0) collateral = mergeCollateral(...parts);
  } catch (e) {
    io.err(`verify: ${(e as Error).message}`);
    return 2;
  }
  const opts: Parameters<typeof verifyTdxQuote>[1] = { now, policy };
  if (args['--allow-simulated']) opts.allowSimulated = true;
  if (args['--trust-simulated-root']) {
    try {
      opts.trustSimulatedRoots = args['--trust-simulated-root'].map((f) => new Uint8Array(readFileSync(f)));
    } catch (e) {
      io.err(`verify: ${(e as Error).message}`);
      return 2;
    }
  }
  if (collateral) opts.collateral = collateral;
  if (expectedReportData) opts.expectedReportData = expectedReportData;
  const v = await verifyTdxQuote(quote, opts);
  if (args['--json']) {
    io.out(JSON.stringify({ ...v, verifiedAt: now.toISOString() }, null, 2));
  } else {
    const td = (v.fields?.td ?? {}) as Record<string, unknown>;
    const tcb = (v.fields?.tcb ?? {}) as Record<string, unknown>;
    io.out(`TDX quote ${quotePath}: ${v.ok ? 'VERIFIED' : 'REJECTED'}`);
    if (td.mrTd) io.out(`  MRTD ${td.mrTd}\n  REPORT_DATA ${td.reportData}`);
    if (tcb.status || tcb.error)
      io.out(
        `  TCB status: ${tcb.status ?? tcb.error}${(tcb.advisoryIds as string[] | undefined)?.length ? ` (${(tcb.advisoryIds as string[]).join(', ')})` : ''}`,
      );
    for (const c of v.checks) io.out(`  [${c.outcome.padEnd(4)}] ${c.id}: ${c.detail}`);
  }
  return v.ok ? 0 : 1;
}
