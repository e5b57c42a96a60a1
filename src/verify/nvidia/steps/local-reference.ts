/**
 * Step 4 of local GPU verification: the measurements and versions against reference values
 * ('nvidia.measurements', 'nvidia.driver-version', 'nvidia.vbios-version').
 */

import { type SpdmEvidence, toHex } from '../../../formats/index.ts';
import type { Check } from '../../types.ts';
import { fail, type GpuReferenceValues, pass, skip } from './local-common.ts';

/**
 * Accept the reference values themselves, or a policy file's `nvidia` section holding them under
 * `referenceValues` (the section may also hold NRAS claim rules, which do not apply here).
 */
export function normalizeReferenceValues(x: unknown): GpuReferenceValues | undefined {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return undefined;
  const o = x as Record<string, unknown>;
  if ('referenceValues' in o) return normalizeReferenceValues(o.referenceValues);
  if ('nvidia' in o) return normalizeReferenceValues(o.nvidia);
  if ('measurements' in o || 'driverVersions' in o || 'vbiosVersions' in o) return o as GpuReferenceValues;
  return undefined;
}

export function compareReferenceValues(
  spdm: SpdmEvidence,
  opaque: Record<string, unknown>,
  ref: GpuReferenceValues | undefined,
): Check[] {
  if (!ref)
    return [
      skip('nvidia.measurements', 'no reference values (RIMs) given: the measurements were not appraised'),
    ];
  const out: Check[] = [];
  if (ref.measurements) {
    const bad: string[] = [];
    let matched = 0;
    const byIndex = new Map(spdm.response.blocks.map((b) => [b.index, toHex(b.value)]));
    for (const [idx, want] of Object.entries(ref.measurements)) {
      const got = byIndex.get(Number(idx));
      const accepted = (Array.isArray(want) ? want : [want]).map((w) => w.toLowerCase());
      if (got === undefined) bad.push(`index ${idx}: missing from the report`);
      else if (!accepted.includes(got)) bad.push(`index ${idx}: ${got} not in [${accepted.join(', ')}]`);
      else matched++;
    }
    if (!ref.allowUnlistedIndices) {
      for (const idx of byIndex.keys())
        if (!(String(idx) in ref.measurements)) bad.push(`index ${idx}: no reference value`);
    }
    out.push(
      bad.length === 0
        ? pass('nvidia.measurements', `${matched} measurement(s) equal the reference values`)
        : fail(
            'nvidia.measurements',
            `${bad.length} mismatch(es): ${bad.slice(0, 8).join('; ')}${bad.length > 8 ? '; …' : ''}`,
          ),
    );
  } else {
    out.push(skip('nvidia.measurements', 'reference values hold no measurements'));
  }
  if (ref.driverVersions) {
    const v = String(opaque.DRIVER_VERSION ?? '');
    out.push(
      ref.driverVersions.includes(v)
        ? pass('nvidia.driver-version', `driver ${v} is allowed`)
        : fail('nvidia.driver-version', `driver ${v} not in [${ref.driverVersions.join(', ')}]`),
    );
  }
  if (ref.vbiosVersions) {
    const v = String(opaque.VBIOS_VERSION ?? '');
    const allowed = ref.vbiosVersions.map((x) => x.toUpperCase());
    out.push(
      allowed.includes(v.toUpperCase())
        ? pass('nvidia.vbios-version', `VBIOS ${v} is allowed`)
        : fail('nvidia.vbios-version', `VBIOS ${v} not in [${ref.vbiosVersions.join(', ')}]`),
    );
  }
  return out;
}
