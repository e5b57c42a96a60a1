/**
 * The gas cost table (versioned; the version is reported with every metered execution and bound
 * into the attested claim). See docs/metering.md for the rationale of each class.
 */
import { OP_BY_NAME, OP_NAME, OP_VALID, OPCODE_KEYS } from '../../wasm/index.ts';
import { EngineError } from '../errors.ts';

export interface CostTable {
  /** Version string reported as `costTableVersion`. Change it whenever any cost changes. */
  readonly version: string;
  /** Cost of every instruction not listed in `ops`. */
  readonly base: number;
  /** Per-instruction overrides by mnemonic (e.g. 'call', 'i64.div_s', 'block'). */
  readonly ops: Readonly<Record<string, number>>;
  /** memory.grow: charged per requested page (the i32 delta operand), at run time. */
  readonly memoryGrowPerPage: number;
  /** memory.fill / memory.copy / memory.init: charged per byte (the length operand), at run time. */
  readonly bulkMemoryPerByte: number;
  /** table.grow / table.fill / table.copy / table.init: charged per element, at run time. */
  readonly tablePerElement: number;
}

export const COST_TABLE_VERSION = 'wasmvm-gas-v1';

/**
 * Default cost table, version `wasmvm-gas-v1`:
 * - 1 per instruction;
 * - 0 for the structural markers that generate no code: block, loop, else, end;
 * - call 5, call_indirect 10 (frame setup, signature check);
 * - memory.grow 100 + 1024 per page requested; memory.fill/copy/init 1 + 1 per byte;
 *   table.grow/fill/copy/init 1 + 1 per element.
 */
export const DEFAULT_COST_TABLE: CostTable = Object.freeze({
  version: COST_TABLE_VERSION,
  base: 1,
  ops: Object.freeze({
    block: 0,
    loop: 0,
    else: 0,
    end: 0,
    call: 5,
    call_indirect: 10,
    'memory.grow': 100,
  }),
  memoryGrowPerPage: 1024,
  bulkMemoryPerByte: 1,
  tablePerElement: 1,
});

export interface CompiledCosts {
  table: CostTable;
  /** Static cost per opcode key. */
  op: Float64Array;
}

const cache = new WeakMap<CostTable, CompiledCosts>();

function checkInt(name: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new EngineError(
      'INVALID_ARGUMENT',
      `cost table: ${name} must be an integer in [0, ${max}], got ${String(v)}`,
    );
  }
  return v;
}

/** Validates a cost table and precomputes per-opcode costs. Throws EngineError INVALID_ARGUMENT on a bad table. */
export function compileCostTable(table: CostTable): CompiledCosts {
  const hit = cache.get(table);
  if (hit) return hit;
  if (typeof table.version !== 'string' || table.version.length === 0 || table.version.length > 64)
    throw new EngineError(
      'INVALID_ARGUMENT',
      'cost table: version must be a non-empty string of at most 64 characters',
    );
  const base = checkInt('base', table.base, 1_000_000);
  checkInt('memoryGrowPerPage', table.memoryGrowPerPage, 1 << 20);
  checkInt('bulkMemoryPerByte', table.bulkMemoryPerByte, 1 << 20);
  checkInt('tablePerElement', table.tablePerElement, 1 << 20);
  const op = new Float64Array(OPCODE_KEYS);
  for (let k = 0; k < OPCODE_KEYS; k++) if (OP_VALID[k]) op[k] = base;
  for (const [name, v] of Object.entries(table.ops ?? {})) {
    const key = OP_BY_NAME.get(name);
    if (key === undefined)
      throw new EngineError('INVALID_ARGUMENT', `cost table: unknown instruction '${name}'`);
    op[key] = checkInt(`ops['${name}']`, v, 1_000_000);
  }
  if (
    table.version === COST_TABLE_VERSION &&
    table !== DEFAULT_COST_TABLE &&
    !sameCosts(op, table, compileCostTable(DEFAULT_COST_TABLE))
  ) {
    throw new EngineError(
      'INVALID_ARGUMENT',
      `cost table: version '${COST_TABLE_VERSION}' is reserved for the default table`,
    );
  }
  const out = { table, op };
  cache.set(table, out);
  return out;
}

function sameCosts(op: Float64Array, t: CostTable, d: CompiledCosts): boolean {
  for (let k = 0; k < OPCODE_KEYS; k++) if (op[k] !== d.op[k]) return false;
  return (
    t.memoryGrowPerPage === d.table.memoryGrowPerPage &&
    t.bulkMemoryPerByte === d.table.bulkMemoryPerByte &&
    t.tablePerElement === d.table.tablePerElement
  );
}

/** The full static cost list of a table, by mnemonic (documentation, tests). */
export function costListing(table: CostTable = DEFAULT_COST_TABLE): Record<string, number> {
  const c = compileCostTable(table);
  const out: Record<string, number> = {};
  for (let k = 0; k < OPCODE_KEYS; k++) if (OP_VALID[k]) out[OP_NAME[k]!] = c.op[k]!;
  return out;
}
