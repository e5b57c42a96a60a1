/**
 * Minimal structural types for the WebAssembly JS API. The project's tsconfig has no DOM lib and
 * @types/node 20 declares no `WebAssembly` namespace, so the host room uses these local shapes
 * (the real WebAssembly.Instance / Memory / Module objects satisfy them).
 */

export interface WasmMemoryLike {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(delta: number): number;
}

export interface WasmInstanceLike {
  readonly exports: Record<string, unknown>;
}

/** An import object: module name → field name → value (functions here). */
export type WasmImports = Record<string, Record<string, unknown>>;

export interface WasmImportDescriptor {
  module: string;
  name: string;
  kind: string;
}

interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number }) => WasmMemoryLike;
  Module: {
    new (bytes: Uint8Array): object;
    imports(m: object): WasmImportDescriptor[];
  };
  Instance: new (m: object, imports?: WasmImports) => WasmInstanceLike;
}

/** The runtime WebAssembly object, typed with the shapes above. */
export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export function isMemory(x: unknown): x is WasmMemoryLike {
  return x instanceof (WA.Memory as unknown as new (...a: never[]) => object);
}

export function isModule(x: unknown): x is object {
  return x instanceof (WA.Module as unknown as new (...a: never[]) => object);
}
