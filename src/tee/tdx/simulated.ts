/**
 * SIMULATED Intel TDX quotes: real quote v4/v5 format, signed by a locally generated key chain shaped like
 * Intel's (Root CA → PCK Platform CA → PCK certificate with SGX extensions; attestation key; QE report
 * signed by the PCK key). Every default name says SIMULATED. The verifier rejects these quotes because
 * the root is not the pinned Intel SGX Root CA. Tests also use the builder with Intel's names to prove that
 * a look-alike chain is rejected.
 */
import 'reflect-metadata';
import {
  createHash,
  generateKeyPairSync,
  KeyObject,
  type KeyObject as KO,
  randomBytes,
  sign,
  webcrypto,
} from 'node:crypto';
import * as x509 from '@peculiar/x509';
import {
  parseTdxQuote,
  type SgxReportBody,
  serializeSgxReportBody,
  serializeTdxQuote,
  type TdReport,
  type TdxQuote,
} from '../../formats/index.ts';
import { TeeError } from '../errors.ts';
import type { CpuEvidence, TeeProvider } from '../types.ts';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
const cryptoImpl = webcrypto as never;

export const SIMULATED_TDX_MARK = 'SIMULATED';
const SIM_ORG = 'wasmvm-tee SIMULATED TDX - NOT INTEL';

// ------------------------------------------------------------------ minimal DER encoder

function derLen(n: number): number[] {
  if (n < 0x80) return [n];
  const b: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) b.unshift(v & 0xff);
  return [0x80 | b.length, ...b];
}
function tlv(tag: number, body: Uint8Array): Uint8Array {
  return Uint8Array.from([tag, ...derLen(body.length), ...body]);
}
const seq = (...items: Uint8Array[]) => tlv(0x30, Buffer.concat(items));
const octet = (b: Uint8Array) => tlv(0x04, b);
function derInt(n: number, tag = 0x02): Uint8Array {
  const b: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) b.unshift(v & 0xff);
  if (b.length === 0 || b[0]! & 0x80) b.unshift(0);
  return tlv(tag, Uint8Array.from(b));
}
function oid(s: string): Uint8Array {
  const p = s.split('.').map(Number);
  const out: number[] = [40 * p[0]! + p[1]!];
  for (const v of p.slice(2)) {
    const enc: number[] = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) enc.unshift(0x80 | (x & 0x7f));
    out.push(...enc);
  }
  return tlv(0x06, Uint8Array.from(out));
}

const SGX = '1.2.840.113741.1.13.1';

export interface PckTcb {
  /** 16 SGX TCB component SVNs. */
  components: number[];
  pceSvn: number;
}

/** DER value of the SGX extensions (OID 1.2.840.113741.1.13.1) of a PCK certificate. */
export function encodeSgxExtension(o: {
  fmspc: Uint8Array;
  pceId?: Uint8Array;
  tcb: PckTcb;
  ppid?: Uint8Array;
}): Uint8Array {
  const tcbItems = o.tcb.components.map((c, i) => seq(oid(`${SGX}.2.${i + 1}`), derInt(c)));
  tcbItems.push(seq(oid(`${SGX}.2.17`), derInt(o.tcb.pceSvn)));
  tcbItems.push(seq(oid(`${SGX}.2.18`), octet(Uint8Array.from(o.tcb.components))));
  return seq(
    seq(oid(`${SGX}.1`), octet(o.ppid ?? new Uint8Array(16))),
    seq(oid(`${SGX}.2`), seq(...tcbItems)),
    seq(oid(`${SGX}.3`), octet(o.pceId ?? new Uint8Array(2))),
    seq(oid(`${SGX}.4`), octet(o.fmspc)),
    seq(oid(`${SGX}.5`), derInt(0, 0x0a)),
  );
}

// ------------------------------------------------------------------ key chain

export interface TdxPkiNames {
  root: string;
  pckCa: string;
  pck: string;
  tcbSigning: string;
}

/** Intel's real distinguished names (used by tests to build look-alike chains). */
export const INTEL_NAMES: TdxPkiNames = {
  root: 'CN=Intel SGX Root CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US',
  pckCa: 'CN=Intel SGX PCK Platform CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US',
  pck: 'CN=Intel SGX PCK Certificate, O=Intel Corporation, L=Santa Clara, ST=CA, C=US',
  tcbSigning: 'CN=Intel SGX TCB Signing, O=Intel Corporation, L=Santa Clara, ST=CA, C=US',
};

export const SIMULATED_NAMES: TdxPkiNames = {
  root: `CN=SIMULATED Intel SGX Root CA, O=${SIM_ORG}`,
  pckCa: `CN=SIMULATED Intel SGX PCK Platform CA, O=${SIM_ORG}`,
  pck: `CN=SIMULATED Intel SGX PCK Certificate, O=${SIM_ORG}`,
  tcbSigning: `CN=SIMULATED Intel SGX TCB Signing, O=${SIM_ORG}`,
};

export interface TdxPki {
  names: TdxPkiNames;
  rootDer: Uint8Array;
  pckCaDer: Uint8Array;
  pckDer: Uint8Array;
  tcbSigningDer: Uint8Array;
  /** PEM: PCK ‖ PCK CA ‖ root (what goes in certification data type 5). */
  pckChainPem: string;
  /** PEM: TCB Signing ‖ root. */
  tcbSigningChainPem: string;
  rootKey: KO;
  pckCaKey: KO;
  pckKey: KO;
  tcbSigningKey: KO;
  attestationKey: KO;
  /** X‖Y of the attestation public key. */
  attestationPublic: Uint8Array;
}

export interface TdxPkiOptions {
  names?: TdxPkiNames;
  fmspc?: Uint8Array;
  tcb?: PckTcb;
  notBefore?: Date;
  notAfter?: Date;
}

function toPem(der: Uint8Array): string {
  const b = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').trim();
  return `-----BEGIN CERTIFICATE-----\n${b}\n-----END CERTIFICATE-----\n`;
}

async function ecKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
}

/** Generate a root, PCK CA, PCK leaf (with SGX extensions), TCB Signing cert and attestation key. */
export async function createTdxPki(o: TdxPkiOptions = {}): Promise<TdxPki> {
  const names = o.names ?? SIMULATED_NAMES;
  const notBefore = o.notBefore ?? new Date(Date.now() - 24 * 3600 * 1000);
  const notAfter = o.notAfter ?? new Date(notBefore.getTime() + 10 * 365 * 24 * 3600 * 1000);
  const alg = { name: 'ECDSA', hash: 'SHA-256' } as const;
  const [root, ca, pck, tcbs] = await Promise.all([ecKeys(), ecKeys(), ecKeys(), ecKeys()]);
  const caExt = (pathLen?: number) => [
    new x509.BasicConstraintsExtension(true, pathLen, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
  const serial = () =>
    randomBytes(16)
      .toString('hex')
      .replace(/^[89a-f]/, '1');
  const rootCert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: names.root,
      notBefore,
      notAfter,
      keys: root,
      signingAlgorithm: alg,
      extensions: caExt(1),
    },
    cryptoImpl,
  );
  const caCert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: names.pckCa,
      issuer: rootCert.subject,
      notBefore,
      notAfter,
      publicKey: ca.publicKey,
      signingKey: root.privateKey,
      signingAlgorithm: alg,
      extensions: caExt(0),
    },
    cryptoImpl,
  );
  const sgx = encodeSgxExtension({
    fmspc: o.fmspc ?? Uint8Array.from([0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00]),
    tcb: o.tcb ?? { components: [4, 4, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0], pceSvn: 13 },
  });
  const pckCert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: names.pck,
      issuer: caCert.subject,
      notBefore,
      notAfter,
      publicKey: pck.publicKey,
      signingKey: ca.privateKey,
      signingAlgorithm: alg,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation,
          true,
        ),
        new x509.Extension(SGX, false, sgx),
      ],
    },
    cryptoImpl,
  );
  const tcbCert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: names.tcbSigning,
      issuer: rootCert.subject,
      notBefore,
      notAfter,
      publicKey: tcbs.publicKey,
      signingKey: root.privateKey,
      signingAlgorithm: alg,
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
    },
    cryptoImpl,
  );
  const att = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = att.publicKey.export({ format: 'jwk' });
  const attestationPublic = Buffer.concat([
    Buffer.from(jwk.x!, 'base64url'),
    Buffer.from(jwk.y!, 'base64url'),
  ]);
  const der = (c: x509.X509Certificate) => new Uint8Array(c.rawData);
  return {
    names,
    rootDer: der(rootCert),
    pckCaDer: der(caCert),
    pckDer: der(pckCert),
    tcbSigningDer: der(tcbCert),
    pckChainPem: toPem(der(pckCert)) + toPem(der(caCert)) + toPem(der(rootCert)),
    tcbSigningChainPem: toPem(der(tcbCert)) + toPem(der(rootCert)),
    rootKey: KeyObject.from(root.privateKey),
    pckCaKey: KeyObject.from(ca.privateKey),
    pckKey: KeyObject.from(pck.privateKey),
    tcbSigningKey: KeyObject.from(tcbs.privateKey),
    attestationKey: att.privateKey,
    attestationPublic: new Uint8Array(attestationPublic),
  };
}

const p1363 = (data: Uint8Array, key: KO) =>
  new Uint8Array(sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }));

/** Hex r‖s signature over the exact bytes of a raw JSON value (TCB Info / QE identity). */
export function signCollateralJson(pki: TdxPki, raw: string): string {
  return Buffer.from(p1363(Buffer.from(raw, 'utf8'), pki.tcbSigningKey)).toString('hex');
}

/**
 * Re-sign a parsed quote with `pki`: attestation key, QE REPORT_DATA binding, QE report signature by the
 * PCK key, PCK chain PEM, quote signature. Returns the serialized quote.
 */
export function signTdxQuote(q: TdxQuote, pki: TdxPki, chainPem = pki.pckChainPem): Uint8Array {
  if (!q.qeCert) throw new TeeError('TEE_BAD_EVIDENCE', 'quote has no QE report certification data');
  q.attestationKey = pki.attestationPublic;
  const qe = q.qeCert;
  const bind = createHash('sha256').update(pki.attestationPublic).update(qe.qeAuthData).digest();
  qe.qeReport.reportData = new Uint8Array(Buffer.concat([bind, Buffer.alloc(32)]));
  qe.qeReportRaw = serializeSgxReportBody(qe.qeReport);
  qe.qeReportSignature = p1363(qe.qeReportRaw, pki.pckKey);
  qe.inner = { type: 5, data: new Uint8Array(Buffer.from(chainPem, 'latin1')) };
  const unsigned = serializeTdxQuote(q);
  const signed = parseTdxQuote(unsigned).signedRegion;
  q.signature = p1363(signed, pki.attestationKey);
  return serializeTdxQuote(q);
}

const z = (n: number) => new Uint8Array(n);

/** A fresh simulated quote (v4 TDX 1.0 or v5 TDX 1.5) with the given REPORT_DATA. */
export function buildSimulatedTdxQuote(
  pki: TdxPki,
  reportData: Uint8Array,
  o: { version?: 4 | 5; body?: Partial<TdReport> } = {},
): Uint8Array {
  if (reportData.length !== 64) throw new TeeError('TEE_BAD_REPORT_DATA', 'REPORT_DATA must be 64 bytes');
  const version = o.version ?? 4;
  const body: TdReport = {
    teeTcbSvn: Uint8Array.from([3, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    mrSeam: z(48),
    mrSignerSeam: z(48),
    seamAttributes: z(8),
    tdAttributes: Uint8Array.from([0, 0, 0, 0x10, 0, 0, 0, 0]),
    xfam: Uint8Array.from([0xe7, 0x02, 0x06, 0, 0, 0, 0, 0]),
    mrTd: new Uint8Array(createHash('sha384').update('wasmvm-tee SIMULATED TD').digest()),
    mrConfigId: z(48),
    mrOwner: z(48),
    mrOwnerConfig: z(48),
    rtmr: [z(48), z(48), z(48), z(48)],
    reportData,
    ...o.body,
  };
  if (version === 5) {
    body.teeTcbSvn2 ??= body.teeTcbSvn;
    body.mrServiceTd ??= z(48);
  }
  const qeReport: SgxReportBody = {
    cpuSvn: z(16),
    miscSelect: 0,
    reserved1: z(28),
    attributes: Uint8Array.from([0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    mrEnclave: new Uint8Array(createHash('sha256').update('SIMULATED TD_QE').digest()),
    reserved2: z(32),
    mrSigner: new Uint8Array(createHash('sha256').update('SIMULATED TD_QE signer').digest()),
    reserved3: z(96),
    isvProdId: 2,
    isvSvn: 4,
    reserved4: z(60),
    reportData: z(64),
  };
  const q: TdxQuote = {
    header: {
      version,
      attestationKeyType: 2,
      teeType: 0x81,
      qeSvn: 0,
      pceSvn: 0,
      qeVendorId: Uint8Array.from(Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex')),
      userData: z(20),
    },
    body,
    signature: z(64),
    attestationKey: z(64),
    certificationType: 6,
    qeCert: {
      qeReport,
      qeReportRaw: serializeSgxReportBody(qeReport),
      qeReportSignature: z(64),
      qeAuthData: new Uint8Array(randomBytes(32)),
      inner: { type: 5, data: z(0) },
    },
    trailing: z(0),
    signedRegion: z(0),
  };
  if (version === 5) q.bodyType = 3;
  return signTdxQuote(q, pki);
}

/**
 * SIMULATED TDX provider: quotes in the real format from a per-process simulated key chain.
 * Loudly marked; the verifier rejects its evidence (root not pinned).
 */
export class SimulatedTdxProvider implements TeeProvider {
  readonly kind = 'tdx' as const;
  readonly simulated = true;
  readonly description = 'SIMULATED Intel TDX (local key chain, NOT Intel hardware)';
  private pki: Promise<TdxPki> | undefined;
  constructor(private readonly o: { version?: 4 | 5; warn?: boolean; pki?: TdxPki } = {}) {
    if (o.pki) this.pki = Promise.resolve(o.pki);
    if (o.warn ?? true)
      process.emitWarning('SIMULATED Intel TDX provider: evidence proves nothing about hardware', {
        code: 'WASMVM_TEE_SIMULATED_TDX',
      });
  }
  async getEvidence(reportData: Uint8Array): Promise<CpuEvidence> {
    if (!(reportData instanceof Uint8Array) || reportData.length !== 64)
      throw new TeeError('TEE_BAD_REPORT_DATA', 'REPORT_DATA must be exactly 64 bytes');
    this.pki ??= createTdxPki();
    const pki = await this.pki;
    const opts: { version?: 4 | 5 } = {};
    if (this.o.version) opts.version = this.o.version;
    return {
      kind: 'tdx',
      simulated: true,
      report: buildSimulatedTdxQuote(pki, reportData, opts),
      provider: 'simulated',
    };
  }
}

function utcTime(d: Date): Uint8Array {
  const p = (n: number) => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, new Uint8Array(Buffer.from(s, 'latin1')));
}

/** Subject Name (DER) of a certificate. */
function subjectOf(certDer: Uint8Array): Uint8Array {
  return new Uint8Array(new x509.X509Certificate(certDer).subjectName.toArrayBuffer());
}

/**
 * An X.509 CRL (v2, ECDSA-SHA256) issued by `issuerCertDer` with `issuerKey`, listing `revokedSerialsHex`.
 * For tests of revocation with a simulated chain.
 */
export function buildCrl(
  issuerCertDer: Uint8Array,
  issuerKey: KO,
  revokedSerialsHex: string[],
  thisUpdate: Date,
  nextUpdate: Date,
): Uint8Array {
  const alg = seq(oid('1.2.840.10045.4.3.2'));
  const entries = revokedSerialsHex.map((h) => {
    const b = Buffer.from(h.length % 2 ? `0${h}` : h, 'hex');
    const v = b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
    return seq(tlv(0x02, v), utcTime(thisUpdate));
  });
  const parts = [derInt(1), alg, subjectOf(issuerCertDer), utcTime(thisUpdate), utcTime(nextUpdate)];
  if (entries.length > 0) parts.push(seq(...entries));
  const tbs = seq(...parts);
  const sig = new Uint8Array(sign('sha256', tbs, issuerKey));
  return seq(tbs, alg, tlv(0x03, Uint8Array.from([0, ...sig])));
}
