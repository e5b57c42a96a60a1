/**
 * Wasm binary format: module reader/writer, instruction decoder/encoder, opcode table, LEB128.
 * Used by the instrumentation passes (src/engine/instrument) and the engine.
 */
export {
  encodeS32,
  encodeS64,
  encodeU32,
  encodeU64,
  Reader,
  WasmFormatError,
  Writer,
} from './bytes.ts';
export type { DecodedBody, Instr } from './code.ts';
export {
  decodeBody,
  decodeInstructions,
  encodeInstr,
  encodeInstructions,
  readConstExpr,
  readImmediates,
  readOpcode,
  WasmFeatureError,
  writeOpcode,
} from './code.ts';
export type {
  Code,
  Custom,
  Data,
  Element,
  Export,
  ExternKind,
  FuncType,
  Global,
  GlobalType,
  Import,
  ImportDesc,
  Limits,
  MemoryType,
  TableType,
  ValType,
  WasmModule,
} from './module.ts';
export {
  funcTypeOf,
  importCount,
  readModule,
  SECTION_ORDER,
  VALTYPE_BYTE,
  valTypeFromByte,
  writeLocals,
  writeModule,
} from './module.ts';
export * from './opcodes.ts';
