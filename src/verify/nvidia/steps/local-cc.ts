/** Step 5 of local GPU verification: the CC settings the host reported (NVML; unsigned, informative): 'nvidia.cc-settings'. */
import type { GpuEvidence } from '../../../binding/index.ts';
import type { Check } from '../../types.ts';
import { fail, pass, skip, type VerifyGpuEvidenceOptions } from './local-common.ts';

export function checkCcSettings(
  evidence: GpuEvidence,
  opts: VerifyGpuEvidenceOptions,
  simulatedTrusted: boolean,
  checks: Check[],
  fields: Record<string, unknown>,
): void {
  // 7. CC settings the host reported with the evidence (NVML; not signed by the GPU, informative)
  const cc = evidence.cc;
  if (!cc) checks.push(skip('nvidia.cc-settings', 'no CC settings reported with the evidence'));
  else {
    const bad: string[] = [];
    if (!cc.ccFeature) bad.push('CC feature off');
    if (cc.devToolsMode && !opts.allowDevTools) bad.push('dev-tools (debug) mode on');
    if (cc.environment === 'sim' && !opts.allowDevTools && !simulatedTrusted)
      bad.push('simulated CC environment');
    fields.cc = cc;
    checks.push(
      bad.length === 0
        ? pass(
            'nvidia.cc-settings',
            `host reports CC on, environment ${String(cc.environment)}, multi-GPU ${String(cc.multiGpuMode ?? 'n/a')} (unsigned)`,
          )
        : fail('nvidia.cc-settings', `host reports ${bad.join(', ')} (unsigned NVML data)`),
    );
  }
}
