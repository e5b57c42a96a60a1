/**
 * Step 9: the collateral (TCB Info, QE identity, CRLs, issuer chains), as given or loaded from a path.
 * Required unless the policy says otherwise or the evidence is SIMULATED (explicitly trusted) ('tdx.collateral').
 */
import type { Check } from '../../types.ts';
import { collateralPathLoader, type TdxCollateral } from '../collateral.ts';
import { TdxError } from '../errors.ts';
import type { TdxPolicy } from '../policy.ts';

/** The collateral, or undefined after a 'tdx.collateral' fail/skip check (the collateral steps are skipped). */
export function resolveCollateral(
  collateral: TdxCollateral | string | undefined,
  policy: TdxPolicy,
  simulated: boolean,
  checks: Check[],
  loadCollateral?: (path: string) => TdxCollateral,
): TdxCollateral | undefined {
  // A path (string) is accepted for callers that pass the CLI value through (Node: files).
  let col: TdxCollateral | undefined;
  if (typeof collateral === 'string') {
    const load = loadCollateral ?? collateralPathLoader();
    if (!load)
      throw new TdxError(
        'TDX_COLLATERAL',
        `collateral '${collateral}' is a path, and there is no file loader here: pass the collateral itself`,
      );
    col = load(collateral);
  } else col = collateral;
  // SIMULATED evidence (explicitly trusted) has no Intel collateral: not required unless the policy says so.
  const requireCollateral = policy.requireCollateral ?? !simulated;
  if (!col) {
    checks.push({
      id: 'tdx.collateral',
      outcome: requireCollateral ? 'fail' : 'skip',
      detail:
        'no collateral given (TCB Info, QE identity, CRLs): revocation and TCB status are NOT checked' +
        (requireCollateral ? '' : simulated ? ' (SIMULATED evidence)' : ' (policy requireCollateral=false)'),
    });
  }
  return col;
}
