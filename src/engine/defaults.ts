/**
 * The engine's default limits and their ceilings: constants only, light to load (the CLI's help prints
 * them without loading the engine). A second entry of the engine room beside index.ts
 * (docs/architecture.md: a room's `defaults.ts` imports nothing at run time).
 */
import type { Limits } from './types.ts';

/** Default execution limits (see docs/engine.md). */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxBytecodeBytes: 16 * 1024 * 1024,
  maxMemoryPages: 4096, // 256 MiB
  timeoutMs: 10_000,
  maxTableElements: 100_000,
  maxArgs: 1000,
  maxResults: 1000,
  maxOutputBytes: 1024 * 1024,
  maxStackHeight: 40_000, // = instrument's DEFAULT_STACK_LIMIT (docs/metering.md)
  // static module limits (docs/engine.md): generous for compiled C/Rust/AssemblyScript programs,
  // far below what makes V8's compilers or instantiation take seconds or gigabytes
  maxTables: 100,
  maxTotalTableElements: 1_000_000,
  maxMemories: 1,
  maxGlobals: 100_000,
  maxDataSegments: 100_000,
  maxDataBytes: 16 * 1024 * 1024,
  maxElementSegments: 100_000,
  maxElementItems: 1_000_000,
  maxFunctions: 250_000,
  maxFunctionBodyBytes: 2 * 1024 * 1024,
  maxLocals: 10_000,
  maxBrTableTargets: 16_384,
  maxNestingDepth: 1_000,
  maxCompileCost: 32_000_000,
});

/** Hard ceilings a request cannot raise its limits above. */
export const MAX_LIMITS: Readonly<Limits> = Object.freeze({
  maxBytecodeBytes: 64 * 1024 * 1024,
  maxMemoryPages: 65_536,
  timeoutMs: 10 * 60_000,
  maxTableElements: 10_000_000,
  maxArgs: 1000,
  maxResults: 1000,
  maxOutputBytes: 64 * 1024 * 1024,
  // V8 overflowed first at ~508,000-559,000 units in Liftoff on the engine's 4 MiB worker stack
  // (docs/metering.md): a cap of 250,000 keeps a 2x margin in every tier.
  maxStackHeight: 250_000,
  // V8's own implementation limits (src/wasm/wasm-limits.h) where it has one
  maxTables: 100_000,
  maxTotalTableElements: 10_000_000,
  maxMemories: 1,
  maxGlobals: 1_000_000,
  maxDataSegments: 100_000,
  maxDataBytes: 64 * 1024 * 1024,
  maxElementSegments: 10_000_000,
  maxElementItems: 10_000_000,
  maxFunctions: 1_000_000,
  maxFunctionBodyBytes: 7_654_321,
  maxLocals: 50_000,
  maxBrTableTargets: 65_520,
  maxNestingDepth: 100_000,
  maxCompileCost: 256_000_000,
});
