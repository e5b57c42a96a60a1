/**
 * Runs generated modules' probes and records results, traps, gas and memory, for differential
 * comparison (in-process, or in a child process started with a V8 tier flag: see mode-child.ts).
 */
import { createHash } from 'node:crypto';

export interface Call {
  probe: string;
  args: (number | bigint)[];
}
export interface CallOutcome {
  status: 'ok' | 'trap' | 'exhaustion' | 'error';
  /** Result bits (decimal string; floats as raw bits since probes return bits). */
  value?: string;
  message?: string;
  /** `__wasmvm_trap` after the call (instrumented modules only). */
  trapCode?: number;
  /** Gas used (instrumented modules with `__wasmvm_gas` only), decimal string. */
  gasUsed?: string;
  /** SHA-256 of linear memory after the call (hex, first 16 chars). */
  memory?: string;
}

export const UNLIMITED_GAS = (1n << 63n) - 1n;

export function runCall(
  module: WebAssembly.Module,
  call: Call,
  gasLimit: bigint = UNLIMITED_GAS,
): CallOutcome {
  const { exports } = new WebAssembly.Instance(module, {});
  const gas = exports.__wasmvm_gas instanceof WebAssembly.Global ? exports.__wasmvm_gas : undefined;
  const trap = exports.__wasmvm_trap instanceof WebAssembly.Global ? exports.__wasmvm_trap : undefined;
  if (gas) gas.value = gasLimit;
  const out: CallOutcome = { status: 'ok' };
  try {
    if (typeof exports.__wasmvm_start === 'function') (exports.__wasmvm_start as () => void)();
    const v = (exports[call.probe] as (...a: unknown[]) => number | bigint)(...call.args);
    out.value = String(v);
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) out.status = 'trap';
    else if (err instanceof RangeError) out.status = 'exhaustion';
    else out.status = 'error';
    out.message = (err as Error).message;
  }
  if (trap) out.trapCode = Number(trap.value);
  if (gas) out.gasUsed = String(gasLimit - (gas.value as bigint));
  const mem = exports.mem;
  if (mem instanceof WebAssembly.Memory)
    out.memory = createHash('sha256').update(new Uint8Array(mem.buffer)).digest('hex').slice(0, 16);
  return out;
}

export function isNanBits(type: string, v: string): boolean {
  const b = BigInt(v);
  if (type === 'f32') return (Number(BigInt.asUintN(32, b)) & 0x7fffffff) > 0x7f800000;
  if (type === 'f64') return (BigInt.asUintN(64, b) & 0x7fffffffffffffffn) > 0x7ff0000000000000n;
  return false;
}

/** Differences between an original and an instrumented outcome ('' = same). */
export function diffOutcome(
  orig: CallOutcome,
  inst: CallOutcome,
  resultType: string,
  opts: { nanModulo: boolean },
): string {
  if (orig.status !== inst.status)
    return `status ${orig.status} (${orig.message}) vs ${inst.status} (${inst.message})`;
  if (orig.status !== 'ok' && orig.message !== inst.message)
    return `trap message ${orig.message} vs ${inst.message}`;
  if (inst.trapCode !== undefined && inst.trapCode !== 0) return `instrumentation trap code ${inst.trapCode}`;
  if (orig.value !== inst.value) {
    if (!(opts.nanModulo && isNanBits(resultType, orig.value!) && isNanBits(resultType, inst.value!)))
      return `value ${orig.value} vs ${inst.value}`;
  }
  if (orig.memory !== inst.memory) return 'memory contents differ';
  return '';
}
