/** Helpers shared by the TDX verification steps: hex text, a certificate's CN, the checks/fields sink. */
import type { X509Certificate } from 'node:crypto';
import type { Check } from '../../types.ts';

/** Where a step records its checks (in order) and the fields of the verdict. */
export interface StepOutput {
  checks: Check[];
  fields: Record<string, unknown>;
}

export const SIMULATED_MARK = 'SIMULATED';

/** The Intel DCAP Quoting Enclave's vendor id (quote header). */
export const INTEL_QE_VENDOR_ID = '939a7233f79c4ca9940a0db3957f0607';

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export const cn = (c: X509Certificate) =>
  c.subject
    .split('\n')
    .find((l) => l.startsWith('CN='))
    ?.slice(3) ?? c.subject;

/** CN without the 'SIMULATED ' prefix when (and only when) a simulated root is in use. */
export const nameOf = (c: X509Certificate, simulated: boolean) =>
  simulated ? cn(c).replace(/^SIMULATED /, '') : cn(c);
