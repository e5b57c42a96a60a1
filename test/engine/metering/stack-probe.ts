/**
 * Child script of stack.test.ts (run with V8 tier flags): instruments a module, recurses until the
 * stack limiter traps and prints the depth reached as JSON on stdout.
 * argv: base64 wasm, stack limit ('default' or a number), export name, argument.
 */
import { instrument } from '../../../src/engine/instrument/index.ts';

const [b64, limitArg, fn, arg] = process.argv.slice(2);
const bytes = new Uint8Array(Buffer.from(b64!, 'base64'));
const stackLimit = limitArg === 'default' ? undefined : Number(limitArg);
const { bytes: out } = instrument(bytes, { gas: false, ...(stackLimit === undefined ? {} : { stackLimit }) });
const { instance } = await WebAssembly.instantiate(out);
const e = instance.exports as Record<string, WebAssembly.Global & ((...a: number[]) => number)>;
let error = '';
for (let round = 0; round < 3; round++) {
  // repeated rounds let the tiering engine optimize the function in the default mode
  e.depth!.value = 0;
  e.__wasmvm_stack!.value = 0;
  e.__wasmvm_trap!.value = 0;
  try {
    e[fn!]!(Number(arg));
  } catch (err) {
    error = err instanceof RangeError ? 'RangeError' : String(err);
  }
}
process.stdout.write(
  JSON.stringify({
    depth: e.depth!.value,
    trap: e.__wasmvm_trap!.value,
    stack: e.__wasmvm_stack!.value,
    error,
  }),
);
