/** The playground's one error: bad input in the page (a nonce that is not hex, a value that is not a number, …). */
import { WasmvmTeeError } from '../../src/util/errors.ts';

export type PlaygroundErrorCode = 'BAD_INPUT' | 'NOT_WASM' | 'UNSUPPORTED';

export class PlaygroundError extends WasmvmTeeError<PlaygroundErrorCode> {}
