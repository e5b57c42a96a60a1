/**
 * Step 7: the TD's attributes under the policy: debug and profiling bits ('tdx.td.debug'), reserved bits
 * ('tdx.td.attributes'), MIGRATABLE ('tdx.td.migratable'), SEPT_VE_DISABLE ('tdx.td.sept-ve-disable').
 */
import type { Check } from '../../types.ts';
import { decodeTdAttributes, type TdxQuote, tdAttributesValue } from '../layout.ts';
import type { TdxPolicy } from '../policy.ts';

export function checkTdAttributes(q: TdxQuote, policy: TdxPolicy, checks: Check[]): void {
  const attrs = decodeTdAttributes(q.body);
  const has = (n: string) => attrs.set.includes(n);
  const debugBits = ['DEBUG', 'HGS_PLUS_PROF', 'PERF_PROF', 'PMT_PROF'].filter(has);
  if (debugBits.length > 0 && !policy.allowDebug)
    checks.push({
      id: 'tdx.td.debug',
      outcome: 'fail',
      detail: `TD_ATTRIBUTES ${debugBits.join(', ')} set: ${has('DEBUG') ? 'a debug TD (the host can read and change its memory)' : 'the host can profile the TD'}; rejected unless debug is allowed (allowDebug, --allow-debug)`,
    });
  else
    checks.push({
      id: 'tdx.td.debug',
      outcome: 'pass',
      detail:
        debugBits.length > 0
          ? `${debugBits.join(', ')} ALLOWED by policy (allowDebug)`
          : 'TD_ATTRIBUTES.DEBUG and the profiling bits are clear',
    });
  checks.push(
    attrs.reservedBits.length === 0
      ? {
          id: 'tdx.td.attributes',
          outcome: 'pass',
          detail: `TD_ATTRIBUTES 0x${tdAttributesValue(q.body).toString(16).padStart(16, '0')}: no reserved bit set (${attrs.set.join(', ') || 'no bit set'})`,
        }
      : {
          id: 'tdx.td.attributes',
          outcome: 'fail',
          detail: `TD_ATTRIBUTES 0x${tdAttributesValue(q.body).toString(16).padStart(16, '0')}: reserved bit(s) ${attrs.reservedBits.join(', ')} set (must be zero)`,
        },
  );
  if (has('MIGRATABLE'))
    checks.push({
      id: 'tdx.td.migratable',
      outcome: policy.allowMigratable ? 'pass' : 'fail',
      detail: policy.allowMigratable
        ? 'TD_ATTRIBUTES.MIGRATABLE set: ALLOWED by policy (allowMigratable)'
        : 'TD_ATTRIBUTES.MIGRATABLE set: a migration TD may move this TD to another platform; rejected unless allowMigratable',
    });
  if (policy.requireSeptVeDisable)
    checks.push({
      id: 'tdx.td.sept-ve-disable',
      outcome: has('SEPT_VE_DISABLE') ? 'pass' : 'fail',
      detail: has('SEPT_VE_DISABLE')
        ? 'TD_ATTRIBUTES.SEPT_VE_DISABLE set (required by policy)'
        : 'TD_ATTRIBUTES.SEPT_VE_DISABLE is clear but the policy requires it (requireSeptVeDisable)',
    });
}
