/**
 * The request's arguments checked against the export's parameter types (typed values, or the legacy
 * string form with an optional `TYPE:` prefix).
 */
import { EngineError } from './errors.ts';
import type { ExecuteRequest, ValueType, WasmValue } from './types.ts';
import { checkValue, parseValue } from './values.ts';

export function checkArgs(args: ExecuteRequest['args'], params: ValueType[], fn: string): WasmValue[] {
  if (args === undefined || args === null) args = [];
  if (!Array.isArray(args) && typeof args === 'object' && 'legacy' in args) {
    const legacy = args.legacy;
    if (!Array.isArray(legacy))
      throw new EngineError('INVALID_ARGUMENT', 'legacy args must be an array of strings');
    if (legacy.length !== params.length) {
      throw new EngineError(
        'ARITY_MISMATCH',
        `${fn} expects ${params.length} argument(s) (${params.join(', ') || 'none'}), got ${legacy.length}`,
      );
    }
    return legacy.map((s, i) => {
      // an optional TYPE: prefix (CLI style) must match the parameter's type
      const m = typeof s === 'string' ? /^(i32|i64|f32|f64):(.*)$/s.exec(s) : null;
      if (m && m[1] !== params[i]) {
        throw new EngineError('INVALID_ARGUMENT', `argument ${i}: expected ${params[i]}, got ${m[1]}`);
      }
      return parseValue(params[i]!, m ? m[2]! : s, i);
    });
  }
  if (!Array.isArray(args))
    throw new EngineError('INVALID_ARGUMENT', 'args must be an array of typed values or {legacy}');
  if (args.length !== params.length) {
    throw new EngineError(
      'ARITY_MISMATCH',
      `${fn} expects ${params.length} argument(s) (${params.join(', ') || 'none'}), got ${args.length}`,
    );
  }
  return args.map((a, i) => checkValue(a, params[i]!, i));
}
