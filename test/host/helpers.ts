/** Test helpers: compile WAT with the npm wabt package, instantiate with the host modules in-process. */
import wabtInit from 'wabt';
import { createHostModules, type HostBridge, type HostModules } from '../../src/host/index.ts';

let wabt: Awaited<ReturnType<typeof wabtInit>> | undefined;

export async function wat(text: string): Promise<Uint8Array> {
  wabt ??= await wabtInit();
  const m = wabt.parseWat('test.wat', text, { bulk_memory: true, mutable_globals: true });
  try {
    return new Uint8Array(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

export interface Guest {
  instance: { exports: Record<string, unknown> };
  host: HostModules;
  memory: { buffer: ArrayBuffer };
}

type WA = {
  Module: new (b: Uint8Array) => object;
  Instance: new (m: object, i: object) => { exports: Record<string, unknown> };
};
const W = (globalThis as unknown as { WebAssembly: WA }).WebAssembly;

export async function instantiate(
  source: string | Uint8Array,
  bridge: HostBridge,
  options: Record<string, unknown> = {},
  names: readonly string[] = ['wasi_snapshot_preview1', 'wasmtime_attestation'],
): Promise<Guest> {
  const bytes = typeof source === 'string' ? await wat(source) : source;
  const host = createHostModules(names, options, bridge);
  const instance = new W.Instance(new W.Module(bytes), host.imports);
  host.attach(instance);
  return { instance, host, memory: instance.exports.memory as { buffer: ArrayBuffer } };
}

/** Read the [u32 LE len][UTF-8 JSON] block at ptr. */
export function readResult(memory: { buffer: ArrayBuffer }, ptr: number): unknown {
  const dv = new DataView(memory.buffer);
  const len = dv.getUint32(ptr, true);
  return JSON.parse(new TextDecoder().decode(new Uint8Array(memory.buffer, ptr + 4, len)));
}

/** A bridge answering from a table, recording calls. */
export function fakeBridge(answers: Record<string, (p: Record<string, unknown>) => unknown>): HostBridge & {
  calls: { method: string; params: Record<string, unknown> }[];
} {
  const calls: { method: string; params: Record<string, unknown> }[] = [];
  return {
    calls,
    call(method, params) {
      calls.push({ method, params: params as Record<string, unknown> });
      const f = answers[method];
      if (!f) throw new Error(`no answer for ${method}`);
      return f(params as Record<string, unknown>);
    },
  };
}

export const okResult = (extra: Record<string, unknown> = {}) => ({
  success: true,
  token: 'tok.en.sig',
  timestamp: 1,
  tee_type: 'AMD SEV-SNP',
  ...extra,
});
