/** Step 0: validate the caller's TDX policy (callers may hand over an unvalidated JSON section). */
import type { Check } from '../../types.ts';
import { parseTdxPolicy, type TdxPolicy } from '../policy.ts';

/** The validated policy, or undefined after a failed 'tdx.policy' check (verification stops). */
export function readPolicy(policy: TdxPolicy | undefined, checks: Check[]): TdxPolicy | undefined {
  if (policy === undefined) return {};
  try {
    return parseTdxPolicy(policy);
  } catch (e) {
    checks.push({ id: 'tdx.policy', outcome: 'fail', detail: (e as Error).message });
    return undefined;
  }
}
