/**
 * verifyAzureEvidence: evidence from an Azure confidential VM (SEV-SNP or TDX behind the paravisor),
 * checked offline. The chain, each link a named check:
 *
 *   hardware report (SNP → pinned AMD roots; TDX → quote to Intel's root, TDREPORT = quote body)
 *   → hash(runtime claims) = REPORT_DATA[0:n]        azure.runtime-claims.binding
 *   → HCLAkPub from the runtime claims                azure.ak.key
 *   → quote signed by that AK                         azure.quote.signature
 *   → quote extraData = the nonce / claim hash        azure.quote.nonce
 *   → PCR digest = hash(returned PCR values)          azure.quote.pcr-digest
 *   → PCR policy                                      azure.pcr-policy
 *
 * Never throws for bad evidence: every problem is a failed check with the error code in its detail.
 */
import {
  constants,
  createHash,
  createPublicKey,
  verify as cryptoVerify,
  type JsonWebKey,
  type KeyObject,
  X509Certificate,
} from 'node:crypto';
import {
  type AzureEvidence,
  type HclReport,
  hclClaimsBound,
  type PcrValue,
  parseAzureEvidence,
  parseHclReport,
  parseRuntimeClaims,
  parseTdReport,
  parseTdxQuote,
  parseTpmsAttest,
  type RuntimeClaims,
  type TdReportFields,
  type TpmsAttest,
  type TpmtSignature,
  tpmHash,
  tpmHashAlg,
} from '../../formats/index.ts';
import type { KdsOptions, SnpPolicy } from '../sev-snp/index.ts';
import { verifySnpReport } from '../sev-snp/index.ts';
import type { TdxCollateral, TdxPolicy } from '../tdx/index.ts';
import { parseTdxPolicy, verifyTdxQuote } from '../tdx/index.ts';
import type { Check, Verdict } from '../types.ts';
import { verdict } from '../types.ts';
import { type AzurePolicy, parseAzurePolicy } from './policy.ts';

export interface VerifyAzureOptions {
  /** The quote's extraData must equal these bytes (your nonce, or the execution/session claim hash). */
  nonce?: Uint8Array;
  /** 'skip': no nonce is checked (the verdict says the evidence may be replayed). Without it a missing nonce fails. */
  freshness?: 'skip';
  /** Verification time (certificates, CRLs). Default: now. */
  now?: Date;
  /** PCR bank, allow-lists, vm-configuration (docs/azure.md). */
  policy?: AzurePolicy;
  snpPolicy?: SnpPolicy;
  tdxPolicy?: TdxPolicy;
  /** Intel collateral for the TDX quote; without it TCB status is reported "not checked" and the verdict fails unless allowMissingTdxCollateral. */
  tdxCollateral?: TdxCollateral | string;
  /** Accept a TDX quote without collateral (TCB status then NOT checked, named in the verdict). */
  allowMissingTdxCollateral?: boolean;
  /** VCEK (DER or PEM) when the evidence carries none. */
  vcek?: Uint8Array | string;
  /** AMD KDS use for a missing VCEK (as verifySnpReport). */
  kds?: KdsOptions;
}

const pass = (id: string, detail: string): Check => ({ id, outcome: 'pass', detail });
const fail = (id: string, detail: string): Check => ({ id, outcome: 'fail', detail });
const skip = (id: string, detail: string): Check => ({ id, outcome: 'skip', detail });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const errText = (e: unknown) => {
  const code = (e as { code?: unknown }).code;
  return `${typeof code === 'string' ? `${code}: ` : ''}${e instanceof Error ? e.message : String(e)}`;
};

/** Verify an Azure evidence document (parsed JSON: ours or trustee's), or an already normalized one. */
export async function verifyAzureEvidence(doc: unknown, opts: VerifyAzureOptions = {}): Promise<Verdict> {
  const checks: Check[] = [];
  const fields: Record<string, unknown> = {};
  const parts: Verdict[] = [];
  let kind = 'azure';
  const done = () => verdict(kind, checks, { fields, parts });
  // 0. Policy; 1. the document.
  let policy: AzurePolicy;
  try {
    policy = opts.policy ?? parseAzurePolicy(undefined);
  } catch (e) {
    checks.push(fail('azure.policy', errText(e)));
    return done();
  }
  let ev: AzureEvidence;
  try {
    ev = isNormalized(doc) ? doc : parseAzureEvidence(doc);
    checks.push(pass('azure.evidence.format', `evidence document: ${ev.source}`));
    fields.source = ev.source;
  } catch (e) {
    checks.push(fail('azure.evidence.format', errText(e)));
    return done();
  }
  // 2. The HCL report.
  let hcl: HclReport;
  try {
    hcl = parseHclReport(ev.hclReport);
    checks.push(
      pass(
        'azure.hcl.format',
        `HCLA v${hcl.version}, report_type ${hcl.requestData.reportType} (${hcl.teeType}), runtime claims ${hcl.runtimeClaimsBytes.length} bytes (${hcl.claimsHashAlg})`,
      ),
    );
  } catch (e) {
    checks.push(fail('azure.hcl.format', errText(e)));
    return done();
  }
  kind = hcl.teeType === 'sev-snp' ? 'azure-sev-snp' : 'azure-tdx';
  fields.tee = kind;
  if (ev.declaredTee !== undefined && ev.declaredTee !== kind)
    checks.push(fail('azure.tee', `the document says ${ev.declaredTee}, the HCL report is ${kind}`));
  // 3. The hardware report, to the vendor roots.
  if (hcl.teeType === 'sev-snp') await checkSnp(hcl, ev, opts, checks, parts, fields);
  else await checkTdx(hcl, ev, opts, checks, parts, fields);
  // 4. Runtime claims bound to REPORT_DATA.
  const claimsHashHex = hex(hcl.runtimeClaimsHash);
  if (hclClaimsBound(hcl))
    checks.push(
      pass(
        'azure.runtime-claims.binding',
        `${hcl.claimsHashAlg}(runtime claims) = ${claimsHashHex} = REPORT_DATA[0:${hcl.runtimeClaimsHash.length}]`,
      ),
    );
  else
    checks.push(
      fail(
        'azure.runtime-claims.binding',
        `AZURE_CLAIMS_HASH: ${hcl.claimsHashAlg}(runtime claims) = ${claimsHashHex}, REPORT_DATA[0:${hcl.runtimeClaimsHash.length}] = ${hex(hcl.hwReportData.subarray(0, hcl.runtimeClaimsHash.length))}`,
      ),
    );
  fields.runtimeClaimsHash = claimsHashHex;
  // 5. Runtime claims: the AK, vm-configuration.
  let claims: RuntimeClaims;
  try {
    claims = parseRuntimeClaims(hcl.runtimeClaimsBytes);
    fields.runtimeClaims = claims.json;
  } catch (e) {
    checks.push(fail('azure.runtime-claims.format', errText(e)));
    return done();
  }
  checkVmConfiguration(claims, policy, checks);
  const ak = importAk(claims, checks, fields);
  // 6. The quote.
  let attest: TpmsAttest;
  try {
    attest = parseTpmsAttest(ev.quoteMessage);
    checks.push(
      pass(
        'azure.quote.format',
        `TPMS_ATTEST quote, ${attest.pcrSelect.map((s) => `${tpmHash(s.hashAlg)?.name ?? `alg 0x${s.hashAlg.toString(16)}`}:{${s.pcrs.join(',')}}`).join(' ')}`,
      ),
    );
    fields.quote = {
      extraData: hex(attest.extraData),
      clock: attest.clock.toString(),
      resetCount: attest.resetCount,
      restartCount: attest.restartCount,
      safe: attest.safe,
      firmwareVersion: `0x${attest.firmwareVersion.toString(16)}`,
      pcrDigest: hex(attest.pcrDigest),
    };
  } catch (e) {
    checks.push(fail('azure.quote.format', errText(e)));
    return done();
  }
  if (ak) checkQuoteSignature(ev, ak, checks);
  else checks.push(fail('azure.quote.signature', 'no usable attestation key: the quote cannot be checked'));
  // 7. Freshness: extraData = nonce.
  if (opts.nonce) {
    if (Buffer.from(attest.extraData).equals(Buffer.from(opts.nonce)))
      checks.push(
        pass('azure.quote.nonce', `quote extraData = the expected nonce (${opts.nonce.length} bytes)`),
      );
    else
      checks.push(
        fail(
          'azure.quote.nonce',
          `AZURE_QUOTE_NONCE: quote extraData ${hex(attest.extraData)} ≠ expected ${hex(opts.nonce)}`,
        ),
      );
  } else if (opts.freshness === 'skip')
    checks.push(
      skip(
        'azure.quote.nonce',
        `freshness NOT checked: the quote (extraData ${hex(attest.extraData)}) may be replayed`,
      ),
    );
  else
    checks.push(
      fail(
        'azure.quote.nonce',
        'no nonce given: freshness cannot be checked (give one, or skip freshness explicitly)',
      ),
    );
  // 8. PCR bank, digest, values, policy.
  checkPcrs(ev, attest, policy, checks, fields);
  return done();
}

function isNormalized(d: unknown): d is AzureEvidence {
  return (
    d !== null &&
    typeof d === 'object' &&
    (d as { hclReport?: unknown }).hclReport instanceof Uint8Array &&
    (d as { quoteMessage?: unknown }).quoteMessage instanceof Uint8Array
  );
}

async function checkSnp(
  hcl: HclReport,
  ev: AzureEvidence,
  opts: VerifyAzureOptions,
  checks: Check[],
  parts: Verdict[],
  fields: Record<string, unknown>,
): Promise<void> {
  const certs: { vcek?: Uint8Array; ask?: Uint8Array; ark?: Uint8Array } = {};
  try {
    ev.certs.forEach((der, i) => {
      if (i === 0) certs.vcek = der;
      else {
        const c = new X509Certificate(der);
        if (c.subject === c.issuer) certs.ark = der;
        else certs.ask = der;
      }
    });
  } catch (e) {
    checks.push(fail('azure.snp.certs', `a certificate in the evidence does not parse: ${errText(e)}`));
    return;
  }
  const o: Parameters<typeof verifySnpReport>[1] = { certs };
  if (opts.vcek !== undefined) o.vek = opts.vcek;
  if (opts.now) o.now = opts.now;
  if (opts.snpPolicy) o.policy = opts.snpPolicy;
  if (opts.kds) o.kds = opts.kds;
  const v = await verifySnpReport(hcl.hwReport, o);
  parts.push(v);
  fields.snp = v.fields;
  checks.push(
    v.ok
      ? pass('azure.hw-report', 'SEV-SNP report verified to the pinned AMD root (part sev-snp)')
      : fail(
          'azure.hw-report',
          `SEV-SNP report did not verify: ${v.checks
            .filter((c) => c.outcome === 'fail')
            .map((c) => c.id)
            .join(', ')}`,
        ),
  );
}

const TD_FIELDS: Array<[keyof TdReportFields, string]> = [
  ['mrTd', 'MRTD'],
  ['rtmr', 'RTMR0-3'],
  ['reportData', 'REPORTDATA'],
  ['tdAttributes', 'TDATTRIBUTES'],
  ['xfam', 'XFAM'],
  ['mrSeam', 'MRSEAM'],
  ['mrSignerSeam', 'MRSIGNERSEAM'],
  ['teeTcbSvn', 'TEE_TCB_SVN'],
  ['mrConfigId', 'MRCONFIGID'],
  ['mrOwner', 'MROWNER'],
  ['mrOwnerConfig', 'MROWNERCONFIG'],
];

async function checkTdx(
  hcl: HclReport,
  ev: AzureEvidence,
  opts: VerifyAzureOptions,
  checks: Check[],
  parts: Verdict[],
  fields: Record<string, unknown>,
): Promise<void> {
  // The TDREPORT's MAC can be checked only on the host that made it: the TD quote carries the proof.
  if (!ev.tdQuote) {
    checks.push(
      fail(
        'azure.hw-report',
        'AZURE_TDX_NO_QUOTE: a TDREPORT alone cannot be verified off the host; the evidence has no TD quote',
      ),
    );
    return;
  }
  let tdPolicy: TdxPolicy;
  try {
    tdPolicy = opts.tdxPolicy ?? parseTdxPolicy({});
  } catch (e) {
    checks.push(fail('azure.policy', errText(e)));
    return;
  }
  const noCollateral = opts.tdxCollateral === undefined;
  if (noCollateral && opts.allowMissingTdxCollateral) tdPolicy = { ...tdPolicy, requireCollateral: false };
  const o: Parameters<typeof verifyTdxQuote>[1] = { policy: tdPolicy };
  if (opts.tdxCollateral !== undefined) o.collateral = opts.tdxCollateral;
  if (opts.now) o.now = opts.now;
  const v = await verifyTdxQuote(ev.tdQuote, o);
  parts.push(v);
  fields.tdx = v.fields;
  checks.push(
    v.ok
      ? pass('azure.hw-report', 'TDX quote verified to the pinned Intel root (part tdx)')
      : fail(
          'azure.hw-report',
          `TDX quote did not verify: ${v.checks
            .filter((c) => c.outcome === 'fail')
            .map((c) => c.id)
            .join(', ')}`,
        ),
  );
  if (noCollateral)
    checks.push(
      (opts.allowMissingTdxCollateral ? skip : fail)(
        'azure.tdx.tcb-status',
        'TCB status NOT checked: no Intel collateral (TCB Info, QE identity, CRLs) was given',
      ),
    );
  // The quote's TD report must be the HCL's TDREPORT.
  try {
    const td = parseTdReport(hcl.hwReport);
    const q = parseTdxQuote(ev.tdQuote).body;
    const diffs: string[] = [];
    for (const [k, name] of TD_FIELDS) {
      const a = td[k];
      const b = (q as unknown as Record<string, Uint8Array | Uint8Array[]>)[k];
      const eq = Array.isArray(a)
        ? Array.isArray(b) && a.every((x, i) => Buffer.from(x).equals(Buffer.from(b[i]!)))
        : b instanceof Uint8Array && Buffer.from(a as Uint8Array).equals(Buffer.from(b));
      if (!eq) diffs.push(name);
    }
    checks.push(
      diffs.length === 0
        ? pass(
            'azure.tdx.report-match',
            `TD quote body = HCL TDREPORT (${TD_FIELDS.map((f) => f[1]).join(', ')})`,
          )
        : fail(
            'azure.tdx.report-match',
            `AZURE_TDX_MISMATCH: TD quote and HCL TDREPORT differ in ${diffs.join(', ')}`,
          ),
    );
    fields.tdReport = { mrTd: hex(td.mrTd), rtmr: td.rtmr.map(hex), reportData: hex(td.reportData) };
  } catch (e) {
    checks.push(fail('azure.tdx.report-match', errText(e)));
  }
}

function checkVmConfiguration(claims: RuntimeClaims, policy: AzurePolicy, checks: Check[]): void {
  const want = Object.entries(policy.vmConfiguration);
  if (want.length === 0) return;
  const have = claims.vmConfiguration ?? {};
  const bad = want
    .filter(([k, v]) => have[k] !== v)
    .map(([k, v]) => `${k}: ${JSON.stringify(have[k])} ≠ ${JSON.stringify(v)}`);
  checks.push(
    bad.length === 0
      ? pass('azure.vm-configuration', want.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', '))
      : fail('azure.vm-configuration', bad.join('; ')),
  );
}

/** The AK from the runtime claims: RSA 2048/3072 or EC P-256, else a failed 'azure.ak.key'. */
function importAk(
  claims: RuntimeClaims,
  checks: Check[],
  fields: Record<string, unknown>,
): KeyObject | undefined {
  if (!claims.akPub) {
    checks.push(fail('azure.ak.key', 'AZURE_AK_MISSING: the runtime claims carry no HCLAkPub key'));
    return undefined;
  }
  let key: KeyObject;
  try {
    const { kty, n, e, crv, x, y } = claims.akPub as Record<string, string>;
    const jwk = kty === 'RSA' ? { kty, n, e } : { kty, crv, x, y };
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (e) {
    checks.push(fail('azure.ak.key', `AZURE_AK_KEY: HCLAkPub does not import: ${errText(e)}`));
    return undefined;
  }
  const d = key.asymmetricKeyDetails ?? {};
  let desc: string | undefined;
  if (key.asymmetricKeyType === 'rsa' && (d.modulusLength === 2048 || d.modulusLength === 3072))
    desc = `RSA-${d.modulusLength}`;
  if (key.asymmetricKeyType === 'ec' && d.namedCurve === 'prime256v1') desc = 'ECC P-256';
  if (!desc) {
    checks.push(
      fail(
        'azure.ak.key',
        `AZURE_AK_KEY: HCLAkPub is ${key.asymmetricKeyType} ${d.modulusLength ?? d.namedCurve ?? ''}; only RSA-2048/3072 or ECC P-256 are accepted`,
      ),
    );
    return undefined;
  }
  const spki = key.export({ format: 'der', type: 'spki' });
  fields.akPublicKeySha256 = createHash('sha256').update(spki).digest('hex');
  checks.push(
    pass(
      'azure.ak.key',
      `HCLAkPub from the runtime claims: ${desc}, SPKI sha256 ${fields.akPublicKeySha256}`,
    ),
  );
  return key;
}

function checkQuoteSignature(ev: AzureEvidence, ak: KeyObject, checks: Check[]): void {
  const s: TpmtSignature = ev.quoteSignature;
  const h = tpmHash(s.hashAlg);
  if (!h || h.name === 'sha1') {
    checks.push(
      fail(
        'azure.quote.signature',
        `AZURE_SIG_HASH: signature hash 0x${s.hashAlg.toString(16)} is not SHA-256/384/512`,
      ),
    );
    return;
  }
  if ((s.sigAlg === 'ecdsa') !== (ak.asymmetricKeyType === 'ec')) {
    checks.push(
      fail(
        'azure.quote.signature',
        `AZURE_QUOTE_SIGNATURE: a ${s.sigAlg} signature but an ${ak.asymmetricKeyType} attestation key`,
      ),
    );
    return;
  }
  let ok = false;
  try {
    if (s.sigAlg === 'ecdsa') {
      const pad = (b: Uint8Array) => {
        const t = b.length > 32 ? b.subarray(b.length - 32) : b;
        const o = new Uint8Array(32);
        o.set(t, 32 - t.length);
        return o;
      };
      ok = cryptoVerify(
        h.name,
        ev.quoteMessage,
        { key: ak, dsaEncoding: 'ieee-p1363' },
        Buffer.concat([pad(s.r), pad(s.s)]),
      );
    } else {
      ok = cryptoVerify(
        h.name,
        ev.quoteMessage,
        s.sigAlg === 'rsassa'
          ? { key: ak, padding: constants.RSA_PKCS1_PADDING }
          : { key: ak, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
        s.signature,
      );
    }
  } catch (e) {
    checks.push(fail('azure.quote.signature', `AZURE_QUOTE_SIGNATURE: ${errText(e)}`));
    return;
  }
  const what = `${s.sigAlg === 'rsassa' ? 'RSASSA-PKCS1-v1_5' : s.sigAlg === 'rsapss' ? 'RSASSA-PSS' : 'ECDSA'} ${h.name}${ev.signatureIsBare ? ' (bare signature in the evidence: RSASSA-PKCS1-v1_5 SHA-256 assumed, as its producer signs)' : ''}`;
  checks.push(
    ok
      ? pass('azure.quote.signature', `quote signed by HCLAkPub (${what})`)
      : fail(
          'azure.quote.signature',
          `AZURE_QUOTE_SIGNATURE: the quote signature does not verify with HCLAkPub (${what})`,
        ),
  );
}

function checkPcrs(
  ev: AzureEvidence,
  attest: TpmsAttest,
  policy: AzurePolicy,
  checks: Check[],
  fields: Record<string, unknown>,
): void {
  const bankAlg = tpmHashAlg(policy.pcrBank);
  const wrong = attest.pcrSelect.filter((s) => s.hashAlg !== bankAlg && s.pcrs.length > 0);
  if (wrong.length > 0 || attest.pcrSelect.every((s) => s.pcrs.length === 0)) {
    checks.push(
      fail(
        'azure.quote.pcr-bank',
        `AZURE_PCR_BANK: the quote covers ${attest.pcrSelect.map((s) => `${tpmHash(s.hashAlg)?.name ?? `0x${s.hashAlg.toString(16)}`}:{${s.pcrs.join(',')}}`).join(' ') || 'no PCRs'}; the policy requires the ${policy.pcrBank} bank`,
      ),
    );
    return;
  }
  checks.push(pass('azure.quote.pcr-bank', `the quote covers the ${policy.pcrBank} bank only`));
  // The digest: hash over the selected PCR values, in selection order, with the signing scheme's hash.
  const digestHash = tpmHash(ev.quoteSignature.hashAlg);
  const byIndex = new Map<number, PcrValue>();
  for (const p of ev.pcrs) if (p.hashAlg === bankAlg) byIndex.set(p.index, p);
  const selected: number[] = attest.pcrSelect.flatMap((s) => s.pcrs);
  const missing = selected.filter((i) => !byIndex.has(i));
  if (missing.length > 0 || !digestHash) {
    checks.push(
      fail(
        'azure.quote.pcr-digest',
        `AZURE_PCR_MISSING: the evidence has no ${policy.pcrBank} value for PCR ${missing.join(', ')}`,
      ),
    );
    return;
  }
  const h = createHash(digestHash.name);
  for (const i of selected) h.update(byIndex.get(i)!.value);
  const digest = h.digest();
  const quoted: Record<string, string> = {};
  for (const i of selected) quoted[i] = hex(byIndex.get(i)!.value);
  fields.pcrs = quoted;
  if (!digest.equals(Buffer.from(attest.pcrDigest))) {
    checks.push(
      fail(
        'azure.quote.pcr-digest',
        `AZURE_PCR_DIGEST: ${digestHash.name}(PCR ${selected.join(',')}) = ${digest.toString('hex')}, the quote says ${hex(attest.pcrDigest)}`,
      ),
    );
    return;
  }
  checks.push(
    pass('azure.quote.pcr-digest', `${digestHash.name}(PCR ${selected.join(',')}) = the quote's pcrDigest`),
  );
  // Policy: required PCRs covered; allow-listed values.
  if (policy.requirePcrs.length === 0 && policy.pcrs.size === 0) {
    checks.push(skip('azure.pcr-policy', 'no PCR policy given: PCR values are reported, not judged'));
    return;
  }
  const problems: string[] = [];
  for (const i of policy.requirePcrs)
    if (!selected.includes(i)) problems.push(`PCR ${i} is not covered by the quote`);
  for (const [i, allowed] of policy.pcrs) {
    if (!selected.includes(i)) problems.push(`PCR ${i} is in the policy but not covered by the quote`);
    else if (!allowed.includes(quoted[i]!))
      problems.push(`PCR ${i} = ${quoted[i]} is not in the policy's list`);
  }
  checks.push(
    problems.length === 0
      ? pass('azure.pcr-policy', `PCR ${[...policy.pcrs.keys()].join(', ')} match the policy`)
      : fail('azure.pcr-policy', problems.join('; ')),
  );
}
