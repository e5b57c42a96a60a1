/**
 * The WebAssembly JS API, for the whole project (engine, host, spec runner, fuzzers, benches): the
 * tsconfig has no DOM lib and @types/node 20 declares no `WebAssembly` namespace. Shapes follow
 * lib.dom.d.ts; only what the project uses is declared.
 */
declare namespace WebAssembly {
  type ImportValue = unknown;
  type Imports = Record<string, Record<string, ImportValue>>;
  type Exports = Record<string, unknown>;
  interface ModuleImportDescriptor {
    module: string;
    name: string;
    kind: string;
  }
  type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'anyfunc' | 'externref' | 'funcref';
  class Module {
    constructor(bytes: BufferSource);
    static exports(m: Module): { name: string; kind: string }[];
    static imports(m: Module): ModuleImportDescriptor[];
  }
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Exports;
  }
  class Memory {
    constructor(d: { initial: number; maximum?: number; shared?: boolean });
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  class Table {
    constructor(d: { element: 'anyfunc' | 'externref'; initial: number; maximum?: number }, value?: unknown);
    readonly length: number;
    get(i: number): unknown;
    set(i: number, v?: unknown): void;
    grow(delta: number, v?: unknown): number;
  }
  class Global {
    constructor(d: { value: ValueType; mutable?: boolean }, v?: unknown);
    value: unknown;
    valueOf(): unknown;
  }
  class CompileError extends Error {}
  class LinkError extends Error {}
  class RuntimeError extends Error {}
  function validate(bytes: BufferSource): boolean;
  function compile(bytes: BufferSource): Promise<Module>;
  function instantiate(
    bytes: BufferSource,
    imports?: Imports,
  ): Promise<{ module: Module; instance: Instance }>;
}
type BufferSource = ArrayBufferView | ArrayBuffer;
