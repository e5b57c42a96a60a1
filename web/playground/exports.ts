/**
 * A module's exported functions with their signatures, read in the page by src/wasm (the binary-format
 * reader the engine uses; a leaf with no Node dependency).
 */
import { funcTypeOf, readModule, type ValType } from '../../src/wasm/index.ts';
import { PlaygroundError } from './errors.ts';

export interface ExportedFunction {
  name: string;
  params: ValType[];
  results: ValType[];
  /** Callable through Execute: every parameter and result is a number type (i32, i64, f32, f64). */
  callable: boolean;
}

const NUMBER_TYPES: readonly ValType[] = ['i32', 'i64', 'f32', 'f64'];

export function listFunctionExports(bytes: Uint8Array): ExportedFunction[] {
  let m: ReturnType<typeof readModule>;
  try {
    m = readModule(bytes);
  } catch (e) {
    throw new PlaygroundError(
      'NOT_WASM',
      `not a WebAssembly module this service runs: ${(e as Error).message}`,
    );
  }
  return m.exports
    .filter((e) => e.kind === 'func')
    .map((e) => {
      const t = funcTypeOf(m, e.index);
      const callable = [...t.params, ...t.results].every((v) => NUMBER_TYPES.includes(v));
      return { name: e.name, params: [...t.params], results: [...t.results], callable };
    });
}

/** `fib(i32) -> i64`, as the page shows it. */
export function signatureText(f: ExportedFunction): string {
  const res =
    f.results.length === 0
      ? ''
      : ` -> ${f.results.length === 1 ? f.results[0] : `(${f.results.join(', ')})`}`;
  return `${f.name}(${f.params.join(', ')})${res}`;
}
