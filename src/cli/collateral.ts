/**
 * `wasmvm-tee collateral fetch --for EVIDENCE...`: gather, where the internet is reachable, the
 * vendor-signed collateral a later offline `verify --collateral BUNDLE` needs, into one bundle file
 * (docs/reference-values.md). This version gathers NVIDIA RIMs from NVIDIA's RIM service.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { COLLATERAL_BUNDLE_FORMAT } from '../verify/defaults.ts';
import type { CollateralBundle, CollateralItem } from '../verify/index.ts';
import { EXIT, EXIT_TABLE } from './exit-codes.ts';
import { parseArgs, reportUsage, UsageError } from './usage.ts';

export const summary = 'gather vendor collateral (NVIDIA RIMs) into a bundle for offline verification';

/** The verifier and the NVIDIA evidence reader, loaded when the verb runs (--help stays fast). */
let V: typeof import('../verify/index.ts');
let N: typeof import('./verify-nras.ts');

export const NVIDIA_RIM_SERVICE = 'https://rim.attestation.nvidia.com/v1/rim';

export const help = `Usage:
  wasmvm-tee collateral fetch --for evidence.json [--for ...] --out bundle.json [--rim-service URL]

Run where the internet is reachable. For every GPU in the evidence files (nvattest evidence or an
NRAS request body) it derives the RIM ids from the SIGNED opaque data (driver version; project,
project SKU, chip SKU and VBIOS version), fetches the driver and VBIOS RIMs from NVIDIA's RIM service,
checks each RIM's XML signature and signing chain to the pinned NVIDIA CoRIM root, and writes one
bundle (format ${COLLATERAL_BUNDLE_FORMAT}) with each item's source, fetch time and validity.
Then, with no network:
  wasmvm-tee verify --gpu-evidence evidence.json --collateral bundle.json [--at ISO-8601]

Options:
  --for FILE          GPU evidence to gather collateral for (repeatable)
  --out FILE          the bundle to write
  --rim-service URL   RIM service base (default ${NVIDIA_RIM_SERVICE})
  --now ISO-8601      time at which each fetched RIM must verify (default: now)
  --json              print a summary as JSON

AMD (KDS) and Intel (PCS) collateral are not gathered by this version.
Exit status: 0 bundle written with every item, 1 some item could not be fetched or verified
(COLLATERAL_FETCH_FAILED; the bundle holds the others), 2 usage or input error.
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

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  V ??= await import('../verify/index.ts');
  N ??= await import('./verify-nras.ts');
  const [verb, ...rest] = argv;
  try {
    if (verb !== 'fetch') throw new UsageError('USAGE', "the verb is 'fetch'");
    const { values: v } = parseArgs(rest, {
      for: { type: 'string', multiple: true },
      out: { type: 'string' },
      'rim-service': { type: 'string' },
      json: { type: 'boolean' },
      now: { type: 'string' },
    });
    const forFiles = v.for ?? [];
    const out = v.out;
    const base = v['rim-service'] ?? NVIDIA_RIM_SERVICE;
    const json = !!v.json;
    let now: Date | undefined;
    if (v.now !== undefined) {
      now = new Date(v.now);
      if (Number.isNaN(now.getTime()))
        throw new UsageError('USAGE', `--now '${v.now}' is not an ISO-8601 time`);
    }
    if (forFiles.length === 0) throw new UsageError('USAGE', 'give --for EVIDENCE');
    if (!out) throw new UsageError('USAGE', 'give --out BUNDLE');
    const ids = new Set<string>();
    for (const f of forFiles) {
      let list: ReturnType<typeof N.evidenceFromJson>;
      try {
        list = N.evidenceFromJson(JSON.parse(readFileSync(f, 'utf8')));
      } catch (e) {
        throw new UsageError('BAD_INPUT', `${f}: ${(e as Error).message}`);
      }
      for (const ev of list) {
        const r = V.nvidiaRimIdsForEvidence(ev.evidence);
        ids.add(r.driver);
        ids.add(r.vbios);
      }
    }
    const f = io.fetch ?? fetch;
    const items: CollateralItem[] = [];
    const failures: string[] = [];
    for (const id of ids) {
      try {
        const { body, source } = await fetchRim(base, id, f);
        const at = now ?? new Date();
        const v = V.verifyRim(body, { now: at, allowNotChecked: ['nvidia.rim.chain.revocation'] });
        if (!v.verdict.ok)
          throw new V.CollateralError(
            'COLLATERAL_FETCH_FAILED',
            `${id}: the RIM does not verify: ${v.verdict.checks
              .filter((c) => c.outcome === 'fail')
              .map((c) => c.detail)
              .join('; ')}`,
          );
        const certs = V.parseRim(body).certificates;
        const notBefore = new Date(Math.max(...certs.map((c) => new Date(c.validFrom).getTime())));
        const notAfter = new Date(Math.min(...certs.map((c) => new Date(c.validTo).getTime())));
        items.push({
          kind: 'nvidia-rim',
          id,
          source,
          fetchedAt: new Date().toISOString(),
          notBefore: notBefore.toISOString(),
          notAfter: notAfter.toISOString(),
          body,
        });
      } catch (e) {
        failures.push(
          `${(e as { code?: string }).code ?? 'COLLATERAL_FETCH_FAILED'}: ${(e as Error).message}`,
        );
      }
    }
    const bundle: CollateralBundle = {
      format: COLLATERAL_BUNDLE_FORMAT,
      createdAt: new Date().toISOString(),
      items,
    };
    writeFileSync(out, `${JSON.stringify(bundle, null, 2)}\n`);
    if (json)
      io.out(
        JSON.stringify({ out, items: items.map((i) => ({ id: i.id, notAfter: i.notAfter })), failures }),
      );
    else {
      for (const i of items) io.out(`fetched ${i.id} (valid until ${i.notAfter})`);
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
