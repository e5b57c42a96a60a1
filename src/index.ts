/**
 * wasmvm-tee as a library (package entry "."): the engine, the binding (claim, REPORT_DATA, envelope),
 * the vendor formats (SEV-SNP, TDX, SPDM layouts and encodings) and the offline verifier, each as a
 * namespace, plus the most used entry points at the top level.
 * Subpath entries: "wasmvm-tee/engine", "wasmvm-tee/verify", "wasmvm-tee/binding", "wasmvm-tee/formats",
 * "wasmvm-tee/client".
 */
export * as binding from './binding/index.ts';
export * as engine from './engine/index.ts';
export { closeDefaultEngine, Engine, execute } from './engine/index.ts';
export * as formats from './formats/index.ts';
export { isWasmvmTeeError, WasmvmTeeError } from './util/errors.ts';
export * as verify from './verify/index.ts';
export { type Verdict, type VerifyExecutionOptions, verifyExecution } from './verify/index.ts';
export { VERSION } from './version.ts';
