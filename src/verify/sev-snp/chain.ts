/**
 * AMD key chains: ARK (pinned) → ASK / ASVK (pinned intermediates) → VCEK / VLEK, RSA-PSS SHA-384.
 * Certificates are src/verify/x509.ts Certificates (Node and browsers); signature checks go through
 * verifyCertSignature (./sigalg.ts: the envelope as OpenSSL checks it, then the signature), results cached
 * per certificate pair, so the chain-cached path costs two map lookups.
 */

import type { SnpProduct } from '../../formats/index.ts';
import { digestHex } from '../../util/digest.ts';
import { VerifyError } from '../errors.ts';
import { Certificate } from '../x509.ts';
import { PINNED_AMD_ROOTS } from './roots.ts';
import { verifyCertSignature } from './sigalg.ts';

export interface PinnedChain {
  product: SnpProduct | 'SIMULATED';
  ark: Certificate;
  /** VCEK intermediate (ASK) and VLEK intermediate (ASVK). */
  ask?: Certificate;
  asvk?: Certificate;
  simulated: boolean;
}

let pinned: PinnedChain[] | undefined;
let pinnedChecked: Promise<PinnedChain[]> | undefined;

/** The pinned AMD chains, parsed once (their signatures are checked by `verifiedPinnedChains`). */
export function pinnedChains(): PinnedChain[] {
  pinned ??= PINNED_AMD_ROOTS.map((r) => ({
    product: r.product,
    ark: Certificate.parse(r.ark, `pinned ARK-${r.product}`),
    ask: Certificate.parse(r.ask, `pinned ASK-${r.product}`),
    asvk: Certificate.parse(r.asvk, `pinned ASVK-${r.product}`),
    simulated: false,
  }));
  return pinned;
}

/**
 * The pinned AMD chains with the self-signature of each ARK and ARK → ASK/ASVK verified (once per process;
 * a pinned chain that does not verify is an internal error, not a verdict).
 */
export function verifiedPinnedChains(): Promise<PinnedChain[]> {
  pinnedChecked ??= (async () => {
    const chains = pinnedChains();
    for (const c of chains) {
      const ok =
        (await signedBy(c.ark, c.ark)) && (await signedBy(c.ask!, c.ark)) && (await signedBy(c.asvk!, c.ark));
      if (!ok)
        throw new VerifyError('VERIFY_INTERNAL', `internal: pinned AMD ${c.product} chain does not verify`);
    }
    return chains;
  })();
  return pinnedChecked;
}

/** Lowercase hex SHA-256 of a certificate's DER bytes (cached on the Certificate). */
export function fingerprint(der: Uint8Array | Certificate): string {
  return der instanceof Certificate ? der.fingerprint256 : digestHex('sha256', der);
}

const verifyCache = new Map<string, boolean>();

/**
 * issuer's public key verifies cert's signature, and the certificate's signature is well-formed as OpenSSL's X509_verify
 * requires (one signature algorithm, no unused bits: certSignatureWellFormed); cached by both fingerprints.
 */
export async function signedBy(cert: Certificate, issuer: Certificate): Promise<boolean> {
  const k = `${fingerprint(cert)}:${fingerprint(issuer)}`;
  let v = verifyCache.get(k);
  if (v === undefined) {
    v = await verifyCertSignature(cert, issuer);
    if (verifyCache.size > 4096) verifyCache.clear();
    verifyCache.set(k, v);
  }
  return v;
}

/** Clear the verification cache (benchmarks compare cold and warm). */
export function clearChainCache(): void {
  verifyCache.clear();
}

/** The CN of a distinguished name as text (", "- or newline-separated), or the whole name without one. */
export function cn(name: string): string {
  const m = /(?:^|\n|, )CN=([^\n,]+)/.exec(name);
  return m ? m[1]!.trim() : name;
}

export function isValidAt(c: Certificate, now: Date): boolean {
  return c.validAt(now);
}

/** A certificate's validity period as text (ISO 8601), for check details. */
export function validityText(c: Certificate): string {
  return `${c.notBefore.toISOString()} – ${c.notAfter.toISOString()}`;
}
