/** Helpers for the metering tests: instrument + instantiate + run with a gas limit. */
import { type InstrumentOptions, instrument } from '../../../src/engine/instrument/index.ts';
import { wat } from '../../wasm/wat.ts';

export interface Run {
  value: unknown;
  error?: Error;
  gasUsed: bigint;
  remaining: bigint;
  trap: number;
}

export interface Loaded {
  exports: Record<string, unknown>;
  info: ReturnType<typeof instrument>['info'];
  bytes: Uint8Array;
  /** Runs an export with `limit` gas and returns the value and the gas used (clamped to the limit). */
  run(name: string, args?: unknown[], limit?: bigint): Run;
}

export async function load(
  text: string,
  opts: InstrumentOptions = {},
  imports: WebAssembly.Imports = {},
): Promise<Loaded> {
  const { bytes, info } = instrument(await wat(text), opts);
  const { instance } = await WebAssembly.instantiate(bytes, imports);
  const ex = instance.exports as Record<string, unknown>;
  const g = (n: string) => ex[n] as WebAssembly.Global | undefined;
  return {
    exports: ex,
    info,
    bytes,
    run(name, args = [], limit = 1_000_000n) {
      const gas = g('__wasmvm_gas');
      if (gas) gas.value = limit;
      const trapG = g('__wasmvm_trap');
      if (trapG) trapG.value = 0;
      const st = g('__wasmvm_stack');
      if (st) st.value = 0;
      let value: unknown;
      let error: Error | undefined;
      try {
        value = (ex[name] as (...a: unknown[]) => unknown)(...args);
      } catch (e) {
        error = e as Error;
      }
      const remaining = gas ? (gas.value as bigint) : 0n;
      let gasUsed = limit - remaining;
      if (gasUsed > limit) gasUsed = limit;
      return { value, error, gasUsed, remaining, trap: trapG ? (trapG.value as number) : 0 };
    },
  };
}
