/**
 * GPU evidence + RIMs: verify the evidence locally (local.ts), verify each RIM (rim.ts), then appraise
 * the signed SPDM measurements against the verified RIMs' golden values, index by index.
 * The result is one verdict whose parts are the evidence verdict, each RIM's verdict and the appraisal.
 */

import type { GpuEvidence } from '../../binding/index.ts';
import { parseSpdmEvidence } from '../../formats/index.ts';
import type { Check, Verdict } from '../types.ts';
import { type VerifyGpuEvidenceOptions, verifyGpuEvidence } from './local.ts';
import {
  compareEvidenceToRims,
  type ParsedRim,
  strictVerdict,
  type VerifyRimOptions,
  verifyRim,
} from './rim.ts';

export interface AppraiseGpuOptions extends Omit<VerifyGpuEvidenceOptions, 'referenceValues'> {
  /** RIM files (SWID XML), driver and/or VBIOS, any order: each is classified by its version. */
  rims: ReadonlyArray<string | Uint8Array>;
  /** Check ids allowed to be "not checked" (e.g. 'nvidia.rim.chain.revocation'). Default none. */
  allowNotChecked?: readonly string[];
  /** Allowed RIM versions (driver and VBIOS colloquialVersion values), from a policy. */
  allowedRimVersions?: readonly string[];
  /** Test-only trust anchor for RIMs (PEM) instead of the pinned NVIDIA CoRIM signing root. */
  rimTrustRoot?: string;
  /**
   * Revocation of each RIM's signing chain (VerifyRimOptions.ocsp: every certificate but the root, the
   * signing leaf included); `ocsp` is the device chain's. Without it the RIM chains' revocation is
   * "not checked".
   */
  rimOcsp?: VerifyRimOptions['ocsp'];
}

/** Verify GPU evidence and appraise it against RIMs. */
export async function verifyGpuEvidenceWithRims(
  evidence: GpuEvidence,
  opts: AppraiseGpuOptions,
): Promise<Verdict> {
  const { rims, allowNotChecked, allowedRimVersions, rimTrustRoot, rimOcsp, ...gpuOpts } = opts;
  const gpu = await verifyGpuEvidence(evidence, gpuOpts);
  // The plain-JSON reference-value check is replaced by the RIM appraisal below.
  const gpuChecks = gpu.checks.filter((c) => !(c.id === 'nvidia.measurements' && c.outcome === 'skip'));
  // Strict like the RIM parts: a device-chain check that could not run (revocation without OCSP or a
  // bundle) fails the appraisal unless allowed by id, as the RIM chain's does. The host-reported CC
  // settings are unsigned and informative (steps/local-cc.ts): their absence is not a gap.
  const { ok: _plainOk, kind: gpuKind, checks: _all, ...gpuRest } = gpu;
  const gpuPart = strictVerdict(
    gpuKind,
    gpuChecks,
    [...(allowNotChecked ?? []), 'nvidia.cc-settings'],
    gpuRest,
  );

  const rimParts: Verdict[] = [];
  const byKind: { driver?: ParsedRim; vbios?: ParsedRim } = {};
  const checks: Check[] = [];
  const ro: VerifyRimOptions = {};
  if (opts.now) ro.now = opts.now;
  if (allowNotChecked) ro.allowNotChecked = allowNotChecked;
  if (allowedRimVersions) ro.allowedVersions = allowedRimVersions;
  if (rimTrustRoot) ro.trustRoot = rimTrustRoot;
  if (rimOcsp) ro.ocsp = rimOcsp;
  for (const r of rims) {
    const res = await verifyRim(r, ro);
    rimParts.push(res.verdict);
    if (!res.rim || !res.verdict.ok) continue; // a RIM that does not verify contributes no golden value
    if (byKind[res.rim.kind])
      checks.push({
        id: 'nvidia.rim.duplicate',
        outcome: 'fail',
        detail: `RIM_CONFLICT: two ${res.rim.kind} RIMs given (${byKind[res.rim.kind]!.version}, ${res.rim.version})`,
      });
    else byKind[res.rim.kind] = res.rim;
  }
  let appraisal: Verdict;
  try {
    const spdm = parseSpdmEvidence(new Uint8Array(Buffer.from(String(evidence.evidence), 'base64')));
    const o = allowNotChecked ? { allowNotChecked } : {};
    appraisal = compareEvidenceToRims(spdm, byKind, o).verdict;
  } catch (e) {
    appraisal = strictVerdict('nvidia-rim-appraisal', [
      {
        id: 'nvidia.rim.measurements',
        outcome: 'skip',
        detail: `RIM_NOT_CHECKED: not checked: the evidence could not be parsed (${e instanceof Error ? e.message : String(e)})`,
      },
    ]);
  }
  return strictVerdict('nvidia-local+rim', checks, allowNotChecked, {
    parts: [gpuPart, ...rimParts, appraisal],
  });
}

/**
 * RIMs named by a host policy's `gpu.referenceValues`: `{ "rims": ["<SWID XML>", ...] }` (the XML
 * text; a runner reads files into it) and an optional `"allowNotChecked": [ids]`. Undefined when the
 * reference values hold no RIMs (the plain-JSON comparison of local.ts applies then).
 */
export function rimsFromReferenceValues(
  rv: Record<string, unknown> | undefined,
): { rims: string[]; allowNotChecked: string[] } | undefined {
  const rims = rv?.rims;
  if (!Array.isArray(rims) || rims.length === 0) return undefined;
  const allow = Array.isArray(rv?.allowNotChecked) ? (rv.allowNotChecked as unknown[]) : [];
  return { rims: rims.map(String), allowNotChecked: allow.map(String) };
}

/**
 * One flat verdict (every check of every part, part checks prefixed by nothing: their ids are
 * distinct), for callers that read `checks` only, such as the guest API's GPU policy.
 */
export function flattenVerdict(v: Verdict): Verdict {
  const checks: Check[] = [];
  const walk = (x: Verdict) => {
    checks.push(...x.checks);
    for (const p of x.parts ?? []) walk(p);
  };
  walk(v);
  const fields: Record<string, unknown> = {};
  const collect = (x: Verdict) => {
    Object.assign(fields, x.fields ?? {});
    for (const p of x.parts ?? []) collect(p);
  };
  collect(v);
  return { ok: v.ok, kind: v.kind, checks, fields };
}
