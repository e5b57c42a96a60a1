/**
 * `wasmvm-tee verify --azure-evidence FILE ...`: evidence from an Azure confidential VM (SEV-SNP or TDX
 * behind the paravisor, attested through the vTPM), verified offline (docs/azure.md). Exit 0 only when
 * every check passes.
 */
import { readFileSync } from 'node:fs';
import type { Verdict, VerifyAzureOptions } from '../verify/index.ts';
import { EXIT } from './exit-codes.ts';
import { MAX_JSON_INPUT_BYTES, readFileBounded } from './read-bounded.ts';
import { parseArgs, reportUsage, UsageError } from './usage.ts';

export const summary = 'verify Azure confidential-VM (vTPM) evidence offline';

export const help = `Usage: wasmvm-tee verify --azure-evidence FILE (--nonce HEX | --nonce-text TEXT | --no-nonce) [options]

Evidence from an Azure confidential VM (DCasv5/ECasv5, DCesv5/ECesv5, NCCads H100 v5): the paravisor's HCL
report (SEV-SNP report or TDX TDREPORT + runtime claims), a TPM2_Quote by the vTPM attestation key, the PCR
values and the certificates. FILE is wasmvm-tee's own document ('azure-vtpm/1', from the azure-vtpm
provider) or confidential-containers' az-snp-vtpm (v0, v1, v2) / az-tdx-vtpm JSON.

Checks, in order (each a named check in the verdict): the SNP report to the pinned AMD roots (TDX: the
TD quote to Intel's root and TDREPORT = quote body) → hash(runtime claims) = REPORT_DATA → the AK from the
claims (RSA-2048/3072 or ECC P-256) → the quote signature → quote extraData = your nonce → PCR digest =
hash(returned PCRs) → the PCR policy.

Options:
  --azure-evidence FILE   the evidence JSON
  --nonce HEX             the nonce (or execution/session claim hash) the quote's extraData must equal
  --nonce-text TEXT       the same, given as text (UTF-8 bytes), e.g. --nonce-text challenge
  --no-nonce              do not check freshness (the verdict says so: the evidence may be replayed)
  --pcr-policy FILE       PCR policy JSON: { "pcrBank": "sha256", "pcrs": { "0": ["<hex>"] },
                          "requirePcrs": [0,1,2,3,4,5,6,7], "vmConfiguration": { "secure-boot": true } }
  --policy FILE           policy JSON with "snp" / "tdx" / "azure" sections (the azure section as --pcr-policy)
  --vcek FILE             VCEK (DER or PEM) when the evidence has none
  --tdx-collateral FILE   Intel collateral for the TD quote (TCB Info, QE identity, CRLs)
  --allow-missing-tdx-collateral
                          accept a TD quote without collateral: TCB status is then reported NOT checked
  --now ISO-8601          verification time (default: now)
  --json                  print the verdict as JSON

Exit status: 0 verified, 1 verification failed, 2 usage or input error.
`;

export interface VerifyAzureIo {
  out(s: string): void;
  err(s: string): void;
}
const defaultIo: VerifyAzureIo = { out: (s) => console.log(s), err: (s) => console.error(s) };

function readJsonFile(path: string, what: string): unknown {
  let r: ReturnType<typeof readFileBounded>;
  try {
    r = readFileBounded(path, MAX_JSON_INPUT_BYTES);
  } catch (e) {
    throw new UsageError('BAD_INPUT', `${what}: ${(e as Error).message}`);
  }
  if ('tooLarge' in r)
    throw new UsageError(
      'BAD_INPUT',
      `JSON_INPUT_SIZE: ${what} ${path} is ${r.tooLarge} bytes, over the ${MAX_JSON_INPUT_BYTES}-byte limit (not read)`,
    );
  try {
    return JSON.parse(Buffer.from(r.bytes).toString('utf8'));
  } catch (e) {
    throw new UsageError('BAD_INPUT', `${what}: ${path} is not JSON: ${(e as Error).message}`);
  }
}

function render(v: Verdict, indent = ''): string[] {
  const lines = [`${indent}${v.ok ? 'VERIFIED' : 'FAILED'}: ${v.kind}`];
  for (const c of v.checks)
    lines.push(`${indent}  ${c.outcome.toUpperCase().padEnd(4)} ${c.id}: ${c.detail}`);
  for (const p of v.parts ?? []) lines.push(...render(p, `${indent}  `));
  return lines;
}

function jsonReplacer(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return v;
}

export async function main(argv: string[], io: VerifyAzureIo = defaultIo): Promise<number> {
  let values: Record<string, unknown>;
  try {
    values = parseArgs(argv, {
      'azure-evidence': { type: 'string' },
      nonce: { type: 'string' },
      'nonce-text': { type: 'string' },
      'no-nonce': { type: 'boolean' },
      'pcr-policy': { type: 'string' },
      policy: { type: 'string' },
      vcek: { type: 'string' },
      'tdx-collateral': { type: 'string' },
      'allow-missing-tdx-collateral': { type: 'boolean' },
      now: { type: 'string' },
      json: { type: 'boolean' },
    }).values as Record<string, unknown>;
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('verify --azure-evidence', e, io.err, help);
    throw e;
  }
  try {
    const file = values['azure-evidence'];
    if (typeof file !== 'string') throw new UsageError('USAGE', '--azure-evidence FILE is required');
    const given = ['nonce', 'nonce-text', 'no-nonce'].filter((k) => values[k] !== undefined);
    if (given.length !== 1)
      throw new UsageError(
        'USAGE',
        given.length === 0
          ? 'no nonce: give --nonce HEX (or --nonce-text TEXT) to check freshness, or --no-nonce to skip that check'
          : `give one of --nonce, --nonce-text, --no-nonce (got ${given.map((g) => `--${g}`).join(', ')})`,
      );
    const V = await import('../verify/index.ts');
    const o: VerifyAzureOptions = {};
    if (typeof values.nonce === 'string') {
      if (!/^([0-9a-fA-F]{2})+$/.test(values.nonce) || values.nonce.length > 128)
        throw new UsageError('USAGE', '--nonce: 1 to 64 bytes of hex');
      o.nonce = new Uint8Array(Buffer.from(values.nonce, 'hex'));
    } else if (typeof values['nonce-text'] === 'string')
      o.nonce = new TextEncoder().encode(values['nonce-text']);
    else o.freshness = 'skip';
    if (typeof values.now === 'string') {
      o.now = new Date(values.now);
      if (Number.isNaN(o.now.getTime()))
        throw new UsageError('USAGE', `--now: not an ISO-8601 time: ${values.now}`);
    }
    let azureSection: unknown;
    if (typeof values.policy === 'string') {
      const p = readJsonFile(values.policy, '--policy') as Record<string, unknown>;
      try {
        if (p.snp !== undefined) o.snpPolicy = V.parseSnpPolicy(p.snp);
        if (p.tdx !== undefined) o.tdxPolicy = V.parseTdxPolicy(p.tdx);
      } catch (e) {
        throw new UsageError('BAD_INPUT', `--policy: ${(e as Error).message}`);
      }
      azureSection = p.azure;
    }
    if (typeof values['pcr-policy'] === 'string') {
      if (azureSection !== undefined)
        throw new UsageError('USAGE', 'give the azure policy in --policy or --pcr-policy, not both');
      azureSection = readJsonFile(values['pcr-policy'], '--pcr-policy');
    }
    try {
      o.policy = V.parseAzurePolicy(azureSection);
    } catch (e) {
      throw new UsageError('BAD_INPUT', `azure policy: ${(e as Error).message}`);
    }
    if (typeof values.vcek === 'string') o.vcek = new Uint8Array(readFileSync(values.vcek));
    if (typeof values['tdx-collateral'] === 'string')
      o.tdxCollateral = V.loadTdxCollateral(values['tdx-collateral']);
    if (values['allow-missing-tdx-collateral']) o.allowMissingTdxCollateral = true;
    const doc = readJsonFile(file, '--azure-evidence');
    const v = await V.verifyAzureEvidence(doc, o);
    const fmt = v.checks.find((c) => c.id === 'azure.evidence.format' && c.outcome === 'fail');
    if (fmt) {
      io.err(`wasmvm-tee verify: --azure-evidence: ${fmt.detail}`);
      return EXIT.USAGE;
    }
    if (values.json) io.out(JSON.stringify(v, jsonReplacer, 2));
    else io.out(render(v).join('\n'));
    return v.ok ? EXIT.OK : EXIT.VERIFICATION_FAILED;
  } catch (e) {
    const code = (e as { code?: string }).code;
    io.err(
      `wasmvm-tee verify: ${e instanceof UsageError || !code ? '' : `${code}: `}${(e as Error).message}`,
    );
    return EXIT.USAGE;
  }
}
