/** FormatError: the error of src/formats (malformed bytes or text in a vendor layout or an encoding). */
import { WasmvmTeeError } from '../util/errors.ts';

/** Codes of src/formats: malformed bytes or text in a vendor layout or an encoding. */
export type FormatErrorCode = 'INVALID_HEX' | 'INVALID_BASE64' | 'INVALID_LENGTH' | 'TRUNCATED' | 'MALFORMED';

/**
 * Input that does not parse as the layout or encoding it claims to be. Vendor layouts subclass it with
 * their own stable codes (SnpFormatError, TdxFormatError, SpdmError, DerError, NvmlFormatError).
 */
export class FormatError<C extends string = FormatErrorCode> extends WasmvmTeeError<C> {}
