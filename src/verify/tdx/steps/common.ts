/** Helpers shared by the TDX verification steps: hex text, a certificate's CN, the checks/fields sink. */
import { bytesToHex } from '../../../util/text-codec.ts';
import type { Check } from '../../types.ts';
import type { Certificate } from '../../x509.ts';

/** Where a step records its checks (in order) and the fields of the verdict. */
export interface StepOutput {
  checks: Check[];
  fields: Record<string, unknown>;
}

export const SIMULATED_MARK = 'SIMULATED';

/** The Intel DCAP Quoting Enclave's vendor id (quote header). */
export const INTEL_QE_VENDOR_ID = '939a7233f79c4ca9940a0db3957f0607';

export const hex = (b: Uint8Array): string => bytesToHex(b);

/** The CN of a certificate's subject (names as text, ", "- or newline-separated), or the whole subject. */
export const cn = (c: Certificate): string =>
  /(?:^|\n|, )CN=([^\n,]+)/.exec(c.subject)?.[1]?.trim() ?? c.subject;

/** CN without the 'SIMULATED ' prefix when (and only when) a simulated root is in use. */
export const nameOf = (c: Certificate, simulated: boolean) =>
  simulated ? cn(c).replace(/^SIMULATED /, '') : cn(c);
