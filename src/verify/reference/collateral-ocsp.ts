/**
 * NVIDIA OCSP responses in offline collateral bundles (kind "nvidia-ocsp", docs/reference-values.md):
 * one item per (certificate, issuer) pair of a GPU device chain that has an OCSP check (every
 * certificate but the DICE leaf and the root, as createOcspChecker asks online), and of a RIM signing
 * chain (every certificate but the root, the signing leaf included: rimOcspTargets).
 *   id        lower-case hex of the DER CertID (SHA-1 hashAlgorithm, issuerNameHash, issuerKeyHash,
 *             serialNumber) the verifier computes for the pair: the same bytes the response must name
 *   body      the DER OCSPResponse as the responder sent it (base64)
 *   validity  thisUpdate − 5 min .. nextUpdate of the SingleResponse for that CertID (the 5 minutes are
 *             the clock-skew allowance checkOcspResponse gives thisUpdate); a response WITHOUT
 *             nextUpdate is refused (COLLATERAL_MALFORMED): RFC 6960 says newer information is then
 *             always available, so there is no period in which it may be relied on offline
 * `ocspFromBundle(bundle, at)` is the `ocsp` hook of verifyGpuEvidence with no network: every
 * certificate's item must be present, inside its validity at `at`, signed by the issuer (or its
 * delegated OCSPSigning responder) and say `good`; anything else fails the revocation check with a
 * code naming the certificate. Browser-portable.
 */
import { bytesEqual, bytesToHex, hexToBytes } from '../../util/text-codec.ts';
import { commonName } from '../nvidia/certs.ts';
import {
  certId,
  checkOcspResponse,
  type OcspResult,
  type OcspTargetSelector,
  ocspSingleResponses,
  ocspTargets,
  rimOcspTargets,
} from '../nvidia/ocsp.ts';
import type { Certificate } from '../x509.ts';
import {
  type CollateralBundle,
  CollateralError,
  type CollateralItem,
  findItem,
  itemBytes,
} from './collateral.ts';

/** The clock-skew allowance before thisUpdate (the same as checkOcspResponse's). */
export const OCSP_CLOCK_SKEW_MS = 300_000;

const iso = (d: Date | number) => new Date(d).toISOString();

/** The bundle id of the OCSP response for `cert` issued by `issuer`: hex of the DER CertID. */
export function ocspItemId(cert: Certificate, issuer: Certificate): string {
  return bytesToHex(certId(cert, issuer));
}

const malformed = (item: Pick<CollateralItem, 'kind' | 'id'>, m: string): never => {
  throw new CollateralError('COLLATERAL_MALFORMED', `${item.kind} '${item.id}': ${m}`);
};

/**
 * Validity of an nvidia-ocsp item from its (signed) response: thisUpdate − 5 min .. nextUpdate of the
 * SingleResponse naming the item's CertID. Throws COLLATERAL_MALFORMED (unparsable, no such
 * SingleResponse, no nextUpdate). The signature is checked by checkOcspItem.
 */
export function ocspItemValidity(item: CollateralItem): { notBefore: string; notAfter: string } {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(item.id)) malformed(item, 'the id is not the hex of a CertID');
  let singles: ReturnType<typeof ocspSingleResponses> = [];
  try {
    singles = ocspSingleResponses(itemBytes(item));
  } catch (e) {
    malformed(item, (e as Error).message);
  }
  const want = hexToBytes(item.id);
  const s = singles.find((x) => bytesEqual(x.certId, want));
  if (!s) return malformed(item, 'the response does not cover the certificate its id names (another CertID)');
  if (!s.nextUpdate)
    malformed(item, 'the response has no nextUpdate: it cannot be relied on at any later time (RFC 6960)');
  return { notBefore: iso(s.thisUpdate.getTime() - OCSP_CLOCK_SKEW_MS), notAfter: iso(s.nextUpdate!) };
}

/**
 * An nvidia-ocsp item checked for (cert, issuer) at `at` (checkOcspResponse): a valid signature and a
 * definite status. Returns the result when it says good, revoked or unknown; throws
 * COLLATERAL_SIGNATURE_INVALID (signer), COLLATERAL_EXPIRED (thisUpdate/nextUpdate) or
 * COLLATERAL_MALFORMED (another certificate, unparsable, not successful) otherwise.
 */
export async function checkOcspItem(
  item: CollateralItem,
  cert: Certificate,
  issuer: Certificate,
  at: Date,
): Promise<OcspResult & { status: 'good' | 'revoked' | 'unknown' }> {
  const r = await checkOcspResponse(itemBytes(item), cert, issuer, at);
  if (r.status !== 'error') return { ...r, status: r.status };
  const code =
    r.reason === 'signature'
      ? 'COLLATERAL_SIGNATURE_INVALID'
      : r.reason === 'stale'
        ? 'COLLATERAL_EXPIRED'
        : 'COLLATERAL_MALFORMED';
  throw new CollateralError(code, `${item.kind} '${item.id}': ${r.detail}`);
}

/** "'CN' (serial S, issued by 'CN')": how a certificate is named in the details. */
export function describeOcspTarget(cert: Certificate, issuer: Certificate): string {
  return `'${commonName(cert) || cert.subject}' (serial ${cert.serialNumber}, issued by '${commonName(issuer) || issuer.subject}')`;
}

/**
 * The `ocsp` hook of verifyGpuEvidence (`targets` default ocspTargets: the device chain's pairs) or of
 * verifyRim (`targets: rimOcspTargets`, or rimOcspFromBundle) from a bundle, at `at`, with no network: per certificate the
 * nvidia-ocsp item of its CertID. ok only when every one is present, valid at `at`, properly signed
 * and `good`. The detail names each certificate and its outcome; when not ok it starts with the first
 * code: COLLATERAL_MISSING_ITEM, COLLATERAL_EXPIRED, COLLATERAL_SIGNATURE_INVALID, COLLATERAL_MALFORMED,
 * OCSP_REVOKED or OCSP_UNKNOWN.
 */
export function ocspFromBundle(
  bundle: CollateralBundle,
  at: Date,
  opts: { targets?: OcspTargetSelector } = {},
): (chain: Certificate[]) => Promise<{ ok: boolean; detail: string }> {
  return async (chain) => {
    const parts: string[] = [];
    const codes: string[] = [];
    for (const { cert, issuer } of (opts.targets ?? ocspTargets)(chain)) {
      const name = describeOcspTarget(cert, issuer);
      const id = ocspItemId(cert, issuer);
      try {
        const item = findItem(bundle, 'nvidia-ocsp', id);
        if (!item)
          throw new CollateralError(
            'COLLATERAL_MISSING_ITEM',
            `the bundle has no nvidia-ocsp item for ${name} (id ${id})`,
          );
        const v = ocspItemValidity(item);
        if (at < new Date(v.notBefore) || at > new Date(v.notAfter))
          throw new CollateralError(
            'COLLATERAL_EXPIRED',
            `the OCSP response for ${name} is valid ${v.notBefore} .. ${v.notAfter} (thisUpdate − 5 min .. nextUpdate), not at ${at.toISOString()}`,
          );
        const r = await checkOcspItem(item, cert, issuer, at);
        const from = `(fetched ${item.fetchedAt} from ${item.source})`;
        if (r.status === 'good') parts.push(`${name}: good: ${r.detail} ${from}`);
        else {
          const code = r.status === 'revoked' ? 'OCSP_REVOKED' : 'OCSP_UNKNOWN';
          codes.push(code);
          parts.push(`${name}: ${code}: ${r.detail} ${from}`);
        }
      } catch (e) {
        const code = (e as { code?: string }).code ?? 'COLLATERAL_MALFORMED';
        codes.push(code);
        parts.push(`${name}: ${code}: ${(e as Error).message}`);
      }
    }
    const ok = codes.length === 0;
    const what = `OCSP from the collateral bundle (created ${bundle.createdAt}) at ${at.toISOString()}`;
    return {
      ok,
      detail: `${ok ? '' : `${codes[0]}: `}${what}: ${parts.length > 0 ? parts.join('; ') : 'no certificate to check'}`,
    };
  };
}

/**
 * The `ocsp` hook of verifyRim from a bundle: ocspFromBundle over a RIM signing chain's pairs (every
 * certificate but the root, the signing leaf included).
 */
export function rimOcspFromBundle(
  bundle: CollateralBundle,
  at: Date,
): (chain: Certificate[]) => Promise<{ ok: boolean; detail: string }> {
  return ocspFromBundle(bundle, at, { targets: rimOcspTargets });
}
