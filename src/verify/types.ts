/**
 * Verifier results: a verdict with every check, pass/fail/skipped, and a reason a person can act on.
 */

export type CheckOutcome = 'pass' | 'fail' | 'skip';

export interface Check {
  /** Stable id, e.g. 'snp.report.signature', 'snp.chain.ark-pinned', 'binding.report-data'. */
  id: string;
  outcome: CheckOutcome;
  /** Why: what was compared, what was expected, what was found. */
  detail: string;
}

export interface Verdict {
  ok: boolean;
  /** What was verified: 'sev-snp', 'tdx', 'nvidia-nras', 'nvidia-local', 'execution', ... */
  kind: string;
  checks: Check[];
  /** Parsed fields for --json output (hex strings, numbers, nested objects). */
  fields?: Record<string, unknown>;
  /** Sub-verdicts (e.g. an execution verdict holds the CPU and GPU evidence verdicts). */
  parts?: Verdict[];
}

/** Build a verdict: ok only when no check failed and every part is ok. */
export function verdict(
  kind: string,
  checks: Check[],
  extra: Partial<Omit<Verdict, 'ok' | 'kind' | 'checks'>> = {},
): Verdict {
  const ok = checks.every((c) => c.outcome !== 'fail') && (extra.parts ?? []).every((p) => p.ok);
  return { ok, kind, checks, ...extra };
}
