/**
 * verifySnpReport: an AMD SEV-SNP ATTESTATION_REPORT against the pinned AMD roots (or an explicitly trusted
 * simulated root), with every check recorded (docs/attestation-formats-sev-snp.md lists the ids).
 */
import 'reflect-metadata';
import { createHash, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import {
  type AmdCertInfo,
  CERT_TABLE_LIMITS,
  certsFromTable,
  decodePolicy,
  decodeSignerInfo,
  decodeTcb,
  describeReport,
  parseAmdCert,
  parseCertTable,
  parseReport,
  reportProduct,
  SIGNED_REGION_END,
  type SnpProduct,
  type SnpReportFields,
  signatureP1363,
  unknownCriticalExtensions,
} from '../../formats/index.ts';
import type { Check, Verdict } from '../types.ts';
import { verdict } from '../types.ts';
import { cn, fingerprint, isValidAt, type PinnedChain, pinnedChains, signedBy } from './chain.ts';
import { checkCrl, fetchVcek, type KdsOptions, kdsCrlUrl, kdsGet } from './kds.ts';
import { checkSnpPolicy, type SnpPolicy } from './policy.ts';
import { amdSignatureAlgorithmProblem } from './sigalg.ts';

export const SIMULATED_MARK = 'SIMULATED';

export interface SnpCerts {
  vcek?: Uint8Array;
  vlek?: Uint8Array;
  ask?: Uint8Array;
  ark?: Uint8Array;
}

export interface VerifySnpOptions {
  /** VCEK or VLEK (DER or PEM). Overrides any certificate in `certs`/`auxblob`. */
  vek?: Uint8Array | string;
  /** Certificates that came with the evidence (roots here are only matched, never trusted). */
  certs?: SnpCerts;
  /** GHCB certificate table (extended report). */
  auxblob?: Uint8Array;
  /** Verification time (default: now). */
  now?: Date;
  policy?: SnpPolicy;
  /** When given, REPORT_DATA must equal it. */
  expectedReportData?: Uint8Array;
  /** Product line when neither the report (v2) nor the certificate tells. */
  product?: SnpProduct;
  /** Trust these simulated ARKs (PEM or DER), e.g. from `wasmvm-tee attest --print-simulated-root`. */
  trustSimulatedRoots?: ReadonlyArray<string | Uint8Array>;
  /** Accept any SIMULATED-named, self-signed ARK that comes with the evidence (testing only; loudly marked). */
  allowSimulated?: boolean;
  /** Fetch the VCEK from AMD KDS when the evidence has none. Without `kds`, a missing VCEK fails. */
  kds?: KdsOptions;
  /** CRL (DER) for the intermediate, or 'fetch' (KDS). Without it the revocation check is skipped. */
  crl?: Uint8Array | 'fetch';
  /** Accept a CRL past its nextUpdate (default false: a stale CRL fails 'snp.chain.crl'). */
  allowStaleCrl?: boolean;
}

const pass = (id: string, detail: string): Check => ({ id, outcome: 'pass', detail });
const fail = (id: string, detail: string): Check => ({ id, outcome: 'fail', detail });
const skip = (id: string, detail: string): Check => ({ id, outcome: 'skip', detail });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function toX509(data: Uint8Array | string): X509Certificate {
  if (typeof data === 'string') return new X509Certificate(data);
  return new X509Certificate(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

function simulatedChainFrom(ark: X509Certificate, ask: X509Certificate | undefined): PinnedChain {
  const c: PinnedChain = { product: 'SIMULATED', ark, simulated: true };
  if (ask) c.ask = ask;
  return c;
}

/** Verify an SEV-SNP report. Never throws for bad evidence: every problem is a failed check. */
export async function verifySnpReport(report: Uint8Array, opts: VerifySnpOptions = {}): Promise<Verdict> {
  const checks: Check[] = [];
  const now = opts.now ?? new Date();
  const fields: Record<string, unknown> = { verifiedAt: now.toISOString() };
  let r: SnpReportFields;
  try {
    r = parseReport(report);
    checks.push(pass('snp.report.parse', `ATTESTATION_REPORT version ${r.version}, ${report.length} bytes`));
  } catch (e) {
    checks.push(fail('snp.report.parse', (e as Error).message));
    return verdict('sev-snp', checks, { fields });
  }
  checks.push(
    r.signatureAlgo === 1
      ? pass('snp.report.signature-algo', 'SIGNATURE_ALGO 1 = ECDSA P-384 with SHA-384')
      : fail('snp.report.signature-algo', `unsupported SIGNATURE_ALGO ${r.signatureAlgo}`),
  );
  const signer = decodeSignerInfo(r.signerInfo);
  // Reserved (must-be-zero) bytes of the signed region; CPUID bytes are reserved before version 3.
  const mbz: Array<[string, Uint8Array]> = [
    ['0x04C', r.reserved0],
    ['0x18B', r.reserved1],
    ['0x1EB', r.reserved2],
    ['0x1EF', r.reserved3],
    ['0x208', r.reserved4],
  ];
  if (r.version < 3)
    mbz.push(['0x188 (CPUID, version 2)', Uint8Array.of(r.cpuidFamId, r.cpuidModId, r.cpuidStep)]);
  const nonZero = mbz.filter(([, b]) => b.some((x) => x !== 0)).map(([at]) => at);
  checks.push(
    nonZero.length === 0
      ? pass('snp.report.reserved', 'reserved fields of the signed region are zero')
      : fail('snp.report.reserved', `reserved bytes are not zero at ${nonZero.join(', ')}`),
  );

  // ---- network: only through `kds` (VCEK or CRL from AMD KDS); every request is counted for the verdict
  const network = { requests: [] as string[] };
  let kds: KdsOptions | undefined;
  if (opts.kds) {
    const f = opts.kds.fetch ?? (globalThis.fetch as unknown as KdsOptions['fetch']);
    kds = { ...opts.kds };
    if (f)
      kds.fetch = (url, init) => {
        network.requests.push(url);
        return f(url, init);
      };
  }
  const networkField = () =>
    network.requests.length > 0
      ? { used: true, detail: `${network.requests.length} request(s) to AMD KDS`, requests: network.requests }
      : {
          used: false,
          detail: opts.kds
            ? opts.kds.offline
              ? 'no network used (KDS offline: cache only)'
              : 'no network used (KDS answers came from the cache)'
            : 'no network used',
        };

  // ---- certificates from the evidence
  const oversized = [['vek', opts.vek], ...Object.entries(opts.certs ?? {})].filter(
    ([, c]) => c !== undefined && (c as Uint8Array | string).length > CERT_TABLE_LIMITS.maxCertBytes * 2,
  );
  if (oversized.length > 0) {
    checks.push(
      fail(
        'snp.certs.table',
        `SNP_CERT_TABLE_SIZE: certificate(s) ${oversized.map(([k]) => k).join(', ')} over ${CERT_TABLE_LIMITS.maxCertBytes} bytes`,
      ),
    );
    fields.network = networkField();
    return verdict('sev-snp', checks, { fields });
  }
  let evCerts: SnpCerts = { ...(opts.certs ?? {}) };
  if (opts.auxblob) {
    try {
      evCerts = { ...certsFromTable(parseCertTable(opts.auxblob)), ...evCerts };
    } catch (e) {
      const code = (e as { code?: string }).code;
      checks.push(
        fail('snp.certs.table', `bad certificate table: ${code ? `${code}: ` : ''}${(e as Error).message}`),
      );
    }
  }
  let vekDer: Uint8Array | string | undefined =
    opts.vek ??
    (signer.signingKey === 'VLEK' ? (evCerts.vlek ?? evCerts.vcek) : (evCerts.vcek ?? evCerts.vlek));
  let vekSource = opts.vek ? 'given' : vekDer ? 'evidence' : '';

  let product = reportProduct(r) ?? opts.product;
  if (!vekDer && signer.signingKey === 'VCEK' && kds) {
    const candidates: SnpProduct[] = product ? [product] : ['Milan', 'Genoa'];
    for (const p of candidates) {
      try {
        vekDer = await fetchVcek(p, r.chipId, decodeTcb(r.reportedTcb, p), kds);
        vekSource = `AMD KDS (${p})`;
        break;
      } catch (e) {
        vekSource = `AMD KDS failed: ${(e as Error).message}`;
      }
    }
  }
  if (!vekDer) {
    checks.push(
      fail(
        'snp.vek.present',
        signer.signingKey === 'none'
          ? 'SIGNER_INFO.SIGNING_KEY = none: the report is not signed'
          : `no ${signer.signingKey} certificate in the evidence${vekSource ? ` (${vekSource})` : ''}; pass one, or allow KDS retrieval`,
      ),
    );
    fields.report = describeReport(r, product);
    fields.network = networkField();
    return verdict('sev-snp', checks, { fields });
  }
  let vek: X509Certificate;
  let info: AmdCertInfo;
  try {
    ({ vek, info } = parseVek(vekDer));
    checks.push(
      pass('snp.vek.present', `${cn(vek.subject)} from ${vekSource}, product ${info.productName ?? '?'}`),
    );
  } catch (e) {
    checks.push(fail('snp.vek.present', `cannot parse the VCEK/VLEK: ${(e as Error).message}`));
    fields.report = describeReport(r, product);
    fields.network = networkField();
    return verdict('sev-snp', checks, { fields });
  }
  const vekIsVlek = cn(vek.subject) === 'SEV-VLEK' || info.cspId !== undefined;
  const vekKind = vekIsVlek ? 'VLEK' : 'VCEK';
  checks.push(
    signer.signingKey === vekKind
      ? pass('snp.vek.kind', `SIGNER_INFO.SIGNING_KEY = ${signer.signingKey}, certificate is a ${vekKind}`)
      : fail(
          'snp.vek.kind',
          `SIGNER_INFO.SIGNING_KEY = ${signer.signingKey} but the certificate is a ${vekKind}`,
        ),
  );

  // ---- product
  const reportProd = reportProduct(r);
  if (reportProd && info.product && reportProd !== info.product)
    checks.push(fail('snp.product', `report CPUID says ${reportProd}, certificate says ${info.productName}`));
  else {
    product = reportProd ?? info.product ?? opts.product;
    checks.push(
      product
        ? pass(
            'snp.product',
            `${product}${reportProd ? ' (CPUID)' : ''}${info.productName ? ` (certificate: ${info.productName})` : ''}`,
          )
        : skip('snp.product', 'unknown product line (version 2 report, no productName)'),
    );
  }

  // ---- chain: pinned AMD chains first, then explicitly trusted simulated roots
  const chains: PinnedChain[] = pinnedChains().filter((c) => !product || c.product === product);
  const evArk = evCerts.ark ? safeX509(evCerts.ark) : undefined;
  const evAsk = evCerts.ask ? safeX509(evCerts.ask) : undefined;
  const trusted = (opts.trustSimulatedRoots ?? [])
    .map((p) => safeX509(p))
    .filter((c): c is X509Certificate => !!c);
  let simulatedVia: 'trusted-root' | 'allow-simulated' | undefined;
  if (evArk?.subject.includes(SIMULATED_MARK)) {
    if (trusted.some((t) => fingerprint(t) === fingerprint(evArk))) {
      chains.push(simulatedChainFrom(evArk, evAsk));
      simulatedVia = 'trusted-root';
    } else if (opts.allowSimulated && signedBy(evArk, evArk)) {
      chains.push(simulatedChainFrom(evArk, evAsk));
      simulatedVia = 'allow-simulated';
    }
  }
  for (const t of trusted) if (!chains.some((c) => c.ark === t)) chains.push(simulatedChainFrom(t, evAsk));

  let chosen: PinnedChain | undefined;
  let inter: X509Certificate | undefined;
  for (const c of chains) {
    const i = vekIsVlek ? c.asvk : c.ask;
    // A simulated chain's intermediate comes from the evidence: it must be signed by the trusted ARK.
    if (!i) continue;
    if (c.simulated && !(signedBy(i, c.ark) && i.issuer === c.ark.subject)) continue;
    if (vek.issuer === i.subject && signedBy(vek, i)) {
      chosen = c;
      inter = i;
      break;
    }
  }
  if (evArk) {
    // It must be the root this report chains to (or, when the chain failed, at least a pinned AMD root).
    const matches = chosen
      ? fingerprint(chosen.ark) === fingerprint(evArk)
      : pinnedChains().some((c) => fingerprint(c.ark) === fingerprint(evArk));
    checks.push(
      matches
        ? pass(
            'snp.chain.evidence-ark',
            'the ARK in the evidence matches the trusted root (it is otherwise ignored)',
          )
        : fail(
            'snp.chain.evidence-ark',
            `the ARK in the evidence (${cn(evArk.subject)}, sha256 ${fingerprint(evArk).slice(0, 16)}…) is not the ${chosen ? `trusted root ${cn(chosen.ark.subject)}` : 'pinned AMD root'}`,
          ),
    );
  }
  if (!chosen || !inter) {
    const simNote =
      evArk?.subject.includes(SIMULATED_MARK) || vek.subject.includes(SIMULATED_MARK)
        ? ' This is SIMULATED evidence: trust its root explicitly (--trust-simulated-root, trustSimulatedRoots) or --allow-simulated.'
        : '';
    checks.push(
      fail(
        'snp.chain.vek',
        `${vekKind} (issuer ${cn(vek.issuer)}) is not signed by any pinned ${vekIsVlek ? 'ASVK' : 'ASK'}${product ? ` for ${product}` : ''}.${simNote}`,
      ),
    );
  } else {
    checks.push(
      pass(
        'snp.chain.ark',
        `${cn(chosen.ark.subject)} ${chosen.simulated ? '(SIMULATED root, explicitly trusted)' : '(pinned AMD root)'}, sha256 ${fingerprint(chosen.ark)}`,
      ),
    );
    checks.push(
      pass(
        vekIsVlek ? 'snp.chain.asvk' : 'snp.chain.ask',
        `${cn(inter.subject)} signed by ${cn(chosen.ark.subject)} (RSA-PSS SHA-384)`,
      ),
    );
    checks.push(pass('snp.chain.vek', `${vekKind} signed by ${cn(inter.subject)} (RSA-PSS SHA-384)`));
    const algProblems = [chosen.ark, inter, vek]
      .map((c) => [c, certProblems(c).algorithm] as const)
      .filter(([, p]) => p !== undefined)
      .map(([c, p]) => `${cn(c.subject)}: ${p}`);
    checks.push(
      algProblems.length === 0
        ? pass(
            'snp.chain.signature-algorithm',
            'ARK, intermediate and VEK are signed with RSASSA-PSS / SHA-384 / MGF1-SHA-384 / salt 48 (pinned)',
          )
        : fail(
            'snp.chain.signature-algorithm',
            `not the pinned RSASSA-PSS SHA-384: ${algProblems.join('; ')}`,
          ),
    );
    const critical = [chosen.ark, inter, vek]
      .map((c) => [c, certProblems(c).critical] as const)
      .filter(([, u]) => u.length > 0)
      .map(([c, u]) => `${cn(c.subject)}: ${u.join(', ')}`);
    checks.push(
      critical.length === 0
        ? pass('snp.chain.critical-extensions', 'no certificate has an unknown critical extension')
        : fail('snp.chain.critical-extensions', `unknown critical extension(s): ${critical.join('; ')}`),
    );
    const bad = [chosen.ark, inter, vek].filter((c) => !isValidAt(c, now));
    checks.push(
      bad.length === 0
        ? pass(
            'snp.chain.validity',
            `all certificates valid at ${now.toISOString()} (${vekKind} ${vek.validFrom} – ${vek.validTo})`,
          )
        : fail(
            'snp.chain.validity',
            `not valid at ${now.toISOString()}: ${bad.map((c) => `${cn(c.subject)} (${c.validFrom} – ${c.validTo})`).join(', ')}`,
          ),
    );
    // CRL of the intermediate
    if (opts.crl) {
      try {
        const crlDer =
          opts.crl === 'fetch'
            ? await kdsGet(
                kdsCrlUrl(chosen.product as SnpProduct, vekIsVlek ? 'vlek' : 'vcek', opts.kds?.baseUrl),
                kds ?? { offline: true },
              )
            : opts.crl;
        const res = await checkCrl(
          crlDer,
          new x509.X509Certificate(chosen.ark.raw),
          new x509.X509Certificate(inter.raw),
          now,
          { allowStale: opts.allowStaleCrl === true },
        );
        checks.push((res.ok ? pass : fail)('snp.chain.crl', `${cn(inter.subject)}: ${res.detail}`));
      } catch (e) {
        checks.push(fail('snp.chain.crl', `CRL unavailable: ${(e as Error).message}`));
      }
    } else checks.push(skip('snp.chain.crl', 'no CRL given (revocation of the intermediate not checked)'));
  }
  if (chosen?.simulated || evArk?.subject.includes(SIMULATED_MARK) || vek.subject.includes(SIMULATED_MARK)) {
    fields.simulated = true;
    checks.push(
      chosen?.simulated
        ? pass(
            'snp.simulated',
            `SIMULATED evidence accepted (${simulatedVia === 'allow-simulated' ? '--allow-simulated: ANY simulated root' : 'trusted simulated root, pinned by its SHA-256 fingerprint'}); root '${chosen.ark.subject.replace(/\n/g, ', ')}' sha256 ${fingerprint(chosen.ark)}: proves NOTHING about AMD hardware`,
          )
        : fail('snp.simulated', 'SIMULATED evidence is rejected unless its root is explicitly trusted'),
    );
  }

  // ---- report signature (checked even when the chain failed, for diagnostics; the verdict fails anyway)
  const sig = signatureP1363(r);
  let sigOk = false;
  if (!sig)
    checks.push(
      fail('snp.report.signature', 'signature r/s has non-zero bytes above 48 (not a P-384 signature)'),
    );
  else {
    try {
      sigOk = cryptoVerify(
        'sha384',
        report.subarray(0, SIGNED_REGION_END),
        { key: vek.publicKey, dsaEncoding: 'ieee-p1363' },
        sig,
      );
    } catch (e) {
      sigOk = false;
      checks.push(fail('snp.report.signature', `cannot verify: ${(e as Error).message}`));
    }
    if (!checks.some((c) => c.id === 'snp.report.signature'))
      checks.push(
        sigOk
          ? pass('snp.report.signature', `ECDSA P-384/SHA-384 over 0x000–0x29F verifies with the ${vekKind}`)
          : fail('snp.report.signature', `ECDSA signature does not verify with the ${vekKind}`),
      );
  }

  // ---- VEK ↔ report
  if (vekKind === 'VCEK') {
    if (!info.hwId) checks.push(fail('snp.vek.hwid', 'the VCEK has no hwID extension'));
    else if (signer.maskChipKey || r.chipId.every((b) => b === 0))
      checks.push(skip('snp.vek.hwid', 'CHIP_ID masked (MASK_CHIP_KEY): cannot compare with the VCEK hwID'));
    else {
      const n = info.hwId.length; // 64, or 8 on Turin (the first 8 bytes of CHIP_ID)
      const ok =
        (n === 64 || n === 8) &&
        Buffer.compare(Buffer.from(info.hwId), Buffer.from(r.chipId.subarray(0, n))) === 0;
      checks.push(
        (ok ? pass : fail)(
          'snp.vek.hwid',
          `VCEK hwID (${n} bytes, ${info.hwIdEncoding}) ${ok ? '=' : '≠'} CHIP_ID${n === 8 ? '[0..8]' : ''} ${hex(r.chipId.subarray(0, Math.min(n, 8)))}…`,
        ),
      );
    }
  } else {
    checks.push(
      info.cspId
        ? pass('snp.vlek.csp', `VLEK issued to CSP ${info.cspId}`)
        : fail('snp.vlek.csp', 'VLEK without a cspId extension'),
    );
  }
  const tcbProduct = product ?? info.product;
  const reported = decodeTcb(r.reportedTcb, tcbProduct);
  const keys = [
    'blSPL',
    'teeSPL',
    'snpSPL',
    'ucodeSPL',
    ...(tcbProduct === 'Turin' ? ['fmcSPL'] : []),
  ] as const;
  const diffs = keys.filter(
    (k) =>
      (reported as unknown as Record<string, number>)[k] !==
      ((info.tcb as unknown as Record<string, number>)[k] ?? 0),
  );
  checks.push(
    diffs.length === 0
      ? pass(
          'snp.vek.tcb',
          `certificate SPLs = REPORTED_TCB (${keys.map((k) => `${k}=${(reported as unknown as Record<string, number>)[k]}`).join(' ')})`,
        )
      : fail(
          'snp.vek.tcb',
          `certificate SPLs ≠ REPORTED_TCB: ${diffs.map((k) => `${k} cert ${(info.tcb as unknown as Record<string, number>)[k]} vs report ${(reported as unknown as Record<string, number>)[k]}`).join(', ')}`,
        ),
  );

  // ---- REPORT_DATA and policy
  if (opts.expectedReportData) {
    const ok = Buffer.compare(Buffer.from(opts.expectedReportData), Buffer.from(r.reportData)) === 0;
    checks.push(
      (ok ? pass : fail)(
        'snp.report-data',
        ok
          ? 'REPORT_DATA matches'
          : `REPORT_DATA ${hex(r.reportData)} ≠ expected ${hex(opts.expectedReportData)}`,
      ),
    );
  }
  checks.push(
    ...checkSnpPolicy(
      r,
      opts.policy ?? {},
      tcbProduct,
      info.cspId !== undefined ? { cspId: info.cspId } : {},
    ),
  );

  Object.assign(fields, {
    report: describeReport(r, tcbProduct),
    reportData: hex(r.reportData),
    measurement: hex(r.measurement),
    chipId: hex(r.chipId),
    debug: decodePolicy(r.policy).debug,
    vek: {
      kind: vekKind,
      source: vekSource,
      subject: vek.subject.replace(/\n/g, ', '),
      issuer: vek.issuer.replace(/\n/g, ', '),
      productName: info.productName ?? null,
      tcb: info.tcb,
      hwId: info.hwId ? hex(info.hwId) : null,
      cspId: info.cspId ?? null,
      notBefore: info.notBefore.toISOString(),
      notAfter: info.notAfter.toISOString(),
      sha256: createHash('sha256').update(vek.raw).digest('hex'),
    },
    root: chosen
      ? {
          subject: cn(chosen.ark.subject),
          subjectFull: chosen.ark.subject.replace(/\n/g, ', '),
          simulated: chosen.simulated,
          sha256: fingerprint(chosen.ark),
          trustedBy: chosen.simulated
            ? simulatedVia === 'allow-simulated'
              ? 'allow-simulated'
              : 'trust-simulated-root'
            : 'pinned AMD root',
        }
      : null,
    network: networkField(),
  });
  if (!sigOk) fields.signatureValid = false;
  return verdict('sev-snp', checks, { fields });
}

const problemCache = new Map<string, { algorithm: string | undefined; critical: string[] }>();

/**
 * The pinned-algorithm and critical-extension verdicts of a chain certificate, cached by its fingerprint
 * (itself cached per certificate object): the chain-cached path costs one map lookup per certificate.
 */
function certProblems(c: X509Certificate): { algorithm: string | undefined; critical: string[] } {
  const key = fingerprint(c);
  let p = problemCache.get(key);
  if (p === undefined) {
    const der = new Uint8Array(c.raw);
    p = { algorithm: amdSignatureAlgorithmProblem(der, key), critical: unknownCriticalExtensions(der) };
    if (problemCache.size >= 1024) problemCache.clear();
    problemCache.set(key, p);
  }
  return p;
}

const vekCache = new Map<string, { vek: X509Certificate; info: AmdCertInfo }>();

/** Parse a VCEK/VLEK (node X509Certificate + AMD extensions), cached by the SHA-256 of its bytes. */
function parseVek(der: Uint8Array | string): { vek: X509Certificate; info: AmdCertInfo } {
  const key = createHash('sha256').update(der).digest('hex');
  const hit = vekCache.get(key);
  if (hit) return hit;
  const vek = toX509(der);
  const parsed = { vek, info: parseAmdCert(new x509.X509Certificate(vek.raw)) };
  if (vekCache.size >= 256) vekCache.delete(vekCache.keys().next().value!);
  vekCache.set(key, parsed);
  return parsed;
}

/** Clear the parsed-certificate caches (benchmarks compare cold and warm). */
export function clearVekCache(): void {
  vekCache.clear();
  problemCache.clear();
  x509Cache.clear();
}

const x509Cache = new Map<string, X509Certificate>();

/** Parse a certificate (DER or PEM), cached by the SHA-256 of its bytes; undefined when unparseable. */
function safeX509(d: Uint8Array | string): X509Certificate | undefined {
  const key = createHash('sha256').update(d).digest('hex');
  const hit = x509Cache.get(key);
  if (hit) return hit;
  try {
    const c = toX509(d);
    if (x509Cache.size >= 256) x509Cache.delete(x509Cache.keys().next().value!);
    x509Cache.set(key, c);
    return c;
  } catch {
    return undefined;
  }
}
