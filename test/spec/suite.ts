/**
 * Runs spec scripts under the plain and an instrumented variant and compares them command by command.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CommandResult, getWabt, plainVariant, ScriptRunner, type Variant } from './runner.ts';

export const SPEC_DIR = fileURLToPath(new URL('../data/wasm-spec/', import.meta.url));

export function specFiles(): string[] {
  return readdirSync(SPEC_DIR)
    .filter((f) => f.endsWith('.wast'))
    .sort();
}

/** 2^63 - 1: "unlimited" gas. */
export const UNLIMITED_GAS = (1n << 63n) - 1n;

export type InstrumentFn = (bytes: Uint8Array) => Uint8Array;

/**
 * A variant running every module through the engine's pipeline: validate the original (as
 * src/engine does before instrumenting), `instrument`, compile; unlimited gas is armed on each
 * instance and the moved start function (`__wasmvm_start`) is run after that.
 */
export function instrumentedVariant(instrument: InstrumentFn, name = 'instrumented'): Variant {
  const global = (e: WebAssembly.Exports, n: string) => {
    const g = e[n];
    return g instanceof WebAssembly.Global ? g : undefined;
  };
  return {
    name,
    transform: (bytes) => {
      if (!WebAssembly.validate(bytes)) throw new Error('invalid module (rejected before instrumentation)');
      return instrument(bytes);
    },
    transformAcceptsInvalid: (bytes) => {
      try {
        return WebAssembly.validate(instrument(bytes));
      } catch {
        return false;
      }
    },
    arm: (e) => {
      const g = global(e, '__wasmvm_gas');
      if (g) g.value = UNLIMITED_GAS;
    },
    start: (e) => {
      const f = e.__wasmvm_start;
      if (typeof f === 'function') f();
    },
    trapCode: (e) => Number(global(e, '__wasmvm_trap')?.value ?? 0),
    reset: (e) => {
      for (const n of ['__wasmvm_trap', '__wasmvm_stack']) {
        const g = global(e, n);
        if (g) {
          try {
            g.value = typeof g.value === 'bigint' ? 0n : 0;
          } catch {
            // immutable: nothing to reset
          }
        }
      }
    },
  };
}

export interface FileComparison {
  file: string;
  plain: { pass: number; fail: number; skip: number };
  instrumented: { pass: number; fail: number; skip: number };
  /** Commands that pass plain and fail instrumented, not explained by NaN canonicalization. */
  regressions: CommandResult[];
  /** Commands that pass plain and fail instrumented where the test expects a specific NaN payload. */
  nanDiffs: CommandResult[];
  /** Commands that fail plain but pass instrumented. */
  fixed: CommandResult[];
  /** assert_exhaustion reported by the stack limiter (vs. V8's RangeError) in the instrumented run. */
  exhaustionByLimiter: number;
  exhaustionByRangeError: number;
  plainFailures: CommandResult[];
  /** assert_return commands expecting a specific NaN payload / a nan:canonical|arithmetic pattern. */
  nanPayloadAsserts: number;
  nanPatternAsserts: number;
  /** Invalid/malformed modules that instrument() alone (no validation in front) turned valid. */
  invalidAccepted: CommandResult[];
}

export async function compareFile(file: string, variant: Variant): Promise<FileComparison> {
  const w = await getWabt();
  const path = `${SPEC_DIR}${file}`;
  const p = new ScriptRunner(w, path, plainVariant).run();
  const i = new ScriptRunner(w, path, variant).run();
  const cmp: FileComparison = {
    file,
    plain: { pass: p.pass, fail: p.fail, skip: p.skip },
    instrumented: { pass: i.pass, fail: i.fail, skip: i.skip },
    regressions: [],
    nanDiffs: [],
    fixed: [],
    exhaustionByLimiter: 0,
    exhaustionByRangeError: 0,
    plainFailures: p.results.filter((r) => r.outcome === 'fail'),
    invalidAccepted: i.results.filter((r) => r.transformAcceptsInvalid),
    nanPayloadAsserts: p.results.filter((r) => r.expectsNanPayload).length,
    nanPatternAsserts: p.results.filter((r) => r.expectsNanPattern).length,
  };
  p.results.forEach((pr, k) => {
    const ir = i.results[k]!;
    if (ir.exhaustion === 'stack-limiter') cmp.exhaustionByLimiter++;
    if (ir.exhaustion === 'range-error') cmp.exhaustionByRangeError++;
    if (pr.outcome === 'pass' && ir.outcome !== 'pass') {
      if (ir.command === 'assert_return' && pr.expectsNanPayload) cmp.nanDiffs.push(ir);
      else cmp.regressions.push(ir);
    } else if (pr.outcome !== 'pass' && ir.outcome === 'pass') cmp.fixed.push(ir);
  });
  return cmp;
}

export interface Totals {
  files: number;
  plain: { pass: number; fail: number; skip: number };
  instrumented: { pass: number; fail: number; skip: number };
  regressions: number;
  nanDiffs: number;
  fixed: number;
  exhaustionByLimiter: number;
  exhaustionByRangeError: number;
  invalidAccepted: number;
  nanPayloadAsserts: number;
  nanPatternAsserts: number;
}

export function totals(rows: FileComparison[]): Totals {
  const t: Totals = {
    files: rows.length,
    plain: { pass: 0, fail: 0, skip: 0 },
    instrumented: { pass: 0, fail: 0, skip: 0 },
    regressions: 0,
    nanDiffs: 0,
    fixed: 0,
    exhaustionByLimiter: 0,
    exhaustionByRangeError: 0,
    invalidAccepted: 0,
    nanPayloadAsserts: 0,
    nanPatternAsserts: 0,
  };
  for (const r of rows) {
    for (const k of ['pass', 'fail', 'skip'] as const) {
      t.plain[k] += r.plain[k];
      t.instrumented[k] += r.instrumented[k];
    }
    t.regressions += r.regressions.length;
    t.nanDiffs += r.nanDiffs.length;
    t.fixed += r.fixed.length;
    t.exhaustionByLimiter += r.exhaustionByLimiter;
    t.exhaustionByRangeError += r.exhaustionByRangeError;
    t.invalidAccepted += r.invalidAccepted.length;
    t.nanPayloadAsserts += r.nanPayloadAsserts;
    t.nanPatternAsserts += r.nanPatternAsserts;
  }
  return t;
}

export function markdownTable(rows: FileComparison[]): string {
  const lines = [
    '| script | plain pass | plain fail | plain skip | instr. pass | instr. fail | instr. skip | NaN-payload diffs | other diffs |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.file} | ${r.plain.pass} | ${r.plain.fail} | ${r.plain.skip} | ${r.instrumented.pass} | ${r.instrumented.fail} | ${r.instrumented.skip} | ${r.nanDiffs.length} | ${r.regressions.length} |`,
    );
  const t = totals(rows);
  lines.push(
    `| **total (${t.files} scripts)** | **${t.plain.pass}** | **${t.plain.fail}** | **${t.plain.skip}** | **${t.instrumented.pass}** | **${t.instrumented.fail}** | **${t.instrumented.skip}** | **${t.nanDiffs}** | **${t.regressions}** |`,
  );
  return lines.join('\n');
}
