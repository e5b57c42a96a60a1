/**
 * Trap classification: V8's RuntimeError messages → ExecutionStatus codes.
 * V8's wording (src/common/message-template.h, kWasmTrap*) has been stable across Node 20 (V8 11.3)
 * and Node 24; unknown messages fall back to 'unreachable'-free classification by keyword, and finally
 * to 'host_trap' for non-Wasm errors thrown by host code.
 */
import type { ExecutionStatus } from './types.ts';

const RULES: readonly [RegExp, ExecutionStatus][] = [
  [/\bunreachable\b/i, 'unreachable'],
  [
    /memory access out of bounds|operation does not support unaligned accesses|data segment (?:has been dropped|out of bounds)/i,
    'out_of_bounds_memory',
  ],
  [/divide by zero|remainder by zero/i, 'integer_divide_by_zero'],
  [/divide result unrepresentable|integer overflow/i, 'integer_overflow'],
  [/float unrepresentable|invalid conversion/i, 'invalid_conversion'],
  [
    /null function or function signature mismatch|signature mismatch|indirect call/i,
    'indirect_call_mismatch',
  ],
  [
    /table index is out of bounds|invalid index into function table|element segment (?:has been dropped|out of bounds)|table (?:access )?out of bounds|uninitialized element/i,
    'out_of_bounds_table',
  ],
  [
    /dereferencing a null pointer|null (?:reference|dereference)|illegal cast|array element access out of bounds/i,
    'null_reference',
  ],
  [/Maximum call stack size exceeded|call stack exhausted/i, 'stack_overflow'],
];

/** Classify a V8 Wasm RuntimeError message; undefined when it is not a recognized trap. */
export function classifyTrapMessage(message: string): ExecutionStatus | undefined {
  for (const [re, status] of RULES) if (re.test(message)) return status;
  return undefined;
}

/** Values of the instrumented module's `__wasmvm_trap` global (see docs/metering.md). */
export const TRAP_GLOBAL_NONE = 0;
export const TRAP_GLOBAL_OUT_OF_GAS = 1;
export const TRAP_GLOBAL_STACK = 2;
