/**
 * `wasmvm-tee verify --tdx-quote quote.dat ...`: verify an Intel TDX quote (v4/v5) offline against the
 * pinned Intel SGX Root CA, with collateral from files or Intel PCS (cached). Exit 0 only when it passes.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  type Check,
  COLLATERAL_BUNDLE_FORMAT,
  type CollateralBundle,
  type TdxFetchFn as FetchFn,
  fetchTdxCollateral as fetchCollateral,
  loadTdxCollateral as loadCollateral,
  mergeTdxCollateral as mergeCollateral,
  parseCollateralBundle,
  parsePckExtensions,
  parseTdxPolicy,
  parseTdxQuote,
  pemToDerList,
  TDX_LIMITS,
  type TdxCollateral,
  type TdxPolicy,
  tdxCollateralFromBundle,
  type Verdict,
  verdict,
  verifyTdxQuote,
  withCollateralChecks,
} from '../verify/index.ts';
import { EXIT, EXIT_TABLE } from './exit-codes.ts';
import { MAX_JSON_INPUT_BYTES, readFileBounded } from './read-bounded.ts';
import { parseArgs, reportUsage, UsageError } from './usage.ts';

export const summary = 'verify an Intel TDX quote (v4/v5) with DCAP collateral';

export const help = `Usage: wasmvm-tee verify --tdx-quote quote.dat [options]

Verifies an Intel TDX DCAP quote: quote signature, QE report signature and binding, PCK chain to the
PINNED Intel SGX Root CA, CRLs, TCB Info / QE identity signatures, TCB status, TD attributes, policy.

Options:
  --tdx-quote FILE        the quote (binary; '-' for stdin is not supported)
  --collateral PATH       collateral: a directory bundle (tcb-info-<fmspc>.json, td-qe-identity.json,
                          tcb-signing-chain.pem, pck-crl-*.der, root-ca-crl.der), a *.collateral.json
                          (PCCS QuoteCollateralV3), or an offline collateral bundle ('wasmvm-tee
                          collateral fetch', docs/reference-values.md: each item a 'collateral.intel.*'
                          check; COLLATERAL_MISSING_ITEM is "not checked" and fails unless allowed,
                          COLLATERAL_EXPIRED / COLLATERAL_SIGNATURE_INVALID fail). Repeatable: later
                          ones fill gaps.
  --at ISO-8601           the same as --now (historical checks against a bundle)
  --allow-not-checked ID  accept this not-checked collateral check (repeatable)
  --pcs-cache DIR         cache for collateral fetched from Intel PCS
                          (default ~/.wasmvm-tee/tdx-collateral)
  --online                without --collateral: fetch collateral from Intel PCS (the only way this
                          command uses the network; the verdict says whether it did)
  --offline               never fetch (the default; kept for scripts)
  --now ISO-8601          verification time (default: now)
  --policy FILE           policy JSON (section "tdx", see docs/tdx.md)
  --allow-debug           accept a debug TD (TD_ATTRIBUTES.DEBUG and the profiling bits)
  --allow-migratable      accept TD_ATTRIBUTES.MIGRATABLE (rejected by default)
  --require-sept-ve-disable  require TD_ATTRIBUTES.SEPT_VE_DISABLE
  --mrtd HEX, --mrconfigid HEX, --mrservicetd HEX, --mrowner HEX, --rtmr0..--rtmr3 HEX
                          require this value (96 hex digits; repeatable: any listed value is accepted;
                          added to the policy file's allow-list). Reserved TD_ATTRIBUTES bits are always
                          rejected.
  --accept-tcb LIST       comma-separated acceptable TCB statuses (default UpToDate,SWHardeningNeeded)
  --report-data HEX       expected REPORT_DATA (128 hex digits): REQUIRED (freshness) unless --no-nonce
  --no-nonce              do not check REPORT_DATA/freshness (the verdict says so: the quote may be replayed)
  --json                  print the verdict as JSON (TD report fields, TCB status, every check)
  --trust-simulated-root FILE   trust this SIMULATED root (PEM/DER; subject must say SIMULATED). Repeatable.
  --allow-simulated       accept ANY simulated root that comes with the quote (testing only)

Without --collateral, collateral comes from the cache (--pcs-cache); only with --online is it fetched
from https://api.trustedservices.intel.com (tdx/certification/v4) and cached. Without collateral the
TCB status and revocation are NOT checked and the verdict fails (policy requireCollateral=false
accepts that, named in the verdict). Quotes over ${TDX_LIMITS.maxQuoteBytes} bytes are rejected
unread (TDX_QUOTE_SIZE).
${EXIT_TABLE}`;

/** The file as an offline collateral bundle, or undefined when it is something else (directory, PCCS JSON). */
function readBundle(path: string): CollateralBundle | undefined {
  let text: string;
  try {
    if (statSync(path).isDirectory()) return undefined;
    const r = readFileBounded(path, MAX_BUNDLE_BYTES);
    if ('tooLarge' in r)
      throw new UsageError('BAD_INPUT', `--collateral: ${path} is over ${MAX_BUNDLE_BYTES} bytes`);
    text = Buffer.from(r.bytes).toString('utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    return undefined; // loadCollateral reports it
  }
  let j: { format?: unknown };
  try {
    j = JSON.parse(text) as { format?: unknown };
  } catch {
    return undefined;
  }
  if (j?.format !== COLLATERAL_BUNDLE_FORMAT) return undefined;
  return parseCollateralBundle(j);
}

const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

export interface VerifyTdxIo {
  out: (s: string) => void;
  err: (s: string) => void;
  fetch?: FetchFn;
}

const defaultIo: VerifyTdxIo = { out: (s) => console.log(s), err: (s) => console.error(s) };

/** CLI pins → TDX policy allow-lists. */
const PIN_FLAGS = new Map<string, string>([
  ['--mrtd', 'mrTd'],
  ['--mrconfigid', 'mrConfigId'],
  ['--mrservicetd', 'mrServiceTd'],
  ['--mrowner', 'mrOwner'],
  ['--rtmr0', 'rtmr0'],
  ['--rtmr1', 'rtmr1'],
  ['--rtmr2', 'rtmr2'],
  ['--rtmr3', 'rtmr3'],
]);

/** The command line as `--name` → its values in order ('true' for flags), as the code below reads it. */
function parseCommandLine(argv: string[]): Record<string, string[]> {
  const str = { type: 'string', multiple: true } as const;
  const flag = { type: 'boolean', multiple: true } as const;
  const { values } = parseArgs(argv, {
    offline: flag,
    online: flag,
    'allow-debug': flag,
    'allow-migratable': flag,
    'require-sept-ve-disable': flag,
    json: flag,
    'allow-simulated': flag,
    'no-nonce': flag,
    'tdx-quote': str,
    collateral: str,
    'pcs-cache': str,
    now: str,
    at: str,
    'allow-not-checked': str,
    policy: str,
    'accept-tcb': str,
    'report-data': str,
    'trust-simulated-root': str,
    mrtd: str,
    mrconfigid: str,
    mrservicetd: str,
    mrowner: str,
    rtmr0: str,
    rtmr1: str,
    rtmr2: str,
    rtmr3: str,
  });
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    out[`--${k}`] = (v as (string | boolean)[]).map(String);
  }
  return out;
}

export async function main(argv: string[], io: VerifyTdxIo = defaultIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(help);
    return EXIT.OK;
  }
  let args: Record<string, string[]>;
  try {
    args = parseCommandLine(argv);
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('verify --tdx-quote', e, io.err, help);
    throw e;
  }
  const one = (k: string) => args[k]?.[args[k]!.length - 1];
  const quotePath = one('--tdx-quote');
  if (!quotePath) {
    io.err(`verify: --tdx-quote is required\n\n${help}`);
    return EXIT.USAGE;
  }
  // Freshness by default: the REPORT_DATA you asked the quote for, or an explicit --no-nonce.
  if (one('--report-data') !== undefined && args['--no-nonce']) {
    io.err('verify --tdx-quote: --report-data and --no-nonce: give one');
    return EXIT.USAGE;
  }
  if (one('--report-data') === undefined && !args['--no-nonce']) {
    io.err(
      'verify --tdx-quote: no REPORT_DATA: give --report-data HEX (what you asked the quote to carry, e.g. your nonce) to check freshness, or --no-nonce to skip that check',
    );
    return EXIT.USAGE;
  }
  let now = new Date();
  const nowArg = one('--now') ?? one('--at');
  if (nowArg) {
    now = new Date(nowArg);
    if (Number.isNaN(now.getTime())) {
      io.err(`verify: --now '${nowArg}' is not an ISO-8601 time`);
      return EXIT.USAGE;
    }
  }
  let quote: Uint8Array;
  try {
    const r = readFileBounded(quotePath, TDX_LIMITS.maxQuoteBytes);
    if ('tooLarge' in r) {
      const v = verdict('tdx', [
        {
          id: 'tdx.quote.format',
          outcome: 'fail',
          detail: `TDX_QUOTE_SIZE: ${quotePath} is ${r.tooLarge} bytes, over the ${TDX_LIMITS.maxQuoteBytes}-byte limit (not read)`,
        },
      ]);
      return report(v, quotePath, now, !!args['--json'], { used: false, detail: 'no network used' }, io);
    }
    quote = r.bytes;
  } catch (e) {
    io.err(`verify: cannot read ${quotePath}: ${(e as Error).message}`);
    return EXIT.USAGE;
  }
  let policy: TdxPolicy = {};
  let expectedReportData: Uint8Array | undefined;
  let collateral: TdxCollateral | undefined;
  const network = { urls: [] as string[] };
  let collateralNote: string | undefined;
  const bundleChecks: Check[] = [];
  try {
    if (one('--policy')) {
      const r = readFileBounded(one('--policy')!, MAX_JSON_INPUT_BYTES);
      if ('tooLarge' in r)
        throw new UsageError(
          'BAD_INPUT',
          `--policy: ${r.tooLarge} bytes, over the ${MAX_JSON_INPUT_BYTES}-byte limit`,
        );
      policy = parseTdxPolicy(JSON.parse(Buffer.from(r.bytes).toString('utf8')));
    }
    if (args['--allow-debug']) policy.allowDebug = true;
    if (args['--allow-migratable']) policy.allowMigratable = true;
    if (args['--require-sept-ve-disable']) policy.requireSeptVeDisable = true;
    const pins: Record<string, string[]> = {};
    for (const [flag, key] of PIN_FLAGS)
      if (args[flag])
        pins[key] = [...((policy as Record<string, string[] | undefined>)[key] ?? []), ...args[flag]];
    if (Object.keys(pins).length > 0) policy = parseTdxPolicy({ tdx: { ...policy, ...pins } });
    if (one('--accept-tcb'))
      policy = parseTdxPolicy({ tdx: { ...policy, acceptedTcbStatuses: one('--accept-tcb')!.split(',') } });
    const rd = one('--report-data');
    if (rd !== undefined) {
      if (!/^[0-9a-fA-F]{128}$/.test(rd))
        throw new UsageError('USAGE', '--report-data must be 128 hex digits');
      expectedReportData = new Uint8Array(Buffer.from(rd, 'hex'));
    }
    const parts: TdxCollateral[] = [];
    for (const p of args['--collateral'] ?? []) {
      const b = readBundle(p);
      if (!b) {
        parts.push(loadCollateral(p));
        continue;
      }
      // an offline collateral bundle: its Intel items, each a 'collateral.intel.*' check
      const r = await tdxCollateralFromBundle(b, quote, now);
      bundleChecks.push(...r.checks);
      if (r.collateral) parts.push(r.collateral);
      collateralNote = `collateral from the bundle ${p} (created ${b.createdAt}; no network)`;
    }
    if (args['--online'] && args['--offline'])
      throw new UsageError('USAGE', 'give --online or --offline, not both');
    const offline = !args['--online'];
    const cacheDir = one('--pcs-cache') ?? join(homedir(), '.wasmvm-tee', 'tdx-collateral');
    if (parts.length === 0 && bundleChecks.length === 0) {
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
          const f: FetchFn | undefined = io.fetch ?? (globalThis.fetch as unknown as FetchFn | undefined);
          if (f)
            fetchOpts.fetch = (url: string) => {
              network.urls.push(url);
              return f(url);
            };
          parts.push(await fetchCollateral(fetchOpts));
          collateralNote = offline
            ? `collateral for FMSPC ${fmspc} from the cache ${cacheDir} (offline)`
            : network.urls.length > 0
              ? `collateral for FMSPC ${fmspc} fetched from Intel PCS (--online)`
              : `collateral for FMSPC ${fmspc} from the cache ${cacheDir} (fresh; no fetch needed)`;
        } catch (e) {
          collateralNote = `${(e as Error).message}${offline ? ' (pass --collateral, or --online to fetch from Intel PCS)' : ''}`;
          if (parts.length === 0) io.err(`verify: ${collateralNote}`);
        }
      }
    }
    if (parts.length > 0) collateral = mergeCollateral(...parts);
  } catch (e) {
    io.err(`verify: ${(e as Error).message}`);
    return EXIT.USAGE;
  }
  const opts: Parameters<typeof verifyTdxQuote>[1] = { now, policy };
  if (args['--allow-simulated']) opts.allowSimulated = true;
  if (args['--trust-simulated-root']) {
    try {
      opts.trustSimulatedRoots = args['--trust-simulated-root'].map((f) => new Uint8Array(readFileSync(f)));
    } catch (e) {
      io.err(`verify: ${(e as Error).message}`);
      return EXIT.USAGE;
    }
  }
  if (collateral) opts.collateral = collateral;
  if (expectedReportData) opts.expectedReportData = expectedReportData;
  let v = await verifyTdxQuote(quote, opts);
  if (bundleChecks.length > 0) {
    const allow = [...(args['--allow-not-checked'] ?? [])];
    v = withCollateralChecks(v, bundleChecks, allow);
  }
  if (collateralNote && !collateral)
    v = {
      ...v,
      checks: v.checks.map((c) =>
        c.id === 'tdx.collateral' ? { ...c, detail: `${c.detail}: ${collateralNote}` } : c,
      ),
    };
  const net =
    network.urls.length > 0
      ? { used: true, detail: `network used: ${network.urls.length} request(s) to Intel PCS (--online)` }
      : {
          used: false,
          detail: args['--online'] ? 'no network used (nothing to fetch)' : 'no network used (offline)',
        };
  return report(v, quotePath, now, !!args['--json'], net, io, collateralNote);
}

function report(
  v0: Verdict,
  quotePath: string,
  now: Date,
  json: boolean,
  network: { used: boolean; detail: string },
  io: VerifyTdxIo,
  collateralNote?: string,
): number {
  const noNonce = v0.checks.some((c) => c.id === 'tdx.report-data' && c.outcome === 'skip');
  const v: Verdict = {
    ...v0,
    checks: noNonce
      ? [
          ...v0.checks,
          {
            id: 'freshness',
            outcome: 'skip',
            detail: 'freshness NOT checked (--no-nonce): the quote may be old or replayed',
          },
        ]
      : v0.checks,
    fields: {
      ...(v0.fields ?? {}),
      ...(noNonce ? { freshness: 'not checked' } : {}),
      network: {
        used: network.used,
        detail: network.detail,
        ...(collateralNote ? { collateral: collateralNote } : {}),
      },
    },
  };
  if (json) {
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
    io.out(`  ${network.detail}`);
    for (const c of v.checks) io.out(`  [${c.outcome.padEnd(4)}] ${c.id}: ${c.detail}`);
  }
  return v.ok ? EXIT.OK : EXIT.VERIFICATION_FAILED;
}
