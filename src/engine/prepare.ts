/**
 * Preparation of a module before it is compiled: V8 validation, the static limits (static-limits.ts),
 * inspection (exports, imports), instrumentation and the SHA-256 of the result. Pure CPU work on
 * untrusted bytes: the Engine runs it in a worker thread (prepare-worker.ts) for all but small modules,
 * so that the caller's event loop stays free and the deadline can stop it. Internal to the engine.
 */
import { createHash } from 'node:crypto';
import { EngineError } from './errors.ts';
import { capTableMax, inspect, type ModuleInfo, readWasm } from './inspect.ts';
import { COST_TABLE_VERSION, instrument } from './instrument/index.ts';
import { checkStaticLimits } from './static-limits.ts';
import type { Limits } from './types.ts';

export interface PrepareInput {
  bytes: Uint8Array;
  metered: boolean;
  canonicalizeNaN: boolean;
  limits: Limits;
  /** Compute the SHA-256 of `bytes` too (the caller did not have it). */
  hashInput?: boolean;
}

export interface PreparedModule {
  info: ModuleInfo;
  bytes: Uint8Array;
  key: string;
  costTableVersion?: string;
  /** Metered modules: the original start function, to call after loading the gas (docs/metering.md). */
  startExport?: string;
  size: number;
  /** SHA-256 of the input bytes (when hashInput). */
  inputSha256?: string;
}

export function prepareModule(input: PrepareInput): PreparedModule {
  const { bytes, metered, canonicalizeNaN, limits } = input;
  const inputSha256 = input.hashInput ? createHash('sha256').update(bytes).digest('hex') : undefined;
  if (!WebAssembly.validate(bytes)) {
    let why = 'validation failed';
    try {
      // only V8's message is wanted: with lazy validation off this fails in the decoder, before any code
      new WebAssembly.Module(bytes);
    } catch (e) {
      why = (e as Error).message;
    }
    throw new EngineError('INVALID_BYTECODE', `invalid Wasm bytecode: ${why}`);
  }
  const m = readWasm(bytes);
  checkStaticLimits(m, limits);
  const info = inspect(bytes, m);
  for (const mem of info.memories) {
    if (mem.index64) throw new EngineError('UNSUPPORTED_FEATURE', 'memory64 is not supported');
    if (mem.min > limits.maxMemoryPages) {
      throw new EngineError(
        'MEMORY_LIMIT',
        `memory declares ${mem.min} initial pages, above the limit of ${limits.maxMemoryPages} pages`,
      );
    }
  }
  for (const t of info.tables) {
    if (t.min > limits.maxTableElements) {
      throw new EngineError(
        'TABLE_LIMIT',
        `table declares ${t.min} initial elements, above the limit of ${limits.maxTableElements}`,
      );
    }
  }
  let out: Uint8Array;
  let startExport: string | undefined;
  try {
    // every module goes through instrument(): at least the memory cap (maxMemoryPages)
    const r = instrument(bytes, {
      gas: metered ? {} : false,
      stackLimit: metered ? limits.maxStackHeight : false,
      canonicalizeNaN,
      maxMemoryPages: limits.maxMemoryPages,
    });
    out = r.bytes;
    startExport = r.info.startExport;
  } catch (e) {
    if (e instanceof EngineError) throw e;
    const code = (e as { code?: string }).code;
    throw new EngineError(
      code === 'INVALID_BYTECODE' || code === 'UNSUPPORTED_FEATURE' ? code : 'INVALID_BYTECODE',
      `instrumentation failed: ${(e as Error).message}`,
    );
  }
  out = capTableMax(out, limits.maxTableElements);
  const p: PreparedModule = {
    info,
    bytes: out,
    key: createHash('sha256').update(out).digest('hex'),
    size: out.length + bytes.length,
  };
  if (metered) p.costTableVersion = COST_TABLE_VERSION;
  if (startExport) p.startExport = startExport;
  if (inputSha256) p.inputSha256 = inputSha256;
  return p;
}
