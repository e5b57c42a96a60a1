/**
 * Parsed-certificate caches of the SEV-SNP verifier: VCEK/VLEK with AMD extensions, evidence certificates,
 * and each chain certificate's pinned-algorithm / critical-extension verdict (keyed by SHA-256).
 */
import { createHash, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { type AmdCertInfo, parseAmdCert, unknownCriticalExtensions } from '../../../formats/index.ts';
import { fingerprint } from '../chain.ts';
import { amdSignatureAlgorithmProblem } from '../sigalg.ts';

function toX509(data: Uint8Array | string): X509Certificate {
  if (typeof data === 'string') return new X509Certificate(data);
  return new X509Certificate(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

const problemCache = new Map<string, { algorithm: string | undefined; critical: string[] }>();

/**
 * The pinned-algorithm and critical-extension verdicts of a chain certificate, cached by its fingerprint
 * (itself cached per certificate object): the chain-cached path costs one map lookup per certificate.
 */
export function certProblems(c: X509Certificate): { algorithm: string | undefined; critical: string[] } {
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
export function parseVek(der: Uint8Array | string): { vek: X509Certificate; info: AmdCertInfo } {
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
export function safeX509(d: Uint8Array | string): X509Certificate | undefined {
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
