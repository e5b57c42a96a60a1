/**
 * When both an NRAS answer and the local verification of the same GPU evidence are at hand, their
 * claims must agree: driver and VBIOS versions, the device identity (ueid, hwmodel) and the
 * measurement result. A claim missing on one side is "not checked", never a pass.
 */
import type { Check, Verdict } from '../types.ts';
import { strictVerdict } from './strict-verdict.ts';

function allFields(v: Verdict): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const walk = (x: Verdict) => {
    for (const p of x.parts ?? []) walk(p);
    Object.assign(out, x.fields ?? {});
  };
  walk(v);
  return out;
}

/**
 * Compare one GPU's NRAS verdict part (kind 'nvidia-nras-gpu') with the local verdict of the same
 * evidence (verifyGpuEvidence or verifyGpuEvidenceWithRims).
 */
export function crossCheckNrasWithLocal(
  nrasGpu: Verdict,
  local: Verdict,
  allowNotChecked: readonly string[] = [],
): Verdict {
  const n = nrasGpu.fields ?? {};
  const l = allFields(local);
  const checks: Check[] = [];
  const same = (id: string, what: string, a: unknown, b: unknown, norm = (x: string) => x) => {
    if (a === undefined || a === null || b === undefined || b === null)
      checks.push({
        id,
        outcome: 'skip',
        detail: `NRAS_CROSSCHECK_NOT_CHECKED: not checked: ${what} missing on the ${a == null ? 'NRAS' : 'local'} side`,
      });
    else if (norm(String(a)) === norm(String(b)))
      checks.push({ id, outcome: 'pass', detail: `${what}: NRAS and local agree (${String(a)})` });
    else
      checks.push({
        id,
        outcome: 'fail',
        detail: `NRAS_CROSSCHECK_MISMATCH: ${what}: NRAS says ${String(a)}, the local verification ${String(b)}`,
      });
  };
  same(
    'nvidia.crosscheck.driver-version',
    'driver version',
    n['x-nvidia-gpu-driver-version'],
    l.driverVersion,
  );
  same(
    'nvidia.crosscheck.vbios-version',
    'VBIOS version',
    n['x-nvidia-gpu-vbios-version'],
    l.vbiosVersion,
    (x) => x.toUpperCase(),
  );
  same('nvidia.crosscheck.ueid', 'device ueid', n.ueid, l.ueid);
  // NRAS v3 says the chip ('GH100'), the local verifier the issuing certificate's CN ('GH100 A01 GSP BROM')
  same('nvidia.crosscheck.hwmodel', 'hwmodel (chip)', n.hwmodel, l.hwmodel, (x) =>
    x.split(' ')[0]!.toUpperCase(),
  );
  // measurement result: NRAS 'success' ⇔ every appraised local measurement matched
  const appraised = typeof l.appraised === 'number' ? l.appraised : undefined;
  const localMeas =
    appraised === undefined || appraised === 0
      ? undefined
      : l.matched === appraised
        ? 'success'
        : 'comparison-fail';
  same('nvidia.crosscheck.measres', 'measurement result', n.measres, localMeas, (x) =>
    x === 'success' ? 'success' : 'fail',
  );
  return strictVerdict('nvidia-nras-crosscheck', checks, allowNotChecked);
}
