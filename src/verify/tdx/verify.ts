/**
 * Intel TDX quote verification (DCAP, quote v4/v5, ECDSA P-256 attestation key).
 * Every step is a Check with a stable id; see docs/tdx.md for the list.
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { type Check, type Verdict, verdict } from '../types.ts';
import {
  type EnclaveIdentity,
  loadCollateral,
  type SignedJson,
  type TcbInfo,
  type TdxCollateral,
} from './collateral.ts';
import { TdxError } from './errors.ts';
import {
  decodeTdAttributes,
  isDebugTd,
  parseTdxQuote,
  pemToDerList,
  type TdReport,
  type TdxQuote,
  tdAttributesValue,
} from './layout.ts';
import {
  type Crl,
  checkChainToPinnedRoot,
  type PckExtensions,
  p256Key,
  parseCrl,
  parsePckExtensions,
  pinnedRoot,
  sameBytes,
  serialHex,
  subjectDer,
  toX509,
  verifyCrlSignature,
  verifyP256Raw,
} from './pki.ts';
import {
  DEFAULT_ACCEPTED_TCB_STATUSES,
  MEASUREMENT_FIELDS,
  type MeasurementField,
  parseTdxPolicy,
  type TdxPolicy,
} from './policy.ts';
import { evaluateTdxTcb, type TcbResult } from './tcb.ts';

export interface VerifyTdxOptions {
  /** Verification time (certificate, CRL and collateral validity). Default: now. */
  now?: Date;
  /** Collateral (TCB Info, QE identity, CRLs, issuer chains), or a path to a bundle/file to load. */
  collateral?: TdxCollateral | string;
  policy?: TdxPolicy;
  /** When given, REPORT_DATA must equal it exactly (64 bytes). */
  expectedReportData?: Uint8Array;
  /**
   * Trust these SIMULATED roots (PEM or DER; the subject must contain 'SIMULATED'), e.g. the root of
   * src/tee/tdx/simulated.ts. Evidence chaining to one gets a loud 'tdx.simulated' check. Intel's pinned
   * root is always tried; a root with Intel's names can never be trusted this way.
   */
  trustSimulatedRoots?: ReadonlyArray<string | Uint8Array>;
  /** Accept any self-signed SIMULATED-named root that comes with the quote (testing only; loudly marked). */
  allowSimulated?: boolean;
}

export const SIMULATED_MARK = 'SIMULATED';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** The Intel DCAP Quoting Enclave's vendor id (quote header). */
export const INTEL_QE_VENDOR_ID = '939a7233f79c4ca9940a0db3957f0607';
const cn = (c: X509Certificate) =>
  c.subject
    .split('\n')
    .find((l) => l.startsWith('CN='))
    ?.slice(3) ?? c.subject;

export function tdReportFields(q: TdxQuote): Record<string, unknown> {
  const b = q.body;
  const f: Record<string, unknown> = {
    version: q.header.version,
    bodyType: q.bodyType ?? 2,
    tdxVersion: b.teeTcbSvn2 ? '1.5' : '1.0',
    attestationKeyType: q.header.attestationKeyType,
    teeType: `0x${q.header.teeType.toString(16)}`,
    qeVendorId: hex(q.header.qeVendorId),
    userData: hex(q.header.userData),
    teeTcbSvn: hex(b.teeTcbSvn),
    mrSeam: hex(b.mrSeam),
    mrSignerSeam: hex(b.mrSignerSeam),
    seamAttributes: hex(b.seamAttributes),
    tdAttributes: hex(b.tdAttributes),
    debugTd: isDebugTd(b),
    xfam: hex(b.xfam),
    mrTd: hex(b.mrTd),
    mrConfigId: hex(b.mrConfigId),
    mrOwner: hex(b.mrOwner),
    mrOwnerConfig: hex(b.mrOwnerConfig),
    rtmr0: hex(b.rtmr[0]),
    rtmr1: hex(b.rtmr[1]),
    rtmr2: hex(b.rtmr[2]),
    rtmr3: hex(b.rtmr[3]),
    reportData: hex(b.reportData),
  };
  if (b.teeTcbSvn2) f.teeTcbSvn2 = hex(b.teeTcbSvn2);
  if (b.mrServiceTd) f.mrServiceTd = hex(b.mrServiceTd);
  return f;
}

function measurement(b: TdReport, k: MeasurementField): Uint8Array | undefined {
  switch (k) {
    case 'mrServiceTd':
      return b.mrServiceTd;
    case 'mrTd':
      return b.mrTd;
    case 'rtmr0':
      return b.rtmr[0];
    case 'rtmr1':
      return b.rtmr[1];
    case 'rtmr2':
      return b.rtmr[2];
    case 'rtmr3':
      return b.rtmr[3];
    case 'mrConfigId':
      return b.mrConfigId;
    case 'mrOwner':
      return b.mrOwner;
    case 'mrOwnerConfig':
      return b.mrOwnerConfig;
    case 'mrSeam':
      return b.mrSeam;
  }
}

function validity(
  what: string,
  issueDate: string,
  nextUpdate: string,
  now: Date,
): { ok: boolean; detail: string } {
  const a = new Date(issueDate);
  const z = new Date(nextUpdate);
  if (Number.isNaN(a.getTime()) || Number.isNaN(z.getTime()))
    return { ok: false, detail: `${what}: bad issueDate/nextUpdate` };
  if (now < a)
    return {
      ok: false,
      detail: `${what} issued ${issueDate}, after the verification time ${now.toISOString()}`,
    };
  if (now > z)
    return { ok: false, detail: `${what} expired: nextUpdate ${nextUpdate} is before ${now.toISOString()}` };
  return { ok: true, detail: `${what} valid ${issueDate} to ${nextUpdate} at ${now.toISOString()}` };
}

/** Verify a signed collateral document: issuer chain to the pinned root, signer CN, signature, dates. */
function checkSignedJson(
  checks: Check[],
  idBase: string,
  what: string,
  doc: SignedJson<{ issueDate: string; nextUpdate: string }>,
  chainDer: Uint8Array[] | undefined,
  root: X509Certificate,
  now: Date,
  revokedByRoot: Set<string> | undefined,
  simulated: boolean,
): boolean {
  let ok = true;
  if (!chainDer || chainDer.length === 0) {
    checks.push({
      id: `${idBase}.chain`,
      outcome: 'fail',
      detail: `${what}: no issuer chain in the collateral`,
    });
    checks.push({ id: `${idBase}.signature`, outcome: 'fail', detail: `${what}: no signer certificate` });
    return false;
  }
  let chain: X509Certificate[];
  try {
    chain = toX509(chainDer);
  } catch (e) {
    checks.push({ id: `${idBase}.chain`, outcome: 'fail', detail: `${what}: ${(e as Error).message}` });
    return false;
  }
  const signer = chain[0]!;
  const cr = checkChainToPinnedRoot(chain, now, root);
  let chainOk = cr.ok;
  let chainDetail = cr.detail;
  const signerCn = simulated ? cn(signer).replace(/^SIMULATED /, '') : cn(signer);
  if (chainOk && signerCn !== 'Intel SGX TCB Signing') {
    chainOk = false;
    chainDetail = `${what} signer is '${cn(signer)}', expected 'Intel SGX TCB Signing'`;
  }
  if (chainOk && revokedByRoot?.has(serialHex(signer))) {
    chainOk = false;
    chainDetail = `${what} signer serial ${serialHex(signer)} is revoked by the root CA CRL`;
  }
  checks.push({ id: `${idBase}.chain`, outcome: chainOk ? 'pass' : 'fail', detail: chainDetail });
  ok &&= chainOk;
  const sig = /^[0-9a-fA-F]{128}$/.test(doc.signatureHex) ? Buffer.from(doc.signatureHex, 'hex') : undefined;
  const sigOk = sig !== undefined && verifyP256Raw(Buffer.from(doc.raw, 'utf8'), sig, signer.publicKey);
  checks.push({
    id: `${idBase}.signature`,
    outcome: sigOk ? 'pass' : 'fail',
    detail: sigOk
      ? `${what} signature (P-256, over the raw JSON, ${Buffer.byteLength(doc.raw)} bytes) verifies with '${cn(signer)}'`
      : `${what} signature does not verify over the raw JSON with '${cn(signer)}'`,
  });
  ok &&= sigOk;
  const v = validity(what, doc.parsed.issueDate, doc.parsed.nextUpdate, now);
  checks.push({ id: `${idBase}.validity`, outcome: v.ok ? 'pass' : 'fail', detail: v.detail });
  return ok && v.ok;
}

function crlCheck(
  checks: Check[],
  id: string,
  what: string,
  crl: Crl,
  issuer: X509Certificate,
  now: Date,
  serial: string,
  subject: string,
): boolean {
  const problems: string[] = [];
  if (!sameBytes(crl.issuer, subjectDer(new Uint8Array(issuer.raw))))
    problems.push(`issued by someone other than '${cn(issuer)}'`);
  else if (!verifyCrlSignature(crl, issuer.publicKey))
    problems.push(`signature does not verify with '${cn(issuer)}'`);
  if (now < crl.thisUpdate)
    problems.push(`thisUpdate ${crl.thisUpdate.toISOString()} is after ${now.toISOString()}`);
  if (crl.nextUpdate && now > crl.nextUpdate)
    problems.push(`expired: nextUpdate ${crl.nextUpdate.toISOString()} is before ${now.toISOString()}`);
  if (problems.length > 0) {
    checks.push({ id, outcome: 'fail', detail: `${what}: ${problems.join('; ')}` });
    return false;
  }
  if (crl.revokedSerials.has(serial)) {
    checks.push({ id, outcome: 'fail', detail: `${subject} (serial ${serial}) is REVOKED by the ${what}` });
    return false;
  }
  checks.push({
    id,
    outcome: 'pass',
    detail: `${what} (${crl.revokedSerials.size} revoked serials, signed by '${cn(issuer)}', valid at ${now.toISOString()}) does not list ${subject} serial ${serial}`,
  });
  return true;
}

/**
 * Verify an Intel TDX quote. Never throws for bad input: a malformed quote is a failed
 * 'tdx.quote.format' check.
 */
export async function verifyTdxQuote(quote: Uint8Array, opts: VerifyTdxOptions = {}): Promise<Verdict> {
  const checks: Check[] = [];
  const fields: Record<string, unknown> = {};
  try {
    return verifyInner(quote, opts, checks, fields);
  } catch (e) {
    checks.push({
      id: 'tdx.error',
      outcome: 'fail',
      detail: `verification aborted: ${e instanceof TdxError ? `${e.code}: ` : ''}${e instanceof Error ? e.message : String(e)}`,
    });
    return verdict('tdx', checks, { fields });
  }
}

function verifyInner(
  quote: Uint8Array,
  opts: VerifyTdxOptions,
  checks: Check[],
  fields: Record<string, unknown>,
): Verdict {
  const now = opts.now ?? new Date();
  let policy: TdxPolicy = {};
  if (opts.policy !== undefined) {
    // Callers may hand over an unvalidated JSON section: validate it here.
    try {
      policy = parseTdxPolicy(opts.policy);
    } catch (e) {
      checks.push({ id: 'tdx.policy', outcome: 'fail', detail: (e as Error).message });
      return verdict('tdx', checks, { fields });
    }
  }
  let q: TdxQuote;
  try {
    q = parseTdxQuote(quote);
  } catch (e) {
    checks.push({
      id: 'tdx.quote.format',
      outcome: 'fail',
      detail: e instanceof TdxError ? `${e.code}: ${e.message}` : String(e),
    });
    return verdict('tdx', checks, { fields });
  }
  let root = pinnedRoot();
  checks.push({
    id: 'tdx.quote.format',
    outcome: 'pass',
    detail: `quote v${q.header.version}, TD report ${q.body.teeTcbSvn2 ? 'TDX 1.5 (648 bytes)' : 'TDX 1.0 (584 bytes)'}, certification data type ${q.certificationType}${q.qeCert ? `/${q.qeCert.inner.type}` : ''}`,
  });
  Object.assign(fields, { td: tdReportFields(q) });
  const vendor = hex(q.header.qeVendorId);
  checks.push({
    id: 'tdx.quote.qe-vendor',
    outcome: vendor === INTEL_QE_VENDOR_ID ? 'pass' : 'fail',
    detail:
      vendor === INTEL_QE_VENDOR_ID
        ? 'QE vendor id is Intel (939a7233f79c4ca9940a0db3957f0607)'
        : `QE vendor id ${vendor} is not Intel's ${INTEL_QE_VENDOR_ID}`,
  });

  // 1. Quote signature over header ‖ body with the attestation key.
  let attKeyOk = true;
  try {
    const key = p256Key(q.attestationKey);
    const ok = verifyP256Raw(q.signedRegion, q.signature, key);
    checks.push({
      id: 'tdx.quote.signature',
      outcome: ok ? 'pass' : 'fail',
      detail: ok
        ? `ECDSA P-256 signature over header+TD report (${q.signedRegion.length} bytes) verifies with the attestation key`
        : 'the quote signature does not verify with the attestation key in the quote',
    });
  } catch (e) {
    attKeyOk = false;
    checks.push({
      id: 'tdx.quote.signature',
      outcome: 'fail',
      detail: `attestation key is not a valid P-256 point: ${(e as Error).message}`,
    });
  }

  // 2. Certification data: QE report + PCK chain.
  const qc = q.qeCert;
  if (qc?.inner.type !== 5) {
    checks.push({
      id: 'tdx.qe.certification-data',
      outcome: 'fail',
      detail: `certification data must be type 6 wrapping type 5 (PCK chain); found ${q.certificationType}${qc ? `/${qc.inner.type}` : ''}`,
    });
    return verdict('tdx', checks, { fields });
  }
  let pckChain: X509Certificate[] = [];
  try {
    pckChain = toX509(pemToDerList(qc.inner.data));
  } catch (e) {
    const code = e instanceof TdxError ? `${e.code}: ` : '';
    checks.push({ id: 'tdx.pck.chain', outcome: 'fail', detail: `${code}${(e as Error).message}` });
    return verdict('tdx', checks, { fields });
  }
  if (pckChain.length < 2) {
    checks.push({
      id: 'tdx.pck.chain',
      outcome: 'fail',
      detail: `PCK chain has ${pckChain.length} certificate(s)`,
    });
    return verdict('tdx', checks, { fields });
  }
  const pck = pckChain[0]!;
  const pckIssuer = pckChain[1]!;

  // SIMULATED roots: only when explicitly trusted (or allowSimulated), never with Intel's names.
  let simulated = false;
  let simulatedVia: string | undefined;
  const last = pckChain[pckChain.length - 1]!;
  const looksSimulated = pckChain.some((c) => c.subject.includes(SIMULATED_MARK));
  if (last.subject.includes(SIMULATED_MARK) && last.subject === last.issuer) {
    const trusted = (opts.trustSimulatedRoots ?? []).map((r) => {
      // PEM (string or bytes) or DER.
      const pemText =
        typeof r === 'string' ? r : r[0] === 0x30 ? undefined : Buffer.from(r).toString('latin1');
      return toX509(pemText !== undefined ? pemToDerList(pemText) : [r as Uint8Array])[0];
    });
    const explicitly = trusted.some((t) => t?.subject.includes(SIMULATED_MARK) && sameBytes(t.raw, last.raw));
    if (explicitly || (opts.allowSimulated && last.verify(last.publicKey))) {
      root = last;
      simulated = true;
      simulatedVia = explicitly ? 'trust-simulated-root' : 'allow-simulated';
      fields.simulated = true;
      checks.push({
        id: 'tdx.simulated',
        outcome: 'pass',
        detail: `SIMULATED evidence accepted (${explicitly ? 'trusted simulated root, pinned by its exact bytes' : 'allowSimulated: ANY simulated root'}); root '${last.subject.replace(/\n/g, ', ')}' sha256 ${createHash('sha256').update(last.raw).digest('hex')}: proves NOTHING about Intel hardware`,
      });
    }
  }
  if (!simulated && looksSimulated) {
    fields.simulated = true;
    checks.push({
      id: 'tdx.simulated',
      outcome: 'fail',
      detail: 'SIMULATED evidence is rejected unless its root is explicitly trusted (trustSimulatedRoots)',
    });
  }
  /** CN without the 'SIMULATED ' prefix when (and only when) a simulated root is in use. */
  const name = (c: X509Certificate) => (simulated ? cn(c).replace(/^SIMULATED /, '') : cn(c));

  // QE report signature with the PCK key.
  const qeSigOk = verifyP256Raw(qc.qeReportRaw, qc.qeReportSignature, pck.publicKey);
  checks.push({
    id: 'tdx.qe.report-signature',
    outcome: qeSigOk ? 'pass' : 'fail',
    detail: qeSigOk
      ? `QE report signature verifies with the PCK certificate key`
      : 'QE report signature does not verify with the PCK certificate key',
  });
  // QE REPORT_DATA binds the attestation key.
  const expect = createHash('sha256').update(q.attestationKey).update(qc.qeAuthData).digest();
  const rd = qc.qeReport.reportData;
  const bindOk = attKeyOk && sameBytes(rd.subarray(0, 32), expect) && rd.subarray(32).every((x) => x === 0);
  checks.push({
    id: 'tdx.qe.report-data',
    outcome: bindOk ? 'pass' : 'fail',
    detail: bindOk
      ? 'QE REPORT_DATA = SHA-256(attestation key ‖ QE auth data) ‖ 32 zero bytes'
      : `QE REPORT_DATA ${hex(rd)} is not SHA-256(attestation key ‖ QE auth data) ${expect.toString('hex')} ‖ zeros`,
  });
  // PCK chain to the pinned root.
  const chainRes = checkChainToPinnedRoot(pckChain, now, root);
  fields.root = {
    subject: cn(root),
    subjectFull: root.subject.replace(/\n/g, ', '),
    simulated,
    sha256: createHash('sha256').update(root.raw).digest('hex'),
    trustedBy: simulated ? (simulatedVia ?? 'trust-simulated-root') : 'pinned Intel SGX Root CA',
  };
  checks.push({ id: 'tdx.pck.chain', outcome: chainRes.ok ? 'pass' : 'fail', detail: chainRes.detail });
  const issuerCn = name(pckIssuer);
  const caKind =
    issuerCn === 'Intel SGX PCK Platform CA'
      ? 'platform'
      : issuerCn === 'Intel SGX PCK Processor CA'
        ? 'processor'
        : undefined;
  if (!caKind)
    checks.push({
      id: 'tdx.pck.issuer',
      outcome: 'fail',
      detail: `PCK issuer '${issuerCn}' is not an Intel PCK CA`,
    });
  else if (name(pck) !== 'Intel SGX PCK Certificate')
    checks.push({ id: 'tdx.pck.issuer', outcome: 'fail', detail: `PCK leaf CN is '${cn(pck)}'` });
  else
    checks.push({ id: 'tdx.pck.issuer', outcome: 'pass', detail: `PCK issued by ${issuerCn} (${caKind})` });
  let ext: PckExtensions | undefined;
  try {
    ext = parsePckExtensions(new Uint8Array(pck.raw));
    Object.assign(fields, {
      pck: {
        fmspc: hex(ext.fmspc),
        pceId: hex(ext.pceId),
        pceSvn: ext.pceSvn,
        cpuSvn: hex(ext.cpuSvn),
        tcbComponents: ext.tcbComponents,
        sgxType: ext.sgxType,
        issuer: issuerCn,
        serial: serialHex(pck),
        validFrom: new Date(pck.validFrom).toISOString(),
        validTo: new Date(pck.validTo).toISOString(),
      },
    });
    checks.push({
      id: 'tdx.pck.extensions',
      outcome: 'pass',
      detail: `FMSPC ${hex(ext.fmspc)}, PCE-ID ${hex(ext.pceId)}, PCESVN ${ext.pceSvn}, TCB ${ext.tcbComponents.join('.')}`,
    });
  } catch (e) {
    checks.push({ id: 'tdx.pck.extensions', outcome: 'fail', detail: (e as Error).message });
  }

  // 3. TD attributes, REPORT_DATA binding, measurements.
  const attrs = decodeTdAttributes(q.body);
  const has = (n: string) => attrs.set.includes(n);
  const debugBits = ['DEBUG', 'HGS_PLUS_PROF', 'PERF_PROF', 'PMT_PROF'].filter(has);
  if (debugBits.length > 0 && !policy.allowDebug)
    checks.push({
      id: 'tdx.td.debug',
      outcome: 'fail',
      detail: `TD_ATTRIBUTES ${debugBits.join(', ')} set: ${has('DEBUG') ? 'a debug TD (the host can read and change its memory)' : 'the host can profile the TD'}; rejected unless debug is allowed (allowDebug, --allow-debug)`,
    });
  else
    checks.push({
      id: 'tdx.td.debug',
      outcome: 'pass',
      detail:
        debugBits.length > 0
          ? `${debugBits.join(', ')} ALLOWED by policy (allowDebug)`
          : 'TD_ATTRIBUTES.DEBUG and the profiling bits are clear',
    });
  checks.push(
    attrs.reservedBits.length === 0
      ? {
          id: 'tdx.td.attributes',
          outcome: 'pass',
          detail: `TD_ATTRIBUTES 0x${tdAttributesValue(q.body).toString(16).padStart(16, '0')}: no reserved bit set (${attrs.set.join(', ') || 'no bit set'})`,
        }
      : {
          id: 'tdx.td.attributes',
          outcome: 'fail',
          detail: `TD_ATTRIBUTES 0x${tdAttributesValue(q.body).toString(16).padStart(16, '0')}: reserved bit(s) ${attrs.reservedBits.join(', ')} set (must be zero)`,
        },
  );
  if (has('MIGRATABLE'))
    checks.push({
      id: 'tdx.td.migratable',
      outcome: policy.allowMigratable ? 'pass' : 'fail',
      detail: policy.allowMigratable
        ? 'TD_ATTRIBUTES.MIGRATABLE set: ALLOWED by policy (allowMigratable)'
        : 'TD_ATTRIBUTES.MIGRATABLE set: a migration TD may move this TD to another platform; rejected unless allowMigratable',
    });
  if (policy.requireSeptVeDisable)
    checks.push({
      id: 'tdx.td.sept-ve-disable',
      outcome: has('SEPT_VE_DISABLE') ? 'pass' : 'fail',
      detail: has('SEPT_VE_DISABLE')
        ? 'TD_ATTRIBUTES.SEPT_VE_DISABLE set (required by policy)'
        : 'TD_ATTRIBUTES.SEPT_VE_DISABLE is clear but the policy requires it (requireSeptVeDisable)',
    });
  if (opts.expectedReportData) {
    const ok = sameBytes(opts.expectedReportData, q.body.reportData);
    checks.push({
      id: 'tdx.report-data',
      outcome: ok ? 'pass' : 'fail',
      detail: ok
        ? 'REPORT_DATA equals the expected 64 bytes'
        : `REPORT_DATA ${hex(q.body.reportData)} differs from the expected ${hex(opts.expectedReportData)}`,
    });
  } else {
    checks.push({ id: 'tdx.report-data', outcome: 'skip', detail: 'no expected REPORT_DATA given' });
  }
  for (const k of MEASUREMENT_FIELDS) {
    const allow = policy[k];
    if (!allow) continue;
    const m = measurement(q.body, k);
    if (!m) {
      checks.push({
        id: `tdx.policy.${k}`,
        outcome: 'fail',
        detail: `${k} is pinned by the policy but this quote has none (TDX 1.0 body; MRSERVICETD needs a TDX 1.5 quote)`,
      });
      continue;
    }
    const v = hex(m);
    const ok = allow.includes(v);
    checks.push({
      id: `tdx.policy.${k}`,
      outcome: ok ? 'pass' : 'fail',
      detail: ok ? `${k} ${v} is allowed` : `${k} ${v} is not in the allow-list (${allow.length} entries)`,
    });
  }

  // 4. Collateral: CRLs, TCB Info, QE identity, TCB status.
  // A path (string) is accepted for callers that pass the CLI value through.
  const col = typeof opts.collateral === 'string' ? loadCollateral(opts.collateral) : opts.collateral;
  // SIMULATED evidence (explicitly trusted) has no Intel collateral: not required unless the policy says so.
  const requireCollateral = policy.requireCollateral ?? !simulated;
  if (!col) {
    checks.push({
      id: 'tdx.collateral',
      outcome: requireCollateral ? 'fail' : 'skip',
      detail:
        'no collateral given (TCB Info, QE identity, CRLs): revocation and TCB status are NOT checked' +
        (requireCollateral ? '' : simulated ? ' (SIMULATED evidence)' : ' (policy requireCollateral=false)'),
    });
    return verdict('tdx', checks, { fields });
  }
  // Root CA CRL.
  let rootRevoked: Set<string> | undefined;
  if (!col.rootCaCrl) {
    checks.push({
      id: 'tdx.crl.root',
      outcome: 'fail',
      detail: 'no Intel SGX Root CA CRL in the collateral',
    });
  } else {
    try {
      const crl = parseCrl(col.rootCaCrl);
      if (
        crlCheck(checks, 'tdx.crl.root', 'root CA CRL', crl, root, now, serialHex(pckIssuer), `'${issuerCn}'`)
      )
        rootRevoked = crl.revokedSerials;
    } catch (e) {
      checks.push({ id: 'tdx.crl.root', outcome: 'fail', detail: (e as Error).message });
    }
  }
  // PCK CRL: the one issued by the PCK's issuer.
  {
    const issuerSubject = subjectDer(new Uint8Array(pckIssuer.raw));
    let found: Crl | undefined;
    let parseErr: string | undefined;
    for (const der of col.pckCrls) {
      try {
        const crl = parseCrl(der);
        if (sameBytes(crl.issuer, issuerSubject)) found = crl;
      } catch (e) {
        parseErr = (e as Error).message;
      }
    }
    if (!found)
      checks.push({
        id: 'tdx.crl.pck',
        outcome: 'fail',
        detail: `no PCK CRL issued by '${issuerCn}' in the collateral${parseErr ? ` (${parseErr})` : ''}`,
      });
    else
      crlCheck(
        checks,
        'tdx.crl.pck',
        'PCK CRL',
        found,
        pckIssuer,
        now,
        serialHex(pck),
        'the PCK certificate',
      );
  }
  // TCB Info.
  const fmspc = ext ? hex(ext.fmspc) : undefined;
  const tcbDoc: SignedJson<TcbInfo> | undefined = fmspc ? col.tcbInfos[fmspc] : undefined;
  let tcbOk = false;
  if (!tcbDoc) {
    checks.push({
      id: 'tdx.collateral.tcb-info',
      outcome: 'fail',
      detail: `no TCB Info for FMSPC ${fmspc ?? '?'} in the collateral (has: ${Object.keys(col.tcbInfos).join(', ') || 'none'})`,
    });
  } else {
    const sigOk = checkSignedJson(
      checks,
      'tdx.collateral.tcb-info',
      'TCB Info',
      tcbDoc,
      col.tcbInfoIssuerChain,
      root,
      now,
      rootRevoked,
      simulated,
    );
    const t = tcbDoc.parsed;
    const problems: string[] = [];
    if (typeof t.fmspc !== 'string' || typeof t.pceId !== 'string' || !Array.isArray(t.tcbLevels))
      problems.push('malformed TCB Info (fmspc, pceId or tcbLevels missing)');
    else {
      if (t.id !== 'TDX') problems.push(`id '${t.id}' (expected TDX)`);
      if (t.version !== 3) problems.push(`version ${t.version} (expected 3)`);
      if (ext && t.fmspc.toLowerCase() !== hex(ext.fmspc))
        problems.push(`FMSPC ${t.fmspc} ≠ PCK ${hex(ext.fmspc)}`);
      if (ext && t.pceId.toLowerCase() !== hex(ext.pceId))
        problems.push(`PCE-ID ${t.pceId} ≠ PCK ${hex(ext.pceId)}`);
    }
    checks.push({
      id: 'tdx.collateral.tcb-info.match',
      outcome: problems.length ? 'fail' : 'pass',
      detail: problems.length
        ? `TCB Info does not apply: ${problems.join('; ')}`
        : `TCB Info v3 for TDX, FMSPC ${t.fmspc}, PCE-ID ${t.pceId}, evaluation data number ${t.tcbEvaluationDataNumber}`,
    });
    tcbOk = sigOk && problems.length === 0;
  }
  // QE identity.
  const qeDoc: SignedJson<EnclaveIdentity> | undefined = col.qeIdentity;
  let qeOk = false;
  if (!qeDoc) {
    checks.push({
      id: 'tdx.collateral.qe-identity',
      outcome: 'fail',
      detail: 'no QE identity in the collateral',
    });
  } else {
    const sigOk = checkSignedJson(
      checks,
      'tdx.collateral.qe-identity',
      'QE identity',
      qeDoc,
      col.qeIdentityIssuerChain ?? col.tcbInfoIssuerChain,
      root,
      now,
      rootRevoked,
      simulated,
    );
    const e = qeDoc.parsed;
    const r = qc.qeReport;
    const problems: string[] = [];
    const shapeOk =
      typeof e === 'object' &&
      e !== null &&
      [e.miscselect, e.miscselectMask, e.attributes, e.attributesMask, e.mrsigner].every(
        (x) => typeof x === 'string' && /^[0-9a-fA-F]*$/.test(x),
      ) &&
      typeof e.isvprodid === 'number' &&
      Array.isArray(e.tcbLevels);
    if (!shapeOk) problems.push('malformed QE identity (fields missing or not hex)');
    else {
      if (e.id !== 'TD_QE') problems.push(`id '${e.id}' (expected TD_QE)`);
      const ms = Number.parseInt(e.miscselect, 16);
      const mm = Number.parseInt(e.miscselectMask, 16);
      if ((r.miscSelect & mm) >>> 0 !== ms >>> 0) problems.push('MISCSELECT does not match');
      const attr = Buffer.from(e.attributes, 'hex');
      const am = Buffer.from(e.attributesMask, 'hex');
      if (attr.length !== 16 || am.length !== 16 || r.attributes.some((x, i) => (x & am[i]!) !== attr[i]))
        problems.push('ATTRIBUTES do not match');
      if (hex(r.mrSigner) !== e.mrsigner.toLowerCase())
        problems.push(`MRSIGNER ${hex(r.mrSigner)} ≠ ${e.mrsigner}`);
      if (r.isvProdId !== e.isvprodid) problems.push(`ISVPRODID ${r.isvProdId} ≠ ${e.isvprodid}`);
    }
    checks.push({
      id: 'tdx.qe.identity',
      outcome: problems.length ? 'fail' : 'pass',
      detail: problems.length
        ? `QE report does not match the TD_QE identity: ${problems.join('; ')}`
        : `QE report matches TD_QE identity (MRSIGNER ${e.mrsigner.toLowerCase()}, ISVPRODID ${e.isvprodid}, ISVSVN ${r.isvSvn})`,
    });
    qeOk = sigOk && problems.length === 0;
  }
  // TCB status.
  if (tcbDoc && qeDoc && ext && tcbOk && qeOk) {
    let res: TcbResult;
    try {
      res = evaluateTdxTcb(tcbDoc.parsed, ext, q.body, qeDoc.parsed, qc.qeReport);
    } catch (e) {
      res = { ok: false, error: `malformed collateral: ${(e as Error).message}`, advisoryIds: [], notes: [] };
    }
    fields.tcb = {
      status: res.status ?? null,
      platformStatus: res.platformStatus ?? null,
      tdxModuleStatus: res.moduleStatus ?? null,
      qeStatus: res.qeStatus ?? null,
      advisoryIds: res.advisoryIds,
      tcbDate: res.tcbDate ?? null,
      error: res.error ?? null,
    };
    if (!res.ok) {
      checks.push({ id: 'tdx.tcb.level', outcome: 'fail', detail: res.error! });
    } else {
      checks.push({ id: 'tdx.tcb.level', outcome: 'pass', detail: res.notes.join('; ') });
      const accepted = policy.acceptedTcbStatuses ?? DEFAULT_ACCEPTED_TCB_STATUSES;
      const ok = accepted.includes(res.status!);
      checks.push({
        id: 'tdx.tcb.status',
        outcome: ok ? 'pass' : 'fail',
        detail: `TCB status ${res.status}${res.advisoryIds.length ? ` (advisories: ${res.advisoryIds.join(', ')})` : ''}; accepted: ${accepted.join(', ')}`,
      });
      if (policy.rejectAdvisories?.length) {
        const bad = res.advisoryIds.filter((a) => policy.rejectAdvisories!.includes(a));
        checks.push({
          id: 'tdx.tcb.advisories',
          outcome: bad.length ? 'fail' : 'pass',
          detail: bad.length
            ? `rejected advisories present: ${bad.join(', ')}`
            : 'no rejected advisory applies',
        });
      }
    }
  } else {
    checks.push({
      id: 'tdx.tcb.level',
      outcome: 'fail',
      detail: 'TCB status not evaluated: the TCB Info / QE identity collateral is missing or did not verify',
    });
  }
  return verdict('tdx', checks, { fields });
}
