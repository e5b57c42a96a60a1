/**
 * Verdicts that also fail on checks that could not run ("not checked", outcome 'skip') unless the caller
 * allows them by id, with the error codes of the failing checks collected. Used by the RIM verifier
 * (Node-only) and the NRAS/local cross-check (portable), so it lives apart from both.
 */
import type { Check, Verdict } from '../types.ts';

/** Build a verdict whose `ok` also fails on checks that could not run, unless they are allowed. */
export function strictVerdict(
  kind: string,
  checks: Check[],
  allowNotChecked: readonly string[] = [],
  extra: Partial<Omit<Verdict, 'ok' | 'kind' | 'checks'>> = {},
): Verdict {
  const codes = new Set<string>();
  for (const c of checks) {
    const m = /^([A-Z][A-Z0-9_]+): /.exec(c.detail);
    const counts = c.outcome === 'fail' || (c.outcome === 'skip' && !allowNotChecked.includes(c.id));
    if (counts && m) codes.add(m[1]!);
  }
  const notCheckedIds = checks.filter((c) => c.outcome === 'skip').map((c) => c.id);
  const ok =
    checks.every((c) => c.outcome !== 'fail') &&
    notCheckedIds.every((id) => allowNotChecked.includes(id)) &&
    (extra.parts ?? []).every((p) => p.ok);
  return {
    ok,
    kind,
    checks,
    ...extra,
    fields: { ...(extra.fields ?? {}), errorCodes: [...codes], notChecked: notCheckedIds },
  };
}
