/**
 * Byte identity of the instrumentation: every module the repository holds (the .wasm files, every
 * module of the spec scripts under test/data/wasm-spec, the fuzz generator's modules for fixed seeds)
 * is instrumented under every option set the engine and the harnesses use; the sha256 of the outputs
 * (bytes, info, or the error's name/code/message) per option set must equal test/engine/metering/golden.json.
 * A change that alters instrumented bytes on purpose regenerates it: GOLDEN_UPDATE=1.
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CostTable, type InstrumentOptions, instrument } from '../../../src/engine/instrument/index.ts';
import { generateModule } from '../../fuzz/gen.ts';
import { getWabt, ScriptRunner, type Variant, watToBinary } from '../../spec/runner.ts';
import { SPEC_DIR, specFiles } from '../../spec/suite.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const GOLDEN = fileURLToPath(new URL('./golden.json', import.meta.url));

const CUSTOM_TABLE: CostTable = {
  version: 'golden-custom',
  base: 3,
  ops: { call: 70, 'i64.div_s': 200, block: 1, end: 0, 'memory.grow': 7 },
  memoryGrowPerPage: 9,
  bulkMemoryPerByte: 2,
  tablePerElement: 5,
};
const BAD_TABLE = { ...CUSTOM_TABLE, ops: { 'no.such.op': 1 } } as CostTable;

const OPTION_SETS: Record<string, InstrumentOptions> = {
  default: {},
  none: { gas: false, stackLimit: false },
  'none+memcap': { gas: false, stackLimit: false, maxMemoryPages: 16 },
  spec: { gas: {}, canonicalizeNaN: true },
  'engine-metered': { gas: {}, stackLimit: 40_000, canonicalizeNaN: false, maxMemoryPages: 256 },
  'engine-deterministic': { gas: {}, stackLimit: 12_345, canonicalizeNaN: true, maxMemoryPages: 65536 },
  'engine-unmetered-nan': { gas: false, stackLimit: false, canonicalizeNaN: true, maxMemoryPages: 1 },
  'check-every-block': { gas: { checkEveryBlock: true }, stackLimit: 1000, canonicalizeNaN: true },
  'stack-only': { gas: false, stackLimit: 5000 },
  'stack-tiny': { gas: false, stackLimit: 1, canonicalizeNaN: true },
  'gas-only': { gas: {}, stackLimit: false },
  'custom-table': { gas: { costTable: CUSTOM_TABLE }, stackLimit: false, canonicalizeNaN: true },
  'custom-table+stack': { gas: { costTable: CUSTOM_TABLE, checkEveryBlock: true }, stackLimit: 777 },
  'bad-table': { gas: { costTable: BAD_TABLE } },
  'bad-stack': { stackLimit: 0 },
  'bad-memcap': { maxMemoryPages: 70000 },
};

/**
 * The repository's modules the digests were recorded over (pinned: a .wasm file added later, such as a
 * deliberately malformed CLI fixture, must not change the set; add files here only with GOLDEN_UPDATE=1).
 */
const GOLDEN_FILES = [
  'bench/metering/kernels/base64.wasm',
  'bench/metering/kernels/fib.wasm',
  'bench/metering/kernels/keccak.wasm',
  'bench/metering/kernels/loops.wasm',
  'bench/metering/kernels/matmul.wasm',
  'bench/metering/kernels/sieve.wasm',
  'bench/webgpu/matmul.wasm',
  'guest/prebuilt/attest_train_as.wasm',
  'guest/prebuilt/attest_train_c.wasm',
  'guest/prebuilt/attest_train_cpp.wasm',
  'guest/prebuilt/attest_train_rust.wasm',
  'guest/prebuilt/webgpu_example_as.wasm',
  'guest/prebuilt/webgpu_train_cpp.wasm',
  'guest/prebuilt/webgpu_train_rust.wasm',
  'test/binding/fixtures/values.wasm',
  'test/data/webgpu/selftest.wasm',
  'test/fixtures/c/kernels.wasm',
  'test/server/fixtures/arith.wasm',
  'test/server/fixtures/grow.wasm',
  'test/server/fixtures/host.wasm',
  'test/server/fixtures/membomb.wasm',
];

/** Every module a spec script compiles (valid or not), recorded through a variant that changes nothing. */
async function specModules(): Promise<Uint8Array[]> {
  const w = await getWabt();
  const out: Uint8Array[] = [];
  const variant: Variant = {
    name: 'record',
    transform: (b) => {
      out.push(b.slice());
      return b;
    },
    transformAcceptsInvalid: (b) => {
      out.push(b.slice());
      return false;
    },
  };
  for (const f of specFiles()) await new ScriptRunner(w, join(SPEC_DIR, f), variant).run();
  return out;
}

async function gather(): Promise<Uint8Array[]> {
  const mods: Uint8Array[] = [];
  for (const p of GOLDEN_FILES) mods.push(new Uint8Array(readFileSync(join(ROOT, p))));
  mods.push(...(await specModules()));
  const w = await getWabt();
  for (let seed = 1; seed <= 150; seed++) {
    mods.push(watToBinary(w, generateModule(seed).wat));
    mods.push(watToBinary(w, generateModule(seed, { nanSafe: true, functions: 6, maxDepth: 5 }).wat));
  }
  // dedupe, in a stable order
  const byHash = new Map<string, Uint8Array>();
  for (const m of mods) byHash.set(createHash('sha256').update(m).digest('hex'), m);
  return [...byHash.keys()].sort().map((k) => byHash.get(k)!);
}

function outcome(bytes: Uint8Array, opts: InstrumentOptions): string {
  try {
    const r = instrument(bytes, opts);
    return `ok ${createHash('sha256').update(r.bytes).digest('hex')} ${JSON.stringify(r.info)}`;
  } catch (e) {
    const err = e as { name?: string; code?: string; message?: string };
    return `err ${err.name} ${err.code} ${err.message}`;
  }
}

/**
 * Modules of the Wasm 2.0 spec suite that V8 judges by its Wasm version, not by ours: Node 20's V8
 * implements 2.0 and rejects them (assert_malformed / assert_invalid), the V8 of Node 22/24 ships the
 * multi-memory and extended-const / GC rules and accepts them. Eight encode the memory index of
 * memory.size / memory.grow as a multi-byte LEB128 zero (a u32 memidx under multi-memory, a single
 * reserved 0x00 byte in 2.0); three use global.get of a module-defined global in a constant expression.
 * The instrumenter takes V8's verdict on validity (driver.ts), so their outcome depends on the Node
 * version: they are checked apart (below), and the digests cover every other module, on every Node.
 */
const V8_VERSION_DEPENDENT = new Set([
  '1574757b0db48333',
  '1705fe3c26ab0a39',
  '2b1fd5cdc1a748b6',
  '6bcc89147ce94827',
  '909d4aa41a4f6623',
  '96835584e3bf2470',
  'b7c10298925944d8',
  'b9f7376853de86a5',
  'd436e1db078ea8ab',
  'e243a4ae6cfcdb61',
  'eabdad468198fb15',
]);
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const id = (m: Uint8Array) => createHash('sha256').update(m).digest('hex').slice(0, 16);

test('instrumented modules are byte-identical to the golden digests (on every Node)', {
  timeout: 600_000,
}, async () => {
  const all = await gather();
  const mods = all.filter((m) => !V8_VERSION_DEPENDENT.has(id(m)));
  const apart = all.filter((m) => V8_VERSION_DEPENDENT.has(id(m)));
  assert.equal(apart.length, V8_VERSION_DEPENDENT.size, 'every version-dependent module is in the set');
  // Apart: Node 20 refuses them as invalid bytecode; later Nodes instrument them (to a valid module).
  for (const m of apart) {
    const o = outcome(m, {});
    if (NODE_MAJOR <= 20) assert.equal(o, 'err EngineError INVALID_BYTECODE module does not validate', id(m));
    else assert.match(o, /^ok /, id(m));
  }
  const digests: Record<string, string> = { modules: String(mods.length) };
  // GOLDEN_DUMP=file writes every module's outcome per option set (to diff two runs or two Node versions).
  const dump: string[] = [];
  for (const [name, opts] of Object.entries(OPTION_SETS)) {
    const h = createHash('sha256');
    for (const m of mods) {
      const o = outcome(m, opts);
      h.update(`${o}\n`);
      if (process.env.GOLDEN_DUMP) dump.push(`${name} ${id(m)} ${o}`);
    }
    digests[name] = h.digest('hex');
  }
  if (process.env.GOLDEN_DUMP) writeFileSync(process.env.GOLDEN_DUMP, `${dump.join('\n')}\n`);
  if (process.env.GOLDEN_UPDATE === '1') {
    writeFileSync(GOLDEN, `${JSON.stringify(digests, null, 2)}\n`);
    return;
  }
  const want = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, string>;
  assert.deepEqual(digests, want);
});
