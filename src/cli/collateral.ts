/**
 * `wasmvm-tee collateral fetch --for EVIDENCE...`: gather, where the internet is reachable, the
 * vendor-signed collateral a later offline `verify --collateral BUNDLE` needs, into one bundle file
 * (docs/reference-values.md): AMD KDS (VCEK, cert_chain, CRL), Intel PCS (TCB Info, QE identity, CRLs)
 * and NVIDIA (RIMs, device-chain OCSP responses, NRAS JWKS); `collateral prune` empties the local cache of expired items.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { COLLATERAL_BUNDLE_FORMAT } from '../verify/defaults.ts';
import type { CollateralBundle, CollateralItem } from '../verify/index.ts';
import { EXIT, EXIT_TABLE } from './exit-codes.ts';
import { parseArgs, reportUsage, UsageError } from './usage.ts';
import { readReportFile } from './verify.ts';

export const summary =
  'gather vendor collateral (AMD KDS, Intel PCS, NVIDIA RIMs and OCSP) into a bundle for offline verification';

/** The verifier and the NVIDIA evidence reader, loaded when the verb runs (--help stays fast). */
let V: typeof import('../verify/index.ts');
let N: typeof import('./verify-nras.ts');

export const NVIDIA_RIM_SERVICE = 'https://rim.attestation.nvidia.com/v1/rim';

export const help = `Usage:
  wasmvm-tee collateral fetch --for EVIDENCE [--for ...] --out bundle.json [options]
  wasmvm-tee collateral prune [--cache DIR] [--kds-cache DIR] [--pcs-cache DIR] [--now ISO-8601] [--json]

fetch: run where the internet is reachable. For each evidence file it gathers what a verification
needs, checks every item (vendor signature to the pinned root, validity at --now) and writes one
bundle (format ${COLLATERAL_BUNDLE_FORMAT}, docs/reference-values.md) with each item's source, fetch
time and validity:
  SEV-SNP report (binary or hex)   AMD KDS: the VCEK (unless the evidence carries it), the ASK/ARK
                                   cert_chain, the ARK-signed CRL (VLEKs are not served publicly)
  TDX quote (v4/v5)                Intel PCS: TCB Info for its FMSPC, TD QE identity, the PCK CRL of
                                   its CA, the root CA CRL (each with its issuer chain); the PCK
                                   certificate chain is the one inside the quote
  GPU evidence (nvattest / NRAS request body)   NVIDIA RIM service: driver and VBIOS RIMs; NVIDIA
                                   OCSP: a response for each certificate of the device chain but the
                                   leaf and the root, and for each certificate of every fetched RIM's
                                   signing chain but the root (the signing leaf included; shared
                                   certificates once). A revoked or unknown status is bundled too, and
                                   reported
  NRAS answer ([["JWT", ...], {...}])  NRAS: the JWKS (keys checked to the pinned NRAS CA)
  our JSON: an Execute response, an attestation envelope, 'attest --json' output: the evidence inside
Then, with no network at all:
  wasmvm-tee verify --snp-report r.bin --collateral bundle.json [--at ISO-8601] ...
  wasmvm-tee verify --tdx-quote q.dat --collateral bundle.json [--at ISO-8601] ...
  wasmvm-tee verify --response resp.json --collateral bundle.json ...
  wasmvm-tee verify --gpu-evidence evidence.json --collateral bundle.json ...
  wasmvm-tee verify --rim rim.swidtag --collateral bundle.json ...
  wasmvm-tee verify --nras-response r.json --nonce HEX --collateral bundle.json ...

prune: delete what is past its own expiry (CRL / TCB Info / QE identity nextUpdate, certificate
notAfter) from the local caches: the collateral cache (--cache), the AMD KDS cache of 'verify --kds /
--crl fetch' (--kds-cache, default $WASMVM_TEE_KDS_CACHE or ~/.cache/wasmvm-tee/kds) and the Intel PCS
cache of 'verify --tdx-quote --online' (--pcs-cache, default ~/.wasmvm-tee/tdx-collateral). Online
use follows the same rule: a cached item is used until its own expiry, then fetched again.

Options:
  --for FILE          evidence to gather collateral for (repeatable)
  --out FILE          the bundle to write
  --cache DIR         local collateral cache (default $WASMVM_TEE_COLLATERAL_CACHE or
                      ~/.cache/wasmvm-tee/collateral): an item still inside its validity is taken
                      from it instead of the network; fetched items are stored in it
  --no-cache          neither read nor write the cache
  --kds URL           AMD KDS base (default https://kdsintf.amd.com)
  --pcs URL           Intel PCS base (default https://api.trustedservices.intel.com)
  --rim-service URL   NVIDIA RIM service base (default ${NVIDIA_RIM_SERVICE})
  --ocsp-responder URL  NVIDIA OCSP responder for every device-chain and RIM signing-chain
                      certificate (default: the certificate's AIA OCSP URL, else
                      https://ocsp.ndis.nvidia.com/)
  --nras-jwks-url URL NRAS JWKS (default https://nras.attestation.nvidia.com/.well-known/jwks.json)
  --now ISO-8601      time at which each item must verify (default: now)
  --json              print a summary as JSON

Exit status: 0 bundle written with every item (an OCSP response that says revoked or unknown is
an item: it is bundled and reported as a warning), 1 some item could not be fetched or verified
(COLLATERAL_FETCH_FAILED, COLLATERAL_SIGNATURE_INVALID, COLLATERAL_EXPIRED, ...; the bundle holds
the others), 2 usage or input error.
${EXIT_TABLE}
`;

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  fetch?: typeof fetch;
}
const defaultIo: CliIo = { out: (s) => console.log(s), err: (s) => console.error(s) };

async function fetchRim(
  base: string,
  id: string,
  f: typeof fetch,
): Promise<{ body: string; source: string }> {
  const source = `${base.replace(/\/$/, '')}/${encodeURIComponent(id)}`;
  let res: Response;
  try {
    res = await f(source, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    throw new V.CollateralError('COLLATERAL_FETCH_FAILED', `${source}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new V.CollateralError('COLLATERAL_FETCH_FAILED', `${source}: HTTP ${res.status}`);
  let j: { rim?: unknown; id?: unknown };
  try {
    j = (await res.json()) as { rim?: unknown };
  } catch {
    throw new V.CollateralError('COLLATERAL_FETCH_FAILED', `${source}: the answer is not JSON`);
  }
  // The RIM service answers {"id", "rim": base64(SWID XML), "sha256", "last_updated", "rim_format", ...}
  if (typeof j.rim !== 'string' || j.rim === '')
    throw new V.CollateralError('COLLATERAL_FETCH_FAILED', `${source}: no "rim" member in the answer`);
  return { body: Buffer.from(j.rim, 'base64').toString('utf8'), source };
}

/** What one --for file holds. */
interface Targets {
  /** An NRAS answer: its tokens verify offline with the NRAS JWKS. */
  nras: boolean;
  snp: { report: Uint8Array; vek?: Uint8Array }[];
  tdx: Uint8Array[];
  gpu: ReturnType<typeof N.evidenceFromJson>;
  simulated: number;
}

function isNrasResponse(j: unknown): boolean {
  try {
    V.parseNrasResponse(j);
    return true;
  } catch {
    return false;
  }
}

function isTdxQuote(b: Uint8Array): boolean {
  if (b.length < 48) return false;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = dv.getUint16(0, true);
  return (version === 4 || version === 5) && dv.getUint32(4, true) === 0x81;
}

function targetsOf(file: string): Targets {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    throw new UsageError('BAD_INPUT', `${file}: ${(e as Error).message}`);
  }
  const t: Targets = { nras: false, snp: [], tdx: [], gpu: [], simulated: 0 };
  const text = Buffer.from(bytes).toString('utf8').trim();
  if (text.startsWith('{') || text.startsWith('[')) {
    try {
      const j = JSON.parse(text) as unknown;
      if (isNrasResponse(j)) {
        t.nras = true;
        return t;
      }
      const ev = V.evidenceInJson(j);
      if (ev) {
        for (const c of ev.cpu) {
          if (c.simulated) t.simulated++;
          else if (c.kind === 'sev-snp') {
            const vek = c.certs?.vcek ?? c.certs?.vlek;
            t.snp.push(vek ? { report: c.report, vek } : { report: c.report });
          } else t.tdx.push(c.report);
        }
        if (ev.gpu.length > 0) t.gpu.push(...N.evidenceFromJson(ev.gpu));
      } else t.gpu.push(...N.evidenceFromJson(j));
    } catch (e) {
      throw new UsageError('BAD_INPUT', `${file}: ${(e as Error).message}`);
    }
    return t;
  }
  const report = readReportFile(file);
  if (report.length === 1184) t.snp.push({ report });
  else if (isTdxQuote(bytes)) t.tdx.push(bytes);
  else
    throw new UsageError(
      'BAD_INPUT',
      `${file}: not an SEV-SNP report (1184 bytes or hex), a TDX quote (v4/v5), GPU evidence or our response/envelope JSON`,
    );
  return t;
}

async function fetchRims(
  ids: Set<string>,
  base: string,
  f: typeof fetch,
  at: Date,
  cache: import('../verify/index.ts').CollateralCache | undefined,
): Promise<{ items: CollateralItem[]; failures: string[]; fromCache: string[] }> {
  const items: CollateralItem[] = [];
  const failures: string[] = [];
  const fromCache: string[] = [];
  for (const id of ids) {
    try {
      const cached = cache?.get('nvidia-rim', id, at);
      if (cached) {
        items.push(cached);
        fromCache.push(`nvidia-rim:${id}`);
        continue;
      }
      const { body, source } = await fetchRim(base, id, f);
      const v = await V.verifyRim(body, { now: at, allowNotChecked: ['nvidia.rim.chain.revocation'] });
      if (!v.verdict.ok)
        throw new V.CollateralError(
          'COLLATERAL_SIGNATURE_INVALID',
          `${id}: the RIM does not verify: ${v.verdict.checks
            .filter((c) => c.outcome === 'fail')
            .map((c) => c.detail)
            .join('; ')}`,
        );
      const certs = V.parseRim(body).certificates;
      const notBefore = new Date(Math.max(...certs.map((c) => new Date(c.validFrom).getTime())));
      const notAfter = new Date(Math.min(...certs.map((c) => new Date(c.validTo).getTime())));
      const item: CollateralItem = {
        kind: 'nvidia-rim',
        id,
        source,
        fetchedAt: new Date().toISOString(),
        notBefore: notBefore.toISOString(),
        notAfter: notAfter.toISOString(),
        body,
      };
      cache?.put(item);
      items.push(item);
    } catch (e) {
      failures.push(`${(e as { code?: string }).code ?? 'COLLATERAL_FETCH_FAILED'}: ${(e as Error).message}`);
    }
  }
  return { items, failures, fromCache };
}

/** The TDX collateral cache of 'verify --tdx-quote --online' (its --pcs-cache default). */
export const defaultPcsCacheDir = () => join(homedir(), '.wasmvm-tee', 'tdx-collateral');

function prune(rest: string[], io: CliIo): number {
  const { values: v } = parseArgs(rest, {
    cache: { type: 'string' },
    'kds-cache': { type: 'string' },
    'pcs-cache': { type: 'string' },
    now: { type: 'string' },
    json: { type: 'boolean' },
  });
  const now = parseTime(v.now) ?? new Date();
  const caches = [
    { dir: v.cache ?? V.defaultCollateralCacheDir(), r: { removed: [] as string[], kept: 0 } },
    { dir: v['kds-cache'] ?? V.defaultKdsCacheDir(), r: { removed: [] as string[], kept: 0 } },
    { dir: v['pcs-cache'] ?? defaultPcsCacheDir(), r: { removed: [] as string[], kept: 0 } },
  ];
  caches[0]!.r = new V.CollateralCache(caches[0]!.dir).prune(now);
  caches[1]!.r = V.pruneKdsCache(caches[1]!.dir, now);
  caches[2]!.r = V.pruneTdxCacheDir(caches[2]!.dir, now);
  if (v.json)
    io.out(
      JSON.stringify({
        now: now.toISOString(),
        caches: caches.map((c) => ({ dir: c.dir, removed: c.r.removed, kept: c.r.kept })),
      }),
    );
  else
    for (const c of caches) {
      for (const x of c.r.removed) io.out(`removed ${x}`);
      io.out(`${c.dir}: ${c.r.removed.length} removed, ${c.r.kept} kept`);
    }
  return EXIT.OK;
}

function parseTime(s: string | undefined): Date | undefined {
  if (s === undefined) return undefined;
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new UsageError('USAGE', `--now '${s}' is not an ISO-8601 time`);
  return d;
}

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  V ??= await import('../verify/index.ts');
  N ??= await import('./verify-nras.ts');
  const [verb, ...rest] = argv;
  try {
    if (verb === 'prune') return prune(rest, io);
    if (verb !== 'fetch') throw new UsageError('USAGE', "the verb is 'fetch' or 'prune'");
    const { values: v } = parseArgs(rest, {
      for: { type: 'string', multiple: true },
      out: { type: 'string' },
      'rim-service': { type: 'string' },
      kds: { type: 'string' },
      pcs: { type: 'string' },
      'nras-jwks-url': { type: 'string' },
      'ocsp-responder': { type: 'string' },
      cache: { type: 'string' },
      'no-cache': { type: 'boolean' },
      json: { type: 'boolean' },
      now: { type: 'string' },
    });
    const forFiles = v.for ?? [];
    const out = v.out;
    const base = v['rim-service'] ?? NVIDIA_RIM_SERVICE;
    const json = !!v.json;
    const now = parseTime(v.now);
    if (forFiles.length === 0) throw new UsageError('USAGE', 'give --for EVIDENCE');
    if (!out) throw new UsageError('USAGE', 'give --out BUNDLE');
    if (v.cache !== undefined && v['no-cache']) throw new UsageError('USAGE', 'give --cache or --no-cache');
    const cache = v['no-cache'] ? undefined : new V.CollateralCache(v.cache ?? V.defaultCollateralCacheDir());
    const targets = forFiles.map(targetsOf);
    const ids = new Set<string>();
    for (const t of targets)
      for (const ev of t.gpu) {
        const r = V.nvidiaRimIdsForEvidence(ev.evidence);
        ids.add(r.driver);
        ids.add(r.vbios);
      }
    const f = io.fetch ?? fetch;
    const at = now ?? new Date();
    const opts = {
      fetch: f as unknown as import('../verify/index.ts').KdsOptions['fetch'] & {},
      now: at,
      ...(cache ? { cache } : {}),
      ...(v.kds ? { kdsBase: v.kds } : {}),
      ...(v.pcs ? { pcsBase: v.pcs } : {}),
    };
    const results: { items: CollateralItem[]; failures: string[]; fromCache: string[] }[] = [];
    for (const t of targets) {
      for (const s of t.snp)
        results.push(await V.fetchSnpItems(s.report, s.vek ? { ...opts, vek: s.vek } : opts));
      for (const q of t.tdx) results.push(await V.fetchTdxItems(q, opts));
    }
    const rimResult = await fetchRims(ids, base, f, at, cache);
    results.push(rimResult);
    // the device chains' OCSP responses (one item per certificate, shared chains fetched once)
    const ocspStatuses: import('../verify/index.ts').OcspFetchResult['statuses'] = [];
    const ocspOpts = {
      ...opts,
      ...(v['ocsp-responder'] ? { responder: v['ocsp-responder'] } : {}),
      seen: new Set<string>(),
    };
    const chainsSeen = new Set<string>();
    for (const t of targets)
      for (const ev of t.gpu) {
        if (chainsSeen.has(ev.certificate)) continue;
        chainsSeen.add(ev.certificate);
        const r = await V.fetchNvidiaOcspItemsForEvidence(ev, ocspOpts);
        results.push(r);
        for (const st of r.statuses) if (!ocspStatuses.some((x) => x.id === st.id)) ocspStatuses.push(st);
      }
    // each bundled RIM's signing chain: every certificate but the root, the signing leaf included
    // (the L3 / CA certificates shared by the driver and VBIOS RIM chains are fetched once)
    for (const rim of rimResult.items) {
      const r = await V.fetchNvidiaOcspItemsForRim(rim.body, ocspOpts);
      results.push(r);
      for (const st of r.statuses) if (!ocspStatuses.some((x) => x.id === st.id)) ocspStatuses.push(st);
    }
    const notGood = ocspStatuses.filter((st) => st.status !== 'good');
    if (targets.some((t) => t.nras))
      results.push(
        await V.fetchNrasJwksItem({ ...opts, ...(v['nras-jwks-url'] ? { url: v['nras-jwks-url'] } : {}) }),
      );
    // one item per kind and id
    const items: CollateralItem[] = [];
    for (const r of results)
      for (const i of r.items)
        if (!items.some((x) => x.kind === i.kind && x.id.toUpperCase() === i.id.toUpperCase())) items.push(i);
    const failures = [...new Set(results.flatMap((r) => r.failures))];
    const fromCache = [...new Set(results.flatMap((r) => r.fromCache))];
    const simulated = targets.reduce((n, t) => n + t.simulated, 0);
    const bundle: CollateralBundle = {
      format: COLLATERAL_BUNDLE_FORMAT,
      createdAt: new Date().toISOString(),
      items,
    };
    writeFileSync(out, `${JSON.stringify(bundle, null, 2)}\n`);
    if (json)
      io.out(
        JSON.stringify({
          out,
          items: items.map((i) => ({ kind: i.kind, id: i.id, notAfter: i.notAfter })),
          fromCache,
          failures,
          simulated,
          ocsp: ocspStatuses,
        }),
      );
    else {
      for (const i of items)
        io.out(
          `${fromCache.includes(`${i.kind}:${i.id}`) ? 'cached ' : 'fetched'} ${i.kind} ${i.id} (valid until ${i.notAfter})`,
        );
      if (simulated > 0) io.out(`${simulated} SIMULATED evidence: no vendor collateral exists for it`);
      for (const st of notGood)
        io.err(
          `wasmvm-tee collateral: warning: OCSP says ${st.status.toUpperCase()} for ${st.certificate}: ${st.detail} (bundled: verification with this bundle will fail)`,
        );
      for (const m of failures) io.err(`wasmvm-tee collateral: ${m}`);
      io.out(`wrote ${out}: ${items.length} item(s)${failures.length ? `, ${failures.length} missing` : ''}`);
    }
    // some item could not be fetched or did not verify: the bundle holds the others
    return failures.length === 0 ? EXIT.OK : EXIT.VERIFICATION_FAILED;
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('collateral', e, io.err, help);
    if (e instanceof V.CollateralError || (e as { code?: string }).code) {
      io.err(`wasmvm-tee collateral: ${(e as { code?: string }).code}: ${(e as Error).message}`);
      return EXIT.USAGE;
    }
    throw e;
  }
}
