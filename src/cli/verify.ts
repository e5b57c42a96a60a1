/**
 * `wasmvm-tee verify`: offline verification of SEV-SNP reports and of saved Execute responses
 * (TDX quotes → verify-tdx.ts, NVIDIA → verify-nras.ts). Exit 0 only when everything passes.
 */

import { readFileSync } from 'node:fs';
import type { GuestAttestations } from '../binding/index.ts';
import type {
  CollateralBundle,
  KdsOptions,
  SnpPolicy,
  Verdict,
  VerifyExecutionOptions,
  VerifySnpOptions,
} from '../verify/index.ts';
import { EXIT } from './exit-codes.ts';
import { readFileBounded } from './read-bounded.ts';
import { receiptLines } from './receipts-text.ts';
import { parseArgs, reportUsage, UsageError } from './usage.ts';

export const summary = 'verify attestation evidence or a saved Execute response offline';

/** The verifier, loaded when a verification runs (--help and usage errors stay fast). */
let V: typeof import('../verify/index.ts');

export const help = `Usage:
  wasmvm-tee verify --snp-report report.bin [--vcek cert.der|pem] [--certs auxblob.bin] [options]
  wasmvm-tee verify --response resp.json [--request req.json] [--nonce HEX] [options]
  wasmvm-tee verify --envelope attestation.json [--request req.json] [--nonce HEX] [options]
  wasmvm-tee verify --evidence attest.json (--nonce HEX | --report-data HEX | --no-nonce) [options]
  wasmvm-tee verify --tdx-quote quote.dat ...        (Intel TDX; see 'wasmvm-tee verify --tdx-quote --help')
  wasmvm-tee verify --nras-response resp.json ...    (NVIDIA; see 'wasmvm-tee verify --nras-response --help')
  wasmvm-tee verify --rim FILE [--gpu-evidence ...]  (NVIDIA RIMs; see 'wasmvm-tee verify --rim x --help')
  wasmvm-tee verify --azure-evidence FILE ...        (Azure CVM vTPM; see 'wasmvm-tee verify --azure-evidence x --help')

Verifies against PINNED vendor roots (AMD ARK-Milan/Genoa/Turin). Roots that come with the evidence are
only compared with the pinned ones. SIMULATED evidence (wasmvm-tee's local TEE) is rejected unless you
trust its root explicitly. Exit status: 0 verified, 1 verification failed, 2 usage or input error.

SEV-SNP report:
  --snp-report FILE         ATTESTATION_REPORT, 1184 bytes (binary or hex text)
  --vcek FILE               VCEK or VLEK certificate (DER or PEM)
  --certs FILE              extended-report certificate table (auxblob)
  --product NAME            Milan | Genoa | Turin, for version 2 reports without a certificate
  --report-data HEX         require this REPORT_DATA (64 bytes): REQUIRED (freshness) unless --no-nonce
  --kds                     take a missing VCEK from the AMD KDS cache (~/.cache/wasmvm-tee/kds);
                            with --online, fetch it from AMD KDS when not cached
  --crl FILE|fetch          check the ASK/ASVK against an ARK-signed CRL (file, or from KDS: cache,
                            network with --online). A CRL past its nextUpdate is rejected
  --allow-stale-crl         accept a CRL past its nextUpdate (named in the verdict)
  --online                  allow network use (AMD KDS for --kds / --crl fetch). Without it nothing is
                            fetched; the verdict's fields.network says whether the network was used
  --offline                 never use the network (the default; kept for scripts)

Execute response:
  --response FILE           a saved response: Connect/proto JSON of WASMVMExecutionResponse, or the output
                            of 'wasmvm-tee exec --server --json'. Every field it shows is compared with the
                            attested claim (typed values with their bits, status, trap, gas, modes, nonce,
                            simulated, the structured claim/signature/evidence); fields nothing attests
                            (timings, the earlier verdict) are listed as unverified
  --envelope FILE           the attestation envelope JSON alone
  --request FILE            the request sent (proto JSON of WASMVMExecutionRequest): its input side is
                            recomputed and compared (its nonce counts as --nonce)
  --nonce HEX               the nonce you sent: the attested claim must carry it. REQUIRED (freshness)
                            unless --request carries it or --no-nonce is given
  --no-nonce                do not check freshness (the verdict says so: the result may be replayed)
  --evidence FILE           'wasmvm-tee attest --json' output: its evidence must carry REPORT_DATA =
                            --report-data, or --nonce zero-padded to 64 bytes
  --trust-simulated-root F  trust this simulated root (PEM, from 'wasmvm-tee attest --print-simulated-root'):
                            pinned by the SHA-256 fingerprint of that exact certificate, never by name
  --allow-simulated         accept ANY simulated root (testing only): the output names the root accepted
                            (subject and SHA-256 fingerprint)
  --require-gpu             fail when the envelope carries no GPU evidence
  --server-build SHA256     require this server build digest (64 hex, 'sha256:' allowed; repeatable):
                            the claim's attested serverBuildSha256 must be one of them (check
                            reference.server-build; docs/deployment.md). Overrides the policy file's
                            serverBuildSha256

Common:
  --now ISO-8601            verification time (default: now); session keys must be valid at this time,
                            and claims must not be issued after it
  --at ISO-8601             the same (historical checks against a collateral bundle)
  --collateral FILE         an offline collateral bundle ('wasmvm-tee collateral fetch', docs/reference-
                            values.md): the VCEK (when the evidence has none) and the ASK/ASVK CRL (SEV-SNP),
                            TCB Info, QE identity and CRLs (TDX inside a response), with --gpu-evidence
                            the RIMs and the device chain's OCSP responses come from it, with no
                            network. Each use is a 'collateral.*' check: COLLATERAL_MISSING_ITEM is "not
                            checked" and fails the verdict unless allowed; COLLATERAL_EXPIRED (outside
                            the item's signed validity at --at), COLLATERAL_SIGNATURE_INVALID and
                            COLLATERAL_MALFORMED fail
  --allow-not-checked ID    accept this not-checked check (repeatable), e.g. collateral.amd.crl
  --policy FILE             policy JSON: { "snp": { ... }, "tdx": { ... }, "nvidia": { ... } }, or a
                            reference-value file (docs/reference-values.md, validated strictly)
                            (docs/attestation-formats-sev-snp.md lists the snp keys)
  --allow-debug             accept guests whose policy allows debugging
  --measurement HEX         require this MEASUREMENT (repeatable)
  --vmpl N                  require this VMPL (default: 0)
  --min-tcb bootloader=N,tee=N,snp=N,microcode=N[,fmc=N]
                            minimum SPL per component (bl= and ucode= also accepted; fmc: Turin only,
                            a non-Turin report has no FMC SPL and fails an fmc minimum), checked
                            against the current, committed and reported TCB
  --host-data HEX           require this HOST_DATA
  --require-signing-key VCEK|VLEK
  --json                    print the verdict as JSON
`;

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
}
const defaultIo: CliIo = { out: (s) => console.log(s), err: (s) => console.error(s) };

/** Evidence files (--snp-report, --vcek, --certs, --crl) over this size are refused unread (issue 14). */
const MAX_EVIDENCE_FILE_BYTES = 1024 * 1024;

function readBytes(file: string): Uint8Array {
  const r = readFileBounded(file, MAX_EVIDENCE_FILE_BYTES);
  if ('tooLarge' in r)
    throw new UsageError(
      'BAD_INPUT',
      `EVIDENCE_FILE_SIZE: ${file} is ${r.tooLarge} bytes, over the ${MAX_EVIDENCE_FILE_BYTES}-byte limit (not read)`,
    );
  return r.bytes;
}

/** A report file: raw 1184 bytes, or hex text. */
export function readReportFile(file: string): Uint8Array {
  const b = readBytes(file);
  if (b.length === 1184) return b;
  const t = Buffer.from(b).toString('latin1').replace(/\s+/g, '');
  if (/^[0-9a-fA-F]+$/.test(t) && t.length === 2368) return new Uint8Array(Buffer.from(t, 'hex'));
  return b; // the verifier reports the size problem
}

function parseHex(s: string, bytes: number | undefined, what: string): string {
  if (!/^([0-9a-fA-F]{2})+$/.test(s) || (bytes !== undefined && s.length !== bytes * 2))
    throw new UsageError('USAGE', `${what}: expected ${bytes ?? 'some'} bytes of hex`);
  return s.toLowerCase();
}

function buildPolicy(
  values: Record<string, unknown>,
): NonNullable<VerifyExecutionOptions['policy']> & { snp: SnpPolicy } {
  let file: Record<string, unknown> = {};
  if (typeof values.policy === 'string') {
    try {
      file = JSON.parse(readFileSync(values.policy, 'utf8')) as Record<string, unknown>;
      // A reference-value file (docs/reference-values.md): validated, then mapped onto the sections.
      if (V.isReferenceValuesFile(file)) {
        const rv = V.parseReferenceValues(file);
        file = V.toVerifierPolicy(rv) as Record<string, unknown>;
        if (rv.allowSimulated) values['allow-simulated'] = true;
        if (rv.allowNotChecked)
          values['allow-not-checked'] = [
            ...((values['allow-not-checked'] as string[] | undefined) ?? []),
            ...rv.allowNotChecked,
          ];
      }
    } catch (e) {
      throw new UsageError('BAD_INPUT', `--policy: ${(e as Error).message}`);
    }
  }
  const snp: Record<string, unknown> = { ...((file.snp as Record<string, unknown>) ?? {}) };
  if (values['allow-debug']) snp.allowDebug = true;
  if (Array.isArray(values.measurement))
    snp.measurements = (values.measurement as string[]).map((m) => parseHex(m, 48, '--measurement'));
  if (typeof values.vmpl === 'string') {
    if (!/^[0-3]$/.test(values.vmpl)) throw new UsageError('USAGE', '--vmpl: 0 to 3');
    snp.vmpl = Number(values.vmpl);
  }
  if (typeof values['host-data'] === 'string')
    snp.hostData = parseHex(values['host-data'], 32, '--host-data');
  if (typeof values['require-signing-key'] === 'string')
    snp.requireSigningKey = values['require-signing-key'];
  if (typeof values['min-tcb'] === 'string') {
    const t: Record<string, number> = {};
    for (const part of values['min-tcb'].split(',')) {
      const m = /^(bl|bootloader|tee|snp|ucode|microcode|fmc)=(\d+)$/.exec(part.trim());
      if (!m)
        throw new UsageError(
          'USAGE',
          `--min-tcb: bad component '${part}' (bootloader, tee, snp, microcode, fmc)`,
        );
      const name = m[1] === 'bootloader' ? 'bl' : m[1] === 'microcode' ? 'ucode' : m[1];
      t[`${name}SPL`] = Number(m[2]);
    }
    snp.minTcb = t;
  }
  let parsed: SnpPolicy;
  try {
    parsed = V.parseSnpPolicy(snp);
  } catch (e) {
    throw new UsageError('USAGE', (e as Error).message);
  }
  const out: NonNullable<VerifyExecutionOptions['policy']> & { snp: SnpPolicy } = { snp: parsed };
  if (file.tdx !== undefined) out.tdx = file.tdx;
  if (file.nvidia !== undefined) out.nvidia = file.nvidia;
  if (file.gpuReferenceValues !== undefined)
    out.gpuReferenceValues = file.gpuReferenceValues as NonNullable<
      VerifyExecutionOptions['policy']
    >['gpuReferenceValues'];
  if (Array.isArray(file.serverBuildSha256)) out.serverBuildSha256 = file.serverBuildSha256 as string[];
  if (Array.isArray(values['server-build']))
    out.serverBuildSha256 = (values['server-build'] as string[]).map((h) =>
      parseHex(h.replace(/^sha256:/, ''), 32, '--server-build'),
    );
  return out;
}

/**
 * Saved responses, envelopes and evidence JSON: 16 MiB at most; a request (which carries the bytecode,
 * base64) 64 MiB. Larger files are refused unread (JSON_INPUT_SIZE).
 */
const MAX_RESPONSE_JSON_BYTES = 16 << 20;
const MAX_REQUEST_JSON_BYTES = 64 << 20;

/** A text file of at most `max` bytes (larger: JSON_INPUT_SIZE, not read); read errors name the option. */
function readText(file: string, what: string, max = MAX_RESPONSE_JSON_BYTES): string {
  let r: ReturnType<typeof readFileBounded>;
  try {
    r = readFileBounded(file, max);
  } catch (e) {
    throw new UsageError('BAD_INPUT', `${what}: ${(e as Error).message}`);
  }
  if ('tooLarge' in r)
    throw new UsageError(
      'BAD_INPUT',
      `JSON_INPUT_SIZE: ${what} ${file} is ${r.tooLarge} bytes, over the ${max}-byte limit (not read)`,
    );
  return Buffer.from(r.bytes).toString('utf8');
}

function readJson(file: string, what: string, max = MAX_RESPONSE_JSON_BYTES): unknown {
  const text = readText(file, what, max);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError('BAD_INPUT', `${what}: ${file} is not JSON: ${(e as Error).message}`);
  }
}

function requestHasNonce(req: unknown): boolean {
  const ex = (req as { execution?: { nonce?: unknown } } | undefined)?.execution;
  return typeof ex?.nonce === 'string' && ex.nonce !== '';
}

/** Bad input (unreadable envelope, claim, response or request): the message, for exit 2. */
function inputError(v: Verdict): string | undefined {
  const c = v.checks.find(
    (x) =>
      x.outcome === 'fail' &&
      (x.id === 'binding.envelope' || (x.id === 'binding.request' && x.detail.startsWith('cannot read'))),
  );
  return c ? `${c.id}: ${c.detail}` : undefined;
}

function render(v: Verdict, indent = ''): string[] {
  const lines: string[] = [];
  lines.push(`${indent}${v.ok ? 'VERIFIED' : 'FAILED'}: ${v.kind}`);
  for (const c of v.checks)
    lines.push(`${indent}  ${c.outcome.toUpperCase().padEnd(4)} ${c.id}: ${c.detail}`);
  for (const p of v.parts ?? []) lines.push(...render(p, `${indent}  `));
  return lines;
}

function isSimulated(v: Verdict): boolean {
  return v.fields?.simulated === true || (v.parts ?? []).some(isSimulated);
}

function jsonReplacer(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return v;
}

/**
 * The roots a verdict accepted (subject + SHA-256 fingerprint, and how: pinned, --trust-simulated-root or
 * --allow-simulated) and whether the network was used, for the vendor verdict and its parts.
 */
export function vendorSummary(v: Verdict): string[] {
  const lines: string[] = [];
  const walk = (x: Verdict) => {
    const root = x.fields?.root as
      | { subject?: string; subjectFull?: string; sha256?: string; trustedBy?: string; simulated?: boolean }
      | null
      | undefined;
    if (root?.sha256)
      lines.push(
        `accepted root (${x.kind}): ${root.subjectFull ?? root.subject} sha256 ${root.sha256} (${root.trustedBy ?? (root.simulated ? 'simulated' : 'pinned')})`,
      );
    const net = x.fields?.network as { used?: boolean; detail?: string } | undefined;
    if (net?.detail) lines.push(`network (${x.kind}): ${net.detail}`);
    for (const p of x.parts ?? []) walk(p);
  };
  walk(v);
  return lines;
}

/** TDX quotes are verified by verify-tdx.ts, NVIDIA evidence by verify-nras.ts, Azure vTPM evidence by verify-azure.ts. */
async function delegate(
  argv: readonly string[],
): Promise<
  | typeof import('./verify-tdx.ts')
  | typeof import('./verify-nras.ts')
  | typeof import('./verify-rim.ts')
  | typeof import('./verify-azure.ts')
  | undefined
> {
  const has = (flag: string) => argv.some((a) => a === flag || a.startsWith(`${flag}=`));
  if (has('--azure-evidence')) return import('./verify-azure.ts');
  if (has('--rim') || (has('--gpu-evidence') && has('--collateral'))) return import('./verify-rim.ts');
  if (has('--tdx-quote')) return import('./verify-tdx.ts');
  if (has('--nras-response') || has('--gpu-evidence')) return import('./verify-nras.ts');
  return undefined;
}

/** The --help text for these arguments: verify-tdx.ts's / verify-nras.ts's when delegated, else this one. */
export async function helpFor(argv: readonly string[]): Promise<string> {
  return (await delegate(argv))?.help ?? help;
}

export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const sub = await delegate(argv);
  if (sub) return sub.main(argv);
  let values: Record<string, unknown>;
  try {
    values = parseArgs(argv, {
      'snp-report': { type: 'string' },
      vcek: { type: 'string' },
      certs: { type: 'string' },
      product: { type: 'string' },
      'report-data': { type: 'string' },
      kds: { type: 'boolean' },
      offline: { type: 'boolean' },
      online: { type: 'boolean' },
      crl: { type: 'string' },
      'allow-stale-crl': { type: 'boolean' },
      response: { type: 'string' },
      envelope: { type: 'string' },
      request: { type: 'string' },
      nonce: { type: 'string' },
      'no-nonce': { type: 'boolean' },
      evidence: { type: 'string' },
      'trust-simulated-root': { type: 'string', multiple: true },
      'allow-simulated': { type: 'boolean' },
      'require-gpu': { type: 'boolean' },
      'server-build': { type: 'string', multiple: true },
      now: { type: 'string' },
      at: { type: 'string' },
      collateral: { type: 'string' },
      'allow-not-checked': { type: 'string', multiple: true },
      policy: { type: 'string' },
      'allow-debug': { type: 'boolean' },
      measurement: { type: 'string', multiple: true },
      vmpl: { type: 'string' },
      'min-tcb': { type: 'string' },
      'host-data': { type: 'string' },
      'require-signing-key': { type: 'string' },
      json: { type: 'boolean' },
    }).values as Record<string, unknown>;
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('verify', e, io.err, help);
    throw e;
  }
  V ??= await import('../verify/index.ts');
  try {
    let now: Date | undefined;
    if (typeof values.now === 'string' && typeof values.at === 'string')
      throw new UsageError('USAGE', 'give --now or --at, not both');
    const nowArg = (values.now ?? values.at) as string | undefined;
    if (typeof nowArg === 'string') {
      now = new Date(nowArg);
      if (Number.isNaN(now.getTime()))
        throw new UsageError('USAGE', `--now: not an ISO-8601 time: ${nowArg}`);
    }
    const policy = buildPolicy(values);
    const allowNotChecked = [...((values['allow-not-checked'] as string[] | undefined) ?? [])];
    let bundle: CollateralBundle | undefined;
    if (typeof values.collateral === 'string') {
      if (values.kds || values.crl !== undefined || values.online)
        throw new UsageError(
          'USAGE',
          '--collateral is the offline source: not with --kds, --crl or --online',
        );
      try {
        bundle = V.parseCollateralBundle(JSON.parse(readText(values.collateral, '--collateral')));
      } catch (e) {
        if (e instanceof UsageError) throw e;
        throw new UsageError('BAD_INPUT', `--collateral: ${(e as Error).message}`);
      }
    }
    // ---- vendor evidence: network and CRL (no network unless --online) ----
    if (values.online && values.offline)
      throw new UsageError('USAGE', 'give --online or --offline, not both');
    let kds: KdsOptions | undefined;
    if (values.kds || values.crl === 'fetch') {
      kds = values.online ? { cache: V.fileKdsCache() } : { offline: true, cache: V.fileKdsCache() };
    }
    let crl: Uint8Array | 'fetch' | undefined;
    if (typeof values.crl === 'string') crl = values.crl === 'fetch' ? 'fetch' : readBytes(values.crl);
    const allowStaleCrl = values['allow-stale-crl'] === true;
    // ---- end vendor evidence
    const trust = ((values['trust-simulated-root'] as string[] | undefined) ?? []).map((f) =>
      readFileSync(f, 'utf8'),
    );
    let v: Verdict;
    if (typeof values['snp-report'] === 'string') {
      // Freshness by default: the REPORT_DATA you asked the report for, or an explicit --no-nonce.
      if (typeof values['report-data'] === 'string' && values['no-nonce'])
        throw new UsageError('USAGE', '--report-data and --no-nonce: give one');
      if (typeof values['report-data'] !== 'string' && !values['no-nonce'])
        throw new UsageError(
          'USAGE',
          'no REPORT_DATA: give --report-data HEX (what you asked the report to carry, e.g. your nonce) to check freshness, or --no-nonce to skip that check',
        );
      const o: VerifySnpOptions = { policy: policy.snp, trustSimulatedRoots: trust };
      if (typeof values.vcek === 'string') o.vek = readBytes(values.vcek);
      if (typeof values.certs === 'string') o.auxblob = readBytes(values.certs);
      if (typeof values.product === 'string') {
        if (!['Milan', 'Genoa', 'Turin'].includes(values.product))
          throw new UsageError('USAGE', '--product: Milan, Genoa or Turin');
        o.product = values.product as 'Milan';
      }
      if (typeof values['report-data'] === 'string')
        o.expectedReportData = new Uint8Array(
          Buffer.from(parseHex(values['report-data'], 64, '--report-data'), 'hex'),
        );
      if (now) o.now = now;
      if (kds) o.kds = kds;
      if (crl) o.crl = crl;
      if (allowStaleCrl) o.allowStaleCrl = true;
      if (values['allow-simulated']) o.allowSimulated = true;
      const report = readReportFile(values['snp-report']);
      if (bundle) {
        const b = await V.snpCollateralFromBundle(bundle, report, {
          at: now ?? new Date(),
          ...(o.vek ? { vek: o.vek } : {}),
          ...(o.auxblob ? { auxblob: o.auxblob } : {}),
          ...(o.product ? { product: o.product } : {}),
        });
        if (b.vek) o.vek = b.vek;
        if (b.crl) o.crl = b.crl;
        v = V.withCollateralChecks(await V.verifySnpReport(report, o), b.checks, allowNotChecked);
      } else v = await V.verifySnpReport(report, o);
      if (values['no-nonce'])
        v = {
          ...v,
          checks: [
            ...v.checks,
            {
              id: 'freshness',
              outcome: 'skip',
              detail: 'freshness NOT checked (--no-nonce): the report may be old or replayed',
            },
          ],
          fields: { ...(v.fields ?? {}), freshness: 'not checked' },
        };
    } else if (typeof values.response === 'string' || typeof values.envelope === 'string') {
      const o: VerifyExecutionOptions = { policy, trustSimulatedRoot: trust };
      let envelope: unknown;
      if (typeof values.response === 'string') o.response = readJson(values.response, '--response');
      else envelope = readText(values.envelope as string, '--envelope');
      if (typeof values.request === 'string')
        o.request = readJson(values.request, '--request', MAX_REQUEST_JSON_BYTES);
      if (typeof values.nonce === 'string') o.nonce = parseHex(values.nonce, undefined, '--nonce');
      if (values['no-nonce']) {
        if (o.nonce !== undefined) throw new UsageError('USAGE', '--nonce and --no-nonce: give one');
        o.freshness = 'skip';
      } else if (o.nonce === undefined && !requestHasNonce(o.request))
        throw new UsageError(
          'USAGE',
          'no nonce: give the nonce you sent (--nonce HEX, or --request with it) to check freshness, or --no-nonce to skip that check',
        );
      if (now) o.now = now;
      if (kds) o.kds = kds;
      if (crl) o.crl = crl;
      if (allowStaleCrl) o.allowStaleCrl = true;
      if (values['allow-simulated']) o.allowSimulated = true;
      if (values['require-gpu']) o.requireGpu = true;
      if (bundle) o.collateral = bundle;
      if (allowNotChecked.length > 0) o.allowNotChecked = allowNotChecked;
      v = await V.verifyExecution(envelope, o);
      const bad = inputError(v);
      if (bad) {
        io.err(`wasmvm-tee verify: ${bad}`);
        return EXIT.USAGE;
      }
    } else if (typeof values.evidence === 'string') {
      const file = readJson(values.evidence, '--evidence') as Record<string, unknown>;
      let expected: Uint8Array;
      if (typeof values['report-data'] === 'string')
        expected = new Uint8Array(Buffer.from(parseHex(values['report-data'], 64, '--report-data'), 'hex'));
      else if (typeof values.nonce === 'string') {
        const n = Buffer.from(parseHex(values.nonce, undefined, '--nonce'), 'hex');
        if (n.length > 64) throw new UsageError('USAGE', '--nonce: at most 64 bytes');
        expected = new Uint8Array(64);
        expected.set(n);
      } else if (values['no-nonce']) {
        if (typeof file.reportData !== 'string' || !/^[0-9a-f]{128}$/.test(file.reportData))
          throw new UsageError('BAD_INPUT', '--evidence: reportData: expected 64 bytes of hex');
        expected = new Uint8Array(Buffer.from(file.reportData, 'hex'));
      } else
        throw new UsageError(
          'USAGE',
          'no nonce: give --nonce HEX (or --report-data HEX) to check freshness, or --no-nonce to skip that check',
        );
      const o: VerifyExecutionOptions = { policy, trustSimulatedRoot: trust };
      if (values['no-nonce']) o.freshness = 'skip';
      if (now) o.now = now;
      if (kds) o.kds = kds;
      if (crl) o.crl = crl;
      if (values['allow-simulated']) o.allowSimulated = true;
      if (bundle) o.collateral = bundle;
      if (allowNotChecked.length > 0) o.allowNotChecked = allowNotChecked;
      try {
        v = await V.verifyEvidence(file, expected, o);
      } catch (e) {
        throw new UsageError('BAD_INPUT', `--evidence: ${(e as Error).message}`);
      }
    } else {
      throw new UsageError(
        'USAGE',
        'give --snp-report, --response, --envelope, --evidence, --tdx-quote or --nras-response',
      );
    }
    const sim = isSimulated(v);
    if (values.json) io.out(JSON.stringify(v, jsonReplacer, 2));
    else {
      if (sim)
        io.out(
          '*** SIMULATED evidence: signed by a local wasmvm-tee key chain, NOT by AMD hardware. It proves nothing about a TEE. ***',
        );
      io.out(render(v).join('\n'));
      io.out(vendorSummary(v).join('\n'));
      const g = v.fields?.guestAttestations as GuestAttestations | undefined;
      if (g) {
        io.out(`guest attestations (in the claim): ${g.receipts.length}${g.truncated ? '+' : ''}`);
        for (const l of receiptLines(g)) io.out(`  ${l}`);
      }
    }
    return v.ok ? EXIT.OK : EXIT.VERIFICATION_FAILED;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`wasmvm-tee verify: ${e.message}`);
      return EXIT.USAGE;
    }
    const code = (e as { code?: string }).code;
    io.err(`wasmvm-tee verify: ${code ? `${code}: ` : ''}${(e as Error).message}`);
    return EXIT.USAGE;
  }
}
