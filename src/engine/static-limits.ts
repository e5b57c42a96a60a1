/**
 * Static module limits, checked on the decoded module before V8 compiles anything (docs/engine.md,
 * "Static module limits"). Each limit has its own stable EngineError code. The compile-cost estimate
 * weighs what makes V8's compilers slow or memory-hungry (loops, blocks, br_table targets, locals,
 * function count) on top of the code's bytes.
 */
import { Reader, readImmediates, readOpcode, type WasmModule } from '../wasm/index.ts';
import { EngineError } from './errors.ts';
import type { Limits, StaticLimitCode } from './types.ts';

/**
 * Compile-cost weights, in cost units (one unit ≈ one byte of straight-line code). Measured with V8 11.3
 * (Node 20) in TurboFan (multipass, the slowest tier) on the project's 2-core test machine: a loop costs
 * 50-600 µs to compile (and more the more loops one function has: loopsInFunction² / 2 is added per
 * function), a br_table target ~10 µs, while straight-line code compiles at ~10 MB/s. The default cap
 * (32M units) admits 16 MiB of straight-line code, or ~15,000 loops, or ~120,000 br_table targets.
 */
export const COMPILE_COST = Object.freeze({
  byte: 1,
  function: 64,
  local: 4,
  block: 16, // block, if
  loop: 2048,
  brTableTarget: 256,
});

const OP_BLOCK = 0x02;
const OP_LOOP = 0x03;
const OP_IF = 0x04;
const OP_END = 0x0b;
const OP_BR_TABLE = 0x0e;

export interface StaticStats {
  tables: number;
  tableElements: number;
  memories: number;
  globals: number;
  dataSegments: number;
  dataBytes: number;
  elementSegments: number;
  elementItems: number;
  functions: number;
  compileCost: number;
}

function over(code: StaticLimitCode, what: string, value: number, limit: number, key: keyof Limits): never {
  throw new EngineError(code, `module has ${what} ${value}, above the limit of ${limit} (limits.${key})`);
}

/**
 * Check every static limit of `m` (throws EngineError with the limit's code). Returns what it counted.
 * Function bodies are walked once (opcodes and immediates only): linear in the code size.
 */
export function checkStaticLimits(m: WasmModule, limits: Limits): StaticStats {
  const imported = { func: 0, table: 0, memory: 0, global: 0 };
  let tableElements = 0;
  for (const i of m.imports) {
    imported[i.kind]++;
    if (i.kind === 'table') tableElements += i.table.limits.min;
  }
  for (const t of m.tables) tableElements += t.limits.min;
  const tables = imported.table + m.tables.length;
  if (tables > limits.maxTables) over('TOO_MANY_TABLES', 'tables:', tables, limits.maxTables, 'maxTables');
  if (tableElements > limits.maxTotalTableElements) {
    over(
      'TABLE_ELEMENTS_LIMIT',
      'initial table elements in all:',
      tableElements,
      limits.maxTotalTableElements,
      'maxTotalTableElements',
    );
  }
  const memories = imported.memory + m.memories.length;
  if (memories > limits.maxMemories)
    over('TOO_MANY_MEMORIES', 'memories:', memories, limits.maxMemories, 'maxMemories');
  const globals = imported.global + m.globals.length;
  if (globals > limits.maxGlobals)
    over('TOO_MANY_GLOBALS', 'globals:', globals, limits.maxGlobals, 'maxGlobals');
  if (m.datas.length > limits.maxDataSegments) {
    over('DATA_SEGMENT_LIMIT', 'data segments:', m.datas.length, limits.maxDataSegments, 'maxDataSegments');
  }
  let dataBytes = 0;
  for (const d of m.datas) dataBytes += d.data.length;
  if (dataBytes > limits.maxDataBytes)
    over('DATA_SEGMENT_LIMIT', 'data segment bytes:', dataBytes, limits.maxDataBytes, 'maxDataBytes');
  if (m.elements.length > limits.maxElementSegments) {
    over(
      'ELEMENT_SEGMENT_LIMIT',
      'element segments:',
      m.elements.length,
      limits.maxElementSegments,
      'maxElementSegments',
    );
  }
  let elementItems = 0;
  for (const e of m.elements) elementItems += (e.funcs?.length ?? 0) + (e.exprs?.length ?? 0);
  if (elementItems > limits.maxElementItems) {
    over('ELEMENT_SEGMENT_LIMIT', 'element items:', elementItems, limits.maxElementItems, 'maxElementItems');
  }
  const functions = imported.func + m.functions.length;
  if (functions > limits.maxFunctions)
    over('TOO_MANY_FUNCTIONS', 'functions:', functions, limits.maxFunctions, 'maxFunctions');

  let cost = tableElements + elementItems;
  for (let f = 0; f < m.codes.length; f++) {
    const code = m.codes[f]!;
    const body = code.body;
    if (body.length > limits.maxFunctionBodyBytes) {
      throw new EngineError(
        'FUNCTION_BODY_TOO_LARGE',
        `function ${imported.func + f} has a body of ${body.length} bytes, above the limit of ${limits.maxFunctionBodyBytes} (limits.maxFunctionBodyBytes)`,
      );
    }
    let locals = 0;
    for (const [n] of code.locals) locals += n;
    if (locals > limits.maxLocals) {
      throw new EngineError(
        'TOO_MANY_LOCALS',
        `function ${imported.func + f} declares ${locals} locals, above the limit of ${limits.maxLocals} (limits.maxLocals)`,
      );
    }
    cost += COMPILE_COST.function + COMPILE_COST.byte * body.length + COMPILE_COST.local * locals;
    const r = new Reader(body, 0, body.length, code.offset ?? 0);
    let depth = 0;
    let loops = 0;
    while (!r.eof()) {
      const op = readOpcode(r);
      if (op === OP_BR_TABLE) {
        const n = readImmediates(r, op);
        if (n > limits.maxBrTableTargets) {
          throw new EngineError(
            'BR_TABLE_LIMIT',
            `function ${imported.func + f} has a br_table of ${n} targets, above the limit of ${limits.maxBrTableTargets} (limits.maxBrTableTargets)`,
          );
        }
        cost += COMPILE_COST.brTableTarget * (n + 1);
        continue;
      }
      readImmediates(r, op);
      if (op === OP_BLOCK || op === OP_LOOP || op === OP_IF) {
        if (op === OP_LOOP) loops++;
        cost += op === OP_LOOP ? COMPILE_COST.loop : COMPILE_COST.block;
        if (++depth > limits.maxNestingDepth) {
          throw new EngineError(
            'NESTING_LIMIT',
            `function ${imported.func + f} nests blocks deeper than ${limits.maxNestingDepth} (limits.maxNestingDepth)`,
          );
        }
      } else if (op === OP_END) depth--;
    }
    cost += (loops * loops) / 2;
    if (cost > limits.maxCompileCost) break;
  }
  if (cost > limits.maxCompileCost) {
    throw new EngineError(
      'COMPILE_COST_LIMIT',
      `module's estimated compile cost is above the limit of ${limits.maxCompileCost} units (limits.maxCompileCost; docs/engine.md)`,
    );
  }
  return {
    tables,
    tableElements,
    memories,
    globals,
    dataSegments: m.datas.length,
    dataBytes,
    elementSegments: m.elements.length,
    elementItems,
    functions,
    compileCost: cost,
  };
}
