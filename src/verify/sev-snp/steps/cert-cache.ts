/**
 * Parsed-certificate caches of the SEV-SNP verifier: VCEK/VLEK with AMD extensions, evidence certificates,
 * and each chain certificate's pinned-algorithm / critical-extension verdict (keyed by SHA-256).
 */
import { type AmdCertInfo, parseAmdCert, unknownCriticalExtensions } from '../../../formats/index.ts';
import { digestHex } from '../../../util/digest.ts';
import { Certificate } from '../../x509.ts';
import { fingerprint } from '../chain.ts';
import { amdSignatureAlgorithmProblem } from '../sigalg.ts';

const problemCache = new Map<string, { algorithm: string | undefined; critical: string[] }>();

/**
 * The pinned-algorithm and critical-extension verdicts of a chain certificate, cached by its fingerprint
 * (itself cached per certificate object): the chain-cached path costs one map lookup per certificate.
 */
export function certProblems(c: Certificate): { algorithm: string | undefined; critical: string[] } {
  const key = fingerprint(c);
  let p = problemCache.get(key);
  if (p === undefined) {
    p = { algorithm: amdSignatureAlgorithmProblem(c.raw, key), critical: unknownCriticalExtensions(c.raw) };
    if (problemCache.size >= 1024) problemCache.clear();
    problemCache.set(key, p);
  }
  return p;
}

const vekCache = new Map<string, { vek: Certificate; info: AmdCertInfo }>();

/** Parse a VCEK/VLEK (Certificate + AMD extensions), cached by the SHA-256 of its bytes. */
export function parseVek(der: Uint8Array | string): { vek: Certificate; info: AmdCertInfo } {
  const key = digestHex('sha256', der);
  const hit = vekCache.get(key);
  if (hit) return hit;
  const vek = Certificate.parse(der, 'VCEK/VLEK');
  const parsed = { vek, info: parseAmdCert(vek.parsed) };
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

const x509Cache = new Map<string, Certificate>();

/** Parse a certificate (DER or PEM), cached by the SHA-256 of its bytes; undefined when unparseable. */
export function safeX509(d: Uint8Array | string): Certificate | undefined {
  const key = digestHex('sha256', d);
  const hit = x509Cache.get(key);
  if (hit) return hit;
  try {
    const c = Certificate.parse(d);
    if (x509Cache.size >= 256) x509Cache.delete(x509Cache.keys().next().value!);
    x509Cache.set(key, c);
    return c;
  } catch {
    return undefined;
  }
}
