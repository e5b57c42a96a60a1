/**
 * Structural types for the WebAssembly JS API (tsconfig has no DOM lib and @types/node 20 declares no
 * `WebAssembly` namespace). The real objects satisfy these shapes.
 */
// biome-ignore lint/suspicious/noEmptyInterface: opaque handle
export interface WasmModuleObject {}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
export interface WasmGlobal {
  value: unknown;
}
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}
export type WasmImportObject = Record<string, Record<string, unknown>>;
export interface WasmDescriptor {
  module: string;
  name: string;
  kind: string;
}

interface Api {
  Module: {
    new (bytes: Uint8Array): WasmModuleObject;
    imports(m: WasmModuleObject): WasmDescriptor[];
    exports(m: WasmModuleObject): { name: string; kind: string }[];
  };
  Instance: new (m: WasmModuleObject, imports?: WasmImportObject) => WasmInstance;
  compile(bytes: Uint8Array): Promise<WasmModuleObject>;
  validate(bytes: Uint8Array): boolean;
  Memory: new (d: { initial: number; maximum?: number }) => WasmMemory;
  RuntimeError: new (message?: string) => Error;
  LinkError: new (message?: string) => Error;
  CompileError: new (message?: string) => Error;
}

export const WA = (globalThis as unknown as { WebAssembly: Api }).WebAssembly;
