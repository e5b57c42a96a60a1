/**
 * AMD key chains: ARK (pinned) → ASK / ASVK (pinned intermediates) → VCEK / VLEK, RSA-PSS SHA-384.
 * Signature checks use node:crypto's X509Certificate.verify (OpenSSL), results cached per certificate pair.
 */

import { createHash, X509Certificate } from 'node:crypto';
import type { SnpProduct } from '../../formats/index.ts';
import { VerifyError } from '../errors.ts';
import { PINNED_AMD_ROOTS } from './roots.ts';

export interface PinnedChain {
  product: SnpProduct | 'SIMULATED';
  ark: X509Certificate;
  /** VCEK intermediate (ASK) and VLEK intermediate (ASVK). */
  ask?: X509Certificate;
  asvk?: X509Certificate;
  simulated: boolean;
}

let pinned: PinnedChain[] | undefined;

/** The pinned AMD chains, parsed once. The self-signature of each ARK and ARK → ASK/ASVK are verified once. */
export function pinnedChains(): PinnedChain[] {
  if (!pinned) {
    pinned = PINNED_AMD_ROOTS.map((r) => {
      const ark = new X509Certificate(r.ark);
      const ask = new X509Certificate(r.ask);
      const asvk = new X509Certificate(r.asvk);
      if (!ark.verify(ark.publicKey) || !ask.verify(ark.publicKey) || !asvk.verify(ark.publicKey))
        throw new VerifyError('VERIFY_INTERNAL', `internal: pinned AMD ${r.product} chain does not verify`);
      return { product: r.product, ark, ask, asvk, simulated: false };
    });
  }
  return pinned;
}

export function fingerprint(der: Uint8Array | X509Certificate): string {
  if (der instanceof X509Certificate) {
    let f = fpCache.get(der);
    if (f === undefined) {
      f = createHash('sha256').update(der.raw).digest('hex');
      fpCache.set(der, f);
    }
    return f;
  }
  return createHash('sha256').update(der).digest('hex');
}

const verifyCache = new Map<string, boolean>();
const fpCache = new WeakMap<X509Certificate, string>();

/** issuer.publicKey verifies cert's signature (cached by both fingerprints). */
export function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  const k = `${fingerprint(cert)}:${fingerprint(issuer)}`;
  let v = verifyCache.get(k);
  if (v === undefined) {
    try {
      v = cert.verify(issuer.publicKey);
    } catch {
      v = false;
    }
    if (verifyCache.size > 4096) verifyCache.clear();
    verifyCache.set(k, v);
  }
  return v;
}

/** Clear the verification cache (benchmarks compare cold and warm). */
export function clearChainCache(): void {
  verifyCache.clear();
}

export function cn(name: string): string {
  const m = /(?:^|\n|, )CN=([^\n,]+)/.exec(name);
  return m ? m[1]!.trim() : name;
}

export function isValidAt(c: X509Certificate, now: Date): boolean {
  return new Date(c.validFrom).getTime() <= now.getTime() && now.getTime() <= new Date(c.validTo).getTime();
}
