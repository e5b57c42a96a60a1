/**
 * GPU attestation certificate chains: leaf (GSP FMC LF) → BROM → Provisioner ICA → GHxxx/GBxxx
 * Identity → NVIDIA Device Identity CA (pinned). The chain that comes with the evidence may or may
 * not repeat the root; if it does, it must equal the pinned root byte for byte.
 */
import { createHash, verify as cryptoVerify, X509Certificate } from 'node:crypto';
import {
  DerError,
  type DerTree,
  decodeOid,
  readTree,
  unknownCriticalExtensions,
  walkTree,
} from '../../formats/index.ts';
import { NVIDIA_DEVICE_IDENTITY_ROOT_PEM } from './roots.ts';

export const OID_TCG_DICE_TCBINFO = '2.23.133.5.4.1';
export const OID_TCG_DICE_MULTI_TCBINFO = '2.23.133.5.4.5';
const OID_SHA384 = '2.16.840.1.101.3.4.2.2';

export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

export function parseCertChain(pemText: string): X509Certificate[] {
  return splitPem(pemText).map((p) => new X509Certificate(p));
}

let pinnedRoot: X509Certificate | undefined;
export function pinnedDeviceRoot(): X509Certificate {
  pinnedRoot ??= new X509Certificate(NVIDIA_DEVICE_IDENTITY_ROOT_PEM);
  return pinnedRoot;
}

export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export interface ChainResult {
  /** The chain as verified, leaf first, ending with the pinned root. */
  chain: X509Certificate[];
  rootPinned: { ok: boolean; detail: string };
  signatures: { ok: boolean; detail: string };
  validity: { ok: boolean; detail: string };
  caFlags: { ok: boolean; detail: string };
  /** No certificate has a critical extension this verifier does not process (as `openssl verify`). */
  criticalExtensions: { ok: boolean; detail: string };
}

/** Verify a leaf-first chain up to the pinned NVIDIA Device Identity CA at time `now`. */
export function verifyChainToPinnedRoot(
  certs: X509Certificate[],
  now: Date,
  root = pinnedDeviceRoot(),
): ChainResult {
  const chain = [...certs];
  let rootPinned: ChainResult['rootPinned'];
  const last = chain[chain.length - 1];
  if (!last) {
    rootPinned = { ok: false, detail: 'empty certificate chain' };
  } else if (last.raw.equals(root.raw)) {
    rootPinned = {
      ok: true,
      detail: `chain ends at the ${root === pinnedDeviceRoot() ? 'pinned' : 'explicitly trusted'} ${root.subject.replace(/\n/g, ', ')} (sha256 ${sha256Hex(root.raw)})`,
    };
  } else if (last.issuer === last.subject) {
    rootPinned = {
      ok: false,
      detail: `chain ends at a self-signed '${last.subject.replace(/\n/g, ', ')}' (sha256 ${sha256Hex(last.raw)}) that is not the pinned NVIDIA Device Identity CA`,
    };
  } else if (last.checkIssued(root) && last.verify(root.publicKey)) {
    chain.push(root);
    rootPinned = {
      ok: true,
      detail: 'chain (without a root) is completed by the pinned NVIDIA Device Identity CA',
    };
  } else {
    rootPinned = {
      ok: false,
      detail: `last certificate '${last.subject.replace(/\n/g, ', ')}' is not issued by the pinned root`,
    };
  }
  const bad: string[] = [];
  for (let i = 0; i + 1 < chain.length; i++) {
    const c = chain[i]!;
    const issuer = chain[i + 1]!;
    const name = c.subject.split('\n').find((l) => l.startsWith('CN=')) ?? c.subject;
    if (!c.checkIssued(issuer)) bad.push(`#${i} ${name}: issuer name does not match the next certificate`);
    else if (!c.verify(issuer.publicKey))
      bad.push(`#${i} ${name}: signature does not verify with the next certificate's key`);
  }
  if (chain.length > 0 && rootPinned.ok && !root.verify(root.publicKey))
    bad.push('pinned root self-signature invalid');
  const signatures =
    chain.length < 2
      ? { ok: false, detail: 'chain has fewer than 2 certificates' }
      : bad.length === 0
        ? { ok: true, detail: `${chain.length - 1} certificate signatures verify up to the root` }
        : { ok: false, detail: bad.join('; ') };
  const expired: string[] = [];
  for (const [i, c] of chain.entries()) {
    const from = new Date(c.validFrom);
    const to = new Date(c.validTo);
    if (now < from || now > to) expired.push(`#${i} valid ${c.validFrom} .. ${c.validTo}`);
  }
  const validity =
    expired.length === 0
      ? { ok: true, detail: `every certificate is valid at ${now.toISOString()}` }
      : { ok: false, detail: `not valid at ${now.toISOString()}: ${expired.join('; ')}` };
  const notCa = chain.slice(1).flatMap((c, i) => (c.ca ? [] : [`#${i + 1}`]));
  const caFlags =
    notCa.length === 0
      ? { ok: true, detail: 'every issuing certificate has basicConstraints CA:TRUE' }
      : { ok: false, detail: `issuing certificate(s) without CA:TRUE: ${notCa.join(', ')}` };
  const critical = chain.flatMap((c, i) => {
    const u = unknownCriticalExtensions(new Uint8Array(c.raw), [
      OID_TCG_DICE_TCBINFO,
      OID_TCG_DICE_MULTI_TCBINFO,
    ]);
    return u.length > 0 ? [`#${i} ${commonName(c)}: ${u.join(', ')}`] : [];
  });
  const criticalExtensions =
    critical.length === 0
      ? { ok: true, detail: 'no certificate has an unknown critical extension' }
      : { ok: false, detail: `unknown critical extension(s): ${critical.join('; ')}` };
  return { chain, rootPinned, signatures, validity, caFlags, criticalExtensions };
}

/** Extensions of a certificate: [oid, value-bytes]. */
export function certExtensions(der: Uint8Array): { oid: string; critical: boolean; value: Uint8Array }[] {
  const cert = readTree(der);
  const tbs = cert.children?.[0];
  const ctx3 = tbs?.children?.find((n) => n.tag === 0xa3);
  const list = ctx3?.children?.[0]?.children ?? [];
  return list.map((ext) => {
    const kids = ext.children ?? [];
    const oid = decodeOid(kids[0]?.value ?? new Uint8Array());
    const critical = kids.length === 3 && kids[1]?.tag === 0x01 && kids[1].value[0] !== 0;
    const value = kids[kids.length - 1]?.value ?? new Uint8Array();
    return { oid, critical, value };
  });
}

/**
 * FWIDs (SHA-384 digests) from the leaf's TCG DICE TcbInfo extension (2.23.133.5.4.1 and its
 * sub-arcs, or MultiTcbInfo 2.23.133.5.4.5). Hopper leaves carry a NVIDIA-specific SEQUENCE
 * { INTEGER, SubjectPublicKeyInfo, SEQUENCE { sha384, OCTET STRING } }, Blackwell leaves a standard
 * TcbInfo with `fwids [6]`; both hold (hashAlg OID, digest) pairs, which is what is collected.
 */
export function leafFwids(der: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const ext of certExtensions(der)) {
    if (
      !(
        ext.oid === OID_TCG_DICE_TCBINFO ||
        ext.oid.startsWith(`${OID_TCG_DICE_TCBINFO}.`) ||
        ext.oid === OID_TCG_DICE_MULTI_TCBINFO
      )
    )
      continue;
    let root: DerTree;
    try {
      root = readTree(ext.value);
    } catch (e) {
      if (e instanceof DerError) continue;
      throw e;
    }
    for (const n of walkTree(root)) {
      const kids = n.children ?? [];
      for (let i = 0; i + 1 < kids.length; i++) {
        if (
          kids[i]!.tag === 0x06 &&
          decodeOid(kids[i]!.value) === OID_SHA384 &&
          kids[i + 1]!.tag === 0x04 &&
          kids[i + 1]!.value.length === 48
        )
          out.push(kids[i + 1]!.value.slice());
      }
    }
  }
  return out;
}

/** ECDSA P-384 / SHA-384 over `data`, signature as raw r ‖ s (96 bytes). */
export function verifyP384RawSignature(
  cert: X509Certificate,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== 96) return false;
  try {
    return cryptoVerify('sha384', data, { key: cert.publicKey, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/** 'CN=...' of a certificate's subject. */
export function commonName(c: X509Certificate): string {
  return (c.subject.split('\n').find((l) => l.startsWith('CN=')) ?? '').slice(3);
}
