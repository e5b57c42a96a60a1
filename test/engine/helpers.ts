import wabtInit from 'wabt';

const wabt = await wabtInit();

/** Compile WAT text to Wasm bytes (wabt from npm: no toolchain needed). */
export function wat(text: string): Uint8Array {
  const m = wabt.parseWat('t.wat', text, { multi_value: true, bulk_memory: true, reference_types: true });
  try {
    return new Uint8Array(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

export const TEST_HOST_URL = new URL('./fixtures/test-host.ts', import.meta.url).href;
