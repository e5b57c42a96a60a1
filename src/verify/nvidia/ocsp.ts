/**
 * OCSP (RFC 6960) for the GPU certificate chain, when online. Every certificate except the DICE leaf
 * (generated on the GPU, not revocable) and the root is checked against its issuer at the
 * certificate's AIA OCSP URL or NVIDIA's responder (https://ocsp.ndis.nvidia.com). The response must
 * be `successful`, signed by the issuer or by a responder certificate the issuer signed (with the
 * OCSPSigning EKU), name the same CertID, be current (thisUpdate ≤ now ≤ nextUpdate) and say `good`.
 * Offline (no checker given) the verdict records revocation as 'skip'.
 */

import { type DerTree, decodeOid, readTree } from '../../formats/index.ts';
import { digest } from '../../util/digest.ts';
import { type HashName, verifySignature } from '../../util/signature.ts';
import { bytesEqual, concatBytes } from '../../util/text-codec.ts';
import { Certificate } from '../x509.ts';
import { certExtensions, cnOrSubject, extendedKeyUsage, issuedBy, schemeForKey } from './certs.ts';
import { NvidiaVerifyError } from './errors.ts';

export const NVIDIA_OCSP_URL = 'https://ocsp.ndis.nvidia.com/';
const OID_SHA1 = '1.3.14.3.2.26';
const OID_BASIC_OCSP = '1.3.6.1.5.5.7.48.1.1';
const OID_AIA = '1.3.6.1.5.5.7.1.1';
const OID_AD_OCSP = '1.3.6.1.5.5.7.48.1';
const OID_KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';

const SIG_HASH: Record<string, HashName> = {
  '1.2.840.10045.4.3.2': 'SHA-256',
  '1.2.840.10045.4.3.3': 'SHA-384',
  '1.2.840.10045.4.3.4': 'SHA-512',
  '1.2.840.113549.1.1.11': 'SHA-256',
  '1.2.840.113549.1.1.12': 'SHA-384',
  '1.2.840.113549.1.1.13': 'SHA-512',
};

/** Bytes as ISO-8859-1 text (one character per byte). */
function latin1(b: Uint8Array): string {
  return String.fromCharCode(...b);
}

// ---- minimal DER writer
function len(n: number): number[] {
  if (n < 0x80) return [n];
  const b: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) b.unshift(x & 0xff);
  return [0x80 | b.length, ...b];
}
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = concatBytes(...parts);
  return concatBytes(new Uint8Array([tag, ...len(body.length)]), body);
}
export function oidDer(oid: string): Uint8Array {
  const p = oid.split('.').map(Number);
  const out = [40 * p[0]! + p[1]!];
  for (const n of p.slice(2)) {
    const b = [n & 0x7f];
    for (let x = Math.floor(n / 128); x > 0; x = Math.floor(x / 128)) b.unshift((x & 0x7f) | 0x80);
    out.push(...b);
  }
  return tlv(0x06, new Uint8Array(out));
}

function tbsParts(cert: Certificate) {
  const root = readTree(cert.raw);
  const tbs = root.children![0]!;
  const k = tbs.children!;
  const i = k[0]!.tag === 0xa0 ? 1 : 0; // [0] version
  // serial, sigAlg, issuer, validity, subject, spki
  return { serial: k[i]!, subject: k[i + 4]!, spki: k[i + 5]! };
}

/** `n` re-encoded with a minimal-length header (what is hashed, signed and compared). */
function rawDer(n: DerTree): Uint8Array {
  return tlv(n.tag, n.value);
}

/** CertID (SHA-1, as every OCSP responder supports) of `cert` issued by `issuer`. */
export function certId(cert: Certificate, issuer: Certificate): Uint8Array {
  const c = tbsParts(cert);
  const is = tbsParts(issuer);
  const nameHash = digest('sha1', rawDer(is.subject));
  const spkiBits = is.spki.children![1]!.value.subarray(1); // BIT STRING without the unused-bits byte
  const keyHash = digest('sha1', spkiBits);
  return tlv(
    0x30,
    tlv(0x30, oidDer(OID_SHA1), new Uint8Array([0x05, 0x00])),
    tlv(0x04, nameHash),
    tlv(0x04, keyHash),
    rawDer(c.serial),
  );
}

export function buildOcspRequest(cert: Certificate, issuer: Certificate): Uint8Array {
  return tlv(0x30, tlv(0x30, tlv(0x30, tlv(0x30, certId(cert, issuer)))));
}

export function ocspUrlOf(cert: Certificate): string | undefined {
  const aia = certExtensions(cert.raw).find((e) => e.oid === OID_AIA);
  if (!aia) return undefined;
  for (const ad of readTree(aia.value).children ?? []) {
    const [m, loc] = ad.children ?? [];
    if (m && loc && decodeOid(m.value) === OID_AD_OCSP && loc.tag === 0x86) return latin1(loc.value);
  }
  return undefined;
}

function genTime(n: DerTree): Date {
  const s = latin1(n.value); // YYYYMMDDHHMMSS[.fff]Z
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(s);
  if (!m) throw new NvidiaVerifyError('NVIDIA_OCSP_MALFORMED', `bad GeneralizedTime '${s}'`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

export interface OcspResult {
  status: 'good' | 'revoked' | 'unknown' | 'error';
  detail: string;
  /** Why an 'error': not signed by an authorised key, not covering the CertID, outside its times, unparsable, not `successful`. */
  reason?: 'signature' | 'cover' | 'stale' | 'malformed' | 'unsuccessful';
}

/** One (certificate, issuer) pair that has an OCSP check; `index` is the certificate's place in the chain. */
export interface OcspTarget {
  index: number;
  cert: Certificate;
  issuer: Certificate;
}

/** Which pairs of a leaf-first chain (ending with its root) have an OCSP check. */
export type OcspTargetSelector = (chain: readonly Certificate[]) => OcspTarget[];

/** The (certificate, issuer) pairs of a device chain that have an OCSP check: all but the DICE leaf and the root. */
export function ocspTargets(chain: readonly Certificate[]): OcspTarget[] {
  const out: OcspTarget[] = [];
  for (let i = 1; i + 1 < chain.length; i++) out.push({ index: i, cert: chain[i]!, issuer: chain[i + 1]! });
  return out;
}

/**
 * The (certificate, issuer) pairs of a RIM signing chain that have an OCSP check: every certificate but
 * the root, the RIM signing leaf INCLUDED (NVIDIA's verifier checks it: unlike the device chain's DICE
 * leaf it is a CA-issued, revocable certificate).
 */
export function rimOcspTargets(chain: readonly Certificate[]): OcspTarget[] {
  const out: OcspTarget[] = [];
  for (let i = 0; i + 1 < chain.length; i++) out.push({ index: i, cert: chain[i]!, issuer: chain[i + 1]! });
  return out;
}

/** One SingleResponse, read without checking any signature (see checkOcspResponse for that). */
export interface OcspSingle {
  certId: Uint8Array;
  status: 'good' | 'revoked' | 'unknown';
  thisUpdate: Date;
  nextUpdate?: Date;
}

/**
 * The SingleResponses of a `successful` BasicOCSPResponse, unverified (to read an item's validity).
 * Throws NVIDIA_OCSP_MALFORMED.
 */
export function ocspSingleResponses(resp: Uint8Array): OcspSingle[] {
  const bad = (m: string): never => {
    throw new NvidiaVerifyError('NVIDIA_OCSP_MALFORMED', m);
  };
  try {
    const top = readTree(resp);
    const status = top.children?.[0];
    if (status?.tag !== 0x0a) bad('not an OCSPResponse');
    if (status!.value[0] !== 0) bad(`responseStatus ${status!.value[0]} (not successful)`);
    const rb = top.children?.[1]?.children?.[0];
    if (!rb || decodeOid(rb.children![0]!.value) !== OID_BASIC_OCSP) bad('not a BasicOCSPResponse');
    const tbs = readTree(rb!.children![1]!.value).children![0]!;
    const k = tbs.children!;
    const i = k[0]!.tag === 0xa0 ? 1 : 0;
    return (k[i + 2]!.children ?? []).map((r) => {
      const [id, st, thisUpd, ...rest] = r.children!;
      const next = rest.find((n) => n.tag === 0xa0);
      const s: OcspSingle = {
        certId: rawDer(id!),
        status: st!.tag === 0x80 ? 'good' : st!.tag === 0xa1 ? 'revoked' : 'unknown',
        thisUpdate: genTime(thisUpd!),
      };
      if (next) s.nextUpdate = genTime(next.children![0]!);
      return s;
    });
  } catch (e) {
    if (e instanceof NvidiaVerifyError) throw e;
    return bad(`malformed OCSP response: ${(e as Error).message}`);
  }
}

/** Parse and check one OCSP response for (cert, issuer) at `now`. */
export async function checkOcspResponse(
  resp: Uint8Array,
  cert: Certificate,
  issuer: Certificate,
  now: Date,
): Promise<OcspResult> {
  try {
    const top = readTree(resp);
    const status = top.children?.[0];
    if (status?.tag !== 0x0a) return { status: 'error', detail: 'not an OCSPResponse', reason: 'malformed' };
    if (status.value[0] !== 0)
      return {
        status: 'error',
        detail: `responseStatus ${status.value[0]} (not successful)`,
        reason: 'unsuccessful',
      };
    const rb = top.children?.[1]?.children?.[0];
    if (!rb || decodeOid(rb.children![0]!.value) !== OID_BASIC_OCSP)
      return { status: 'error', detail: 'not a BasicOCSPResponse', reason: 'malformed' };
    const basicDer = rb.children![1]!.value;
    const basic = readTree(basicDer);
    const [tbs, sigAlg, sig, certsCtx] = basic.children!;
    const tbsDer = rawDer(tbs!);
    const hash = SIG_HASH[decodeOid(sigAlg!.children![0]!.value)];
    if (!hash)
      return { status: 'error', detail: 'unsupported OCSP signature algorithm', reason: 'signature' };
    const signature = sig!.value.subarray(1);
    // signer: the issuer itself, or a delegated responder issued by it with the OCSPSigning EKU
    const candidates = [issuer];
    for (const c of certsCtx?.children?.[0]?.children ?? [])
      candidates.push(Certificate.parse(rawDer(c), 'OCSP responder certificate'));
    let signer: Certificate | undefined;
    for (const c of candidates) {
      const isIssuer = bytesEqual(c.raw, issuer.raw);
      if (!isIssuer) {
        if (!(await issuedBy(c, issuer))) continue;
        if (!(extendedKeyUsage(c) ?? []).includes(OID_KP_OCSP_SIGNING)) continue;
        if (!c.validAt(now)) continue;
      }
      const scheme = schemeForKey(c.spki, hash);
      if (scheme && (await verifySignature(scheme, { spki: c.spki }, tbsDer, signature))) {
        signer = c;
        break;
      }
    }
    if (!signer)
      return {
        status: 'error',
        detail: 'OCSP response not signed by the issuer or an authorised responder',
        reason: 'signature',
      };
    const want = certId(cert, issuer);
    const k = tbs!.children!;
    const i = k[0]!.tag === 0xa0 ? 1 : 0;
    const responses = k[i + 2]!.children ?? [];
    for (const r of responses) {
      const [id, st, thisUpd, ...rest] = r.children!;
      if (!bytesEqual(rawDer(id!), want)) continue;
      const thisUpdate = genTime(thisUpd!);
      const next = rest.find((n) => n.tag === 0xa0);
      const nextUpdate = next ? genTime(next.children![0]!) : undefined;
      if (thisUpdate.getTime() > now.getTime() + 300_000)
        return {
          status: 'error',
          detail: `thisUpdate ${thisUpdate.toISOString()} is in the future`,
          reason: 'stale',
        };
      if (nextUpdate && nextUpdate < now)
        return {
          status: 'error',
          detail: `stale response (nextUpdate ${nextUpdate.toISOString()})`,
          reason: 'stale',
        };
      if (st!.tag === 0x80)
        return { status: 'good', detail: `good (thisUpdate ${thisUpdate.toISOString()})` };
      if (st!.tag === 0xa1)
        return { status: 'revoked', detail: `revoked at ${genTime(st!.children![0]!).toISOString()}` };
      return { status: 'unknown', detail: 'responder does not know the certificate' };
    }
    return { status: 'error', detail: 'the response does not cover this certificate', reason: 'cover' };
  } catch (e) {
    return {
      status: 'error',
      detail: `malformed OCSP response: ${(e as Error).message}`,
      reason: 'malformed',
    };
  }
}

export interface OcspCheckerOptions {
  fetch?: typeof fetch;
  /** Responder for certificates without an AIA OCSP URL (default NVIDIA's). */
  defaultUrl?: string;
  now?: Date;
  timeoutMs?: number;
  /** Which pairs are checked (default ocspTargets, a device chain's; rimOcspTargets for a RIM signing chain). */
  targets?: OcspTargetSelector;
}

/** The `ocsp` hook of `verifyGpuEvidence` (and, with `targets: rimOcspTargets`, of `verifyRim`): online revocation checks of the chain. */
export function createOcspChecker(opts: OcspCheckerOptions = {}) {
  return async (chain: Certificate[]): Promise<{ ok: boolean; detail: string }> => {
    const now = opts.now ?? new Date();
    const results: string[] = [];
    let ok = true;
    for (const { cert, issuer } of (opts.targets ?? ocspTargets)(chain)) {
      const url = ocspUrlOf(cert) ?? opts.defaultUrl ?? NVIDIA_OCSP_URL;
      const cn = cnOrSubject(cert).slice(3);
      let r: OcspResult;
      try {
        const res = await (opts.fetch ?? fetch)(url, {
          method: 'POST',
          headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
          body: buildOcspRequest(cert, issuer) as Uint8Array<ArrayBuffer>,
          signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
        });
        if (!res.ok) r = { status: 'error', detail: `HTTP ${res.status} from ${url}` };
        else r = await checkOcspResponse(new Uint8Array(await res.arrayBuffer()), cert, issuer, now);
      } catch (e) {
        r = { status: 'error', detail: `${url}: ${(e as Error).message}` };
      }
      if (r.status !== 'good') ok = false;
      results.push(`${cn}: ${r.status === 'good' ? '' : `${r.status}: `}${r.detail}`);
    }
    return { ok, detail: `OCSP: ${results.join('; ')}` };
  };
}
