/**
 * The gRPC service (server side) and its typed client. Other rooms (the CLI) import the server
 * through this file; src/verify and src/binding never import it.
 */
export {
  type AttestedTlsOptions,
  certificateSpkiSha256,
  generateAttestedTlsCredentials,
  operatorTlsBinding,
  type TlsCredentials,
  type TlsKeyBinding,
} from './attested-tls.ts';
export {
  buildExecuteRequest,
  checkBinding,
  createWasmvmClient,
  createWasmvmTransport,
  type ExecuteAndVerifyResult,
  type ExecuteInput,
  type ExpectedInputs,
  executeAndVerify,
  expectedInputs,
  PROTOCOLS,
  type Protocol,
  type VerifyOptions,
  type WasmvmClient,
  type WasmvmClientOptions,
} from './client.ts';
export { type ConnectionLimits, defaultConnectionLimits } from './connections.ts';
export { createDefaultBackend, type DefaultBackendOptions } from './default-backend.ts';
export {
  ClientError,
  type ClientErrorCode,
  type ErrorCode,
  ServerConfigError,
  ServiceError,
} from './errors.ts';
export { createLogger, isLogLevel, type Logger, type LogLevel } from './log.ts';
export {
  type AttestedServer,
  attestForSealing,
  attestServer,
  attestTls,
  executeSealedAndVerify,
  type SealedExecuteResult,
  type SealedSession,
  type SealingPolicy,
} from './sealed-client.ts';
export { DEFAULTS, type RunningServer, type ServerOptions, startServer } from './server.ts';
export { AttestedTlsPin, peerSpkiSha256 } from './tls-pin.ts';
export { startTracing, type Tracing, tracingRequested } from './tracing.ts';
export { valueToString } from './values.ts';
