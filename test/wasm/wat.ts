/** Test helper: WAT text → binary with the npm `wabt` package (all Wasm 2.0 features on). */
import wabtInit from 'wabt';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabtP: Promise<Wabt> | undefined;

export const WASM2_FEATURES = {
  simd: true,
  bulk_memory: true,
  reference_types: true,
  multi_value: true,
  sign_extension: true,
  sat_float_to_int: true,
  mutable_globals: true,
} as const;

export async function wat(text: string, features: Record<string, boolean> = {}): Promise<Uint8Array> {
  wabtP ??= wabtInit();
  const wabt = await wabtP;
  const mod = wabt.parseWat('test.wat', text, { ...WASM2_FEATURES, ...features });
  try {
    mod.resolveNames();
    return new Uint8Array(mod.toBinary({ write_debug_names: false }).buffer);
  } finally {
    mod.destroy();
  }
}
