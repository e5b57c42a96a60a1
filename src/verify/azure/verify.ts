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

import { exportSPKI, importJWK, type JWK } from 'jose';
import {
  type AzureEvidence,
  decodeBase64Loose,
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
import { createHasher, digestHex } from '../../util/digest.ts';
import { type HashName, type SignatureScheme, verifySignature } from '../../util/signature.ts';
import { bytesEqual, bytesToBase64, bytesToHex, concatBytes } from '../../util/text-codec.ts';
import { VerifyError } from '../errors.ts';
import { parseCertificateCached } from '../nvidia/certs.ts';
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
const hex = bytesToHex;
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
  const ak = await importAk(claims, checks, fields);
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
  if (ak) await checkQuoteSignature(ev, ak, checks);
  else checks.push(fail('azure.quote.signature', 'no usable attestation key: the quote cannot be checked'));
  // 7. Freshness: extraData = nonce.
  if (opts.nonce) {
    if (bytesEqual(attest.extraData, opts.nonce))
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
        const c = parseCertificateCached(`der:${bytesToBase64(der)}`, () => der, `certificate ${i}`);
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
        ? Array.isArray(b) && a.every((x, i) => b[i] instanceof Uint8Array && bytesEqual(x, b[i]))
        : b instanceof Uint8Array && bytesEqual(a as Uint8Array, b);
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

/** The attestation key: its type, its DER SubjectPublicKeyInfo, and for RSA the modulus size. */
interface AttestationKey {
  type: 'rsa' | 'ec';
  spki: Uint8Array;
  modulusBits?: number;
}

/** node:crypto's (OpenSSL's) names of the NIST curves, as the verdict has always named them. */
const OPENSSL_CURVE: Record<string, string> = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
};

/**
 * Import a public JWK through jose (WebCrypto): its type and size as node:crypto names them ('rsa' 2048,
 * 'ec' prime256v1, …) and, for RSA and the NIST curves (what WebCrypto imports), its SPKI. A key of
 * another curve or an OKP key is described but not imported (it is refused anyway). Throws when the JWK
 * does not import.
 */
async function importPublicJwk(
  jwk: Record<string, string | undefined>,
): Promise<{ type: string; size: string; modulusBits?: number; spki?: Uint8Array }> {
  if (jwk.kty === 'OKP') return { type: String(jwk.crv).toLowerCase(), size: '' };
  const alg =
    jwk.kty === 'RSA'
      ? 'RS256'
      : jwk.kty === 'EC'
        ? { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[String(jwk.crv)]
        : undefined;
  if (jwk.kty === 'EC' && !alg) return { type: 'ec', size: String(jwk.crv) };
  if (!alg) throw new VerifyError('VERIFY_BAD_INPUT', `key type ${String(jwk.kty)} is not supported`);
  const key = await importJWK(jwk as JWK, alg, { extractable: true });
  if (key instanceof Uint8Array) throw new VerifyError('VERIFY_BAD_INPUT', 'not a public key');
  const pem = await exportSPKI(key);
  const spki = decodeBase64Loose(pem.replace(/-----[A-Z ]+-----/g, ''));
  const a = key.algorithm as { modulusLength?: number; namedCurve?: string };
  return jwk.kty === 'RSA'
    ? { type: 'rsa', size: String(a.modulusLength), modulusBits: a.modulusLength!, spki }
    : { type: 'ec', size: OPENSSL_CURVE[a.namedCurve!] ?? String(a.namedCurve), spki };
}

/** Imported AKs by their JWK members (a VM's AK is stable: it is imported once), bounded. */
const importedAks = new Map<string, ReturnType<typeof importPublicJwk>>();

function importAkCached(jwk: Record<string, string | undefined>): ReturnType<typeof importPublicJwk> {
  const id = JSON.stringify(jwk);
  let r = importedAks.get(id);
  if (!r) {
    r = importPublicJwk(jwk);
    r.catch(() => importedAks.delete(id));
    if (importedAks.size >= 256) importedAks.delete(importedAks.keys().next().value!);
    importedAks.set(id, r);
  }
  return r;
}

/** The AK from the runtime claims: RSA 2048/3072 or EC P-256, else a failed 'azure.ak.key'. */
async function importAk(
  claims: RuntimeClaims,
  checks: Check[],
  fields: Record<string, unknown>,
): Promise<AttestationKey | undefined> {
  if (!claims.akPub) {
    checks.push(fail('azure.ak.key', 'AZURE_AK_MISSING: the runtime claims carry no HCLAkPub key'));
    return undefined;
  }
  let key: Awaited<ReturnType<typeof importPublicJwk>>;
  try {
    const { kty, n, e, crv, x, y } = claims.akPub as Record<string, string>;
    key = await importAkCached(kty === 'RSA' ? { kty, n, e } : { kty, crv, x, y });
  } catch (e) {
    checks.push(fail('azure.ak.key', `AZURE_AK_KEY: HCLAkPub does not import: ${errText(e)}`));
    return undefined;
  }
  let desc: string | undefined;
  if (key.type === 'rsa' && (key.modulusBits === 2048 || key.modulusBits === 3072))
    desc = `RSA-${key.modulusBits}`;
  if (key.type === 'ec' && key.size === 'prime256v1') desc = 'ECC P-256';
  if (!desc || !key.spki) {
    checks.push(
      fail(
        'azure.ak.key',
        `AZURE_AK_KEY: HCLAkPub is ${key.type} ${key.size}; only RSA-2048/3072 or ECC P-256 are accepted`,
      ),
    );
    return undefined;
  }
  fields.akPublicKeySha256 = digestHex('sha256', key.spki);
  checks.push(
    pass(
      'azure.ak.key',
      `HCLAkPub from the runtime claims: ${desc}, SPKI sha256 ${fields.akPublicKeySha256}`,
    ),
  );
  return key.type === 'rsa'
    ? { type: 'rsa', spki: key.spki, modulusBits: key.modulusBits! }
    : { type: 'ec', spki: key.spki };
}

const HASH_NAME: Record<'sha256' | 'sha384' | 'sha512', HashName> = {
  sha256: 'SHA-256',
  sha384: 'SHA-384',
  sha512: 'SHA-512',
};

/**
 * RSASSA-PSS with the salt length found in the signature, as OpenSSL's RSA_PSS_SALTLEN_AUTO verifies:
 * WebCrypto takes one salt length, so the usual ones are tried first (the digest size, as TPMs in FIPS
 * mode and most signers use; the maximum, as other TPMs use), then every other possible length.
 */
async function verifyPssAnySalt(
  ak: AttestationKey,
  hash: HashName,
  data: Uint8Array,
  sig: Uint8Array,
): Promise<boolean> {
  const hLen = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 }[hash];
  const maxSalt = Math.ceil((ak.modulusBits! - 1) / 8) - hLen - 2;
  const order = [hLen, maxSalt];
  for (let s = 0; s <= maxSalt; s++) if (s !== hLen && s !== maxSalt) order.push(s);
  for (const saltLength of order)
    if (
      saltLength >= 0 &&
      (await verifySignature({ name: 'RSA-PSS', hash, saltLength }, { spki: ak.spki }, data, sig))
    )
      return true;
  return false;
}

async function checkQuoteSignature(ev: AzureEvidence, ak: AttestationKey, checks: Check[]): Promise<void> {
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
  if ((s.sigAlg === 'ecdsa') !== (ak.type === 'ec')) {
    checks.push(
      fail(
        'azure.quote.signature',
        `AZURE_QUOTE_SIGNATURE: a ${s.sigAlg} signature but an ${ak.type} attestation key`,
      ),
    );
    return;
  }
  const hash = HASH_NAME[h.name];
  let ok: boolean;
  if (s.sigAlg === 'ecdsa') {
    const pad = (b: Uint8Array) => {
      const t = b.length > 32 ? b.subarray(b.length - 32) : b;
      const o = new Uint8Array(32);
      o.set(t, 32 - t.length);
      return o;
    };
    const scheme: SignatureScheme = { name: 'ECDSA', namedCurve: 'P-256', hash, encoding: 'p1363' };
    ok = await verifySignature(scheme, { spki: ak.spki }, ev.quoteMessage, concatBytes(pad(s.r), pad(s.s)));
  } else if (s.sigAlg === 'rsassa')
    ok = await verifySignature(
      { name: 'RSASSA-PKCS1-v1_5', hash },
      { spki: ak.spki },
      ev.quoteMessage,
      s.signature,
    );
  else ok = await verifyPssAnySalt(ak, hash, ev.quoteMessage, s.signature);
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
  const h = createHasher(digestHash.name);
  for (const i of selected) h.update(byIndex.get(i)!.value);
  const digest = h.digest();
  const quoted: Record<string, string> = {};
  for (const i of selected) quoted[i] = hex(byIndex.get(i)!.value);
  fields.pcrs = quoted;
  if (!bytesEqual(digest, attest.pcrDigest)) {
    checks.push(
      fail(
        'azure.quote.pcr-digest',
        `AZURE_PCR_DIGEST: ${digestHash.name}(PCR ${selected.join(',')}) = ${hex(digest)}, the quote says ${hex(attest.pcrDigest)}`,
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
