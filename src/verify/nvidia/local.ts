/**
 * Local verification of one GPU's evidence (nvattest / NVML form): SPDM parsing, certificate chain
 * to the pinned NVIDIA Device Identity CA, FWID binding, the P-384 signature, the nonce, and the
 * measurements against reference values. Offline: revocation (OCSP) is recorded as 'skip'.
 * The steps live in ./steps/local-*.ts; `verifyGpuEvidence` runs them in order.
 */

import type { GpuEvidence } from '../../binding/index.ts';
import type { Check } from '../types.ts';
import { type Verdict, verdict } from '../types.ts';
import { checkCcSettings } from './steps/local-cc.ts';
import { checkDeviceChain } from './steps/local-chain.ts';
import { fail, NVIDIA_LIMITS, pass, type VerifyGpuEvidenceOptions } from './steps/local-common.ts';
import { decodeChain, decodeSpdm } from './steps/local-decode.ts';
import { compareReferenceValues, normalizeReferenceValues } from './steps/local-reference.ts';
import { checkFwid, checkNonce, checkSpdmSignature, reportFields } from './steps/local-report.ts';

export {
  type GpuReferenceValues,
  NVIDIA_LIMITS,
  type VerifyGpuEvidenceOptions,
} from './steps/local-common.ts';
export { normalizeReferenceValues } from './steps/local-reference.ts';

export async function verifyGpuEvidence(
  evidence: GpuEvidence,
  opts: VerifyGpuEvidenceOptions = {},
): Promise<Verdict> {
  const checks: Check[] = [];
  const fields: Record<string, unknown> = {};
  const now = opts.now ?? new Date();
  if (typeof evidence !== 'object' || evidence === null || Array.isArray(evidence))
    return verdict('nvidia-local', [
      fail('nvidia.evidence', 'GPU evidence must be an object {arch, certificate, evidence, nonce}'),
    ]);
  if (evidence.index !== undefined) fields.index = evidence.index;
  if (evidence.uuid) fields.uuid = evidence.uuid;
  // 1. Decode the SPDM exchange and the certificate chain.
  const spdm = decodeSpdm(evidence, checks);
  const certs = decodeChain(evidence, checks);
  // 2. Chain to the pinned root (or an explicitly trusted SIMULATED one), revocation, arch.
  const leaf = certs[0];
  let simulatedTrusted = false;
  if (certs.length > 0)
    ({ simulatedTrusted } = await checkDeviceChain(evidence, certs, opts, now, checks, fields));
  if (spdm) {
    const opaque = reportFields(spdm, fields);
    // 3. FWID binding, 4. signature, 5. nonce, 6. measurements against reference values.
    checkFwid(spdm, leaf, checks);
    await checkSpdmSignature(spdm, leaf, checks);
    checkNonce(spdm, evidence.nonce, opts.nonce, checks);
    checks.push(...compareReferenceValues(spdm, opaque, normalizeReferenceValues(opts.referenceValues)));
  }
  // 7. CC settings the host reported with the evidence (unsigned, informative).
  checkCcSettings(evidence, opts, simulatedTrusted, checks, fields);
  return verdict('nvidia-local', checks, { fields });
}

/** Verify a list of GPU evidence (composite: every GPU with the same nonce). */
export async function verifyGpuEvidenceList(
  list: GpuEvidence[],
  opts: VerifyGpuEvidenceOptions = {},
): Promise<Verdict> {
  if (list.length > NVIDIA_LIMITS.maxGpus)
    return verdict('nvidia-local-list', [
      fail(
        'nvidia.gpu-count',
        `NVIDIA_EVIDENCE_SIZE: ${list.length} GPUs, over the limit of ${NVIDIA_LIMITS.maxGpus}`,
      ),
    ]);
  const parts = [];
  for (const e of list) parts.push(await verifyGpuEvidence(e, opts));
  const checks: Check[] = [
    list.length > 0
      ? pass('nvidia.gpu-count', `${list.length} GPU(s)`)
      : fail('nvidia.gpu-count', 'no GPU evidence'),
  ];
  return verdict('nvidia-local-list', checks, { parts });
}
