/**
 * Step 1 of local GPU verification: decode the evidence: the SPDM GET_MEASUREMENTS exchange
 * ('nvidia.spdm.parse') and the PEM certificate chain ('nvidia.chain.parse'), both bounded in size.
 */
import type { GpuEvidence } from '../../../binding/index.ts';
import { decodeBase64Loose, parseSpdmEvidence, type SpdmEvidence } from '../../../formats/index.ts';
import type { Check } from '../../types.ts';
import type { Certificate } from '../../x509.ts';
import { parseCertChain } from '../certs.ts';
import { NvidiaVerifyError } from '../errors.ts';
import { fail, NVIDIA_LIMITS, pass } from './local-common.ts';

function decodeB64(s: unknown, what: string, maxBytes: number): Uint8Array {
  if (typeof s === 'string' && s.length > Math.ceil(maxBytes / 3) * 4 + 1024)
    throw new NvidiaVerifyError(
      'NVIDIA_EVIDENCE_SIZE',
      `NVIDIA_EVIDENCE_SIZE: ${what} is over ${maxBytes} bytes`,
    );
  if (typeof s !== 'string' || s.length === 0 || !/^[A-Za-z0-9+/=\s_-]+$/.test(s))
    throw new NvidiaVerifyError('NVIDIA_BAD_EVIDENCE', `${what} is not base64 text`);
  return decodeBase64Loose(s);
}

/** The parsed SPDM evidence, or undefined after a failed 'nvidia.spdm.parse' check. */
export function decodeSpdm(evidence: GpuEvidence, checks: Check[]): SpdmEvidence | undefined {
  try {
    const raw = decodeB64(evidence?.evidence, 'evidence', NVIDIA_LIMITS.maxEvidenceBytes);
    const spdm = parseSpdmEvidence(raw);
    checks.push(
      pass(
        'nvidia.spdm.parse',
        `SPDM 1.${spdm.request.version & 0xf} GET_MEASUREMENTS request (${spdm.request.bytes.length} B) + MEASUREMENTS response with ${spdm.response.blocks.length} blocks, ${spdm.response.opaque.length} B opaque data${spdm.response.trailingZeroBytes ? `; ${spdm.response.trailingZeroBytes} zero byte(s) of padding after the signature ignored` : ''}`,
      ),
    );
    return spdm;
  } catch (e) {
    checks.push(
      fail(
        'nvidia.spdm.parse',
        `cannot parse the SPDM evidence: ${e instanceof Error ? e.message : String(e)}`,
      ),
    );
    return undefined;
  }
}

/** The certificate chain (leaf first), or [] after a failed 'nvidia.chain.parse' check. */
export function decodeChain(evidence: GpuEvidence, checks: Check[]): Certificate[] {
  try {
    const der = decodeB64(evidence?.certificate, 'certificate', NVIDIA_LIMITS.maxChainBytes);
    let pem = ''; // latin1: one character per byte
    for (let i = 0; i < der.length; i += 8192) pem += String.fromCharCode(...der.subarray(i, i + 8192));
    const blocks = pem.split('-----BEGIN CERTIFICATE-----').length - 1;
    if (blocks > NVIDIA_LIMITS.maxChainCerts)
      throw new NvidiaVerifyError(
        'NVIDIA_CHAIN_COUNT',
        `NVIDIA_CHAIN_COUNT: ${blocks} certificates, over the limit of ${NVIDIA_LIMITS.maxChainCerts}`,
      );
    const certs = parseCertChain(pem);
    if (certs.length === 0) throw new NvidiaVerifyError('NVIDIA_BAD_EVIDENCE', 'no PEM certificate found');
    checks.push(pass('nvidia.chain.parse', `${certs.length} certificates`));
    return certs;
  } catch (e) {
    checks.push(
      fail(
        'nvidia.chain.parse',
        `cannot parse the certificate chain: ${e instanceof Error ? e.message : String(e)}`,
      ),
    );
    return [];
  }
}
