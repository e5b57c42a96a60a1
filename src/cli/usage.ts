/**
 * The one command-line convention of every verb: `parseArgs` (node:util's, with our messages) and the
 * one `UsageError` (code USAGE: a bad command line; BAD_INPUT: an input file that cannot be read or
 * parsed). A verb prints a UsageError with `reportUsage` and exits EXIT.USAGE (2, src/cli/exit-codes.ts).
 */
import { parseArgs as nodeParseArgs, type ParseArgsConfig } from 'node:util';
import { WasmvmTeeError } from '../util/errors.ts';
import { EXIT } from './exit-codes.ts';

export type UsageErrorCode = 'USAGE' | 'BAD_INPUT';

/** A bad command line (USAGE) or unreadable input (BAD_INPUT): the verb exits 2. */
export class UsageError extends WasmvmTeeError<UsageErrorCode> {}

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options, P extends boolean> = ReturnType<
  typeof nodeParseArgs<{ args: string[]; options: O; strict: true; allowPositionals: P }>
>;

/**
 * node:util parseArgs, strict, with two differences every verb shares: an option's value may start with
 * '-' (`--arg -1`, `--nonce --x` takes '--x'), and its errors are UsageErrors with short messages
 * ("unknown option '--x'", "--gas needs a value", "--json takes no value", "unexpected argument 'x'").
 */
export function parseArgs<const O extends Options, P extends boolean = false>(
  argv: readonly string[],
  options: O,
  allowPositionals?: P,
): Parsed<O, P> {
  const args = joinValues(argv, options);
  try {
    return nodeParseArgs({
      args,
      options,
      strict: true,
      allowPositionals: (allowPositionals ?? false) as P,
    }) as Parsed<O, P>;
  } catch (e) {
    throw usageFromNode(e);
  }
}

/** `--name value` → `--name=value` for string options (and `-x value` for their short forms). */
function joinValues(argv: readonly string[], options: Options): string[] {
  const short = new Map<string, string>();
  for (const [name, o] of Object.entries(options)) if (o.short) short.set(o.short, name);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const name =
      a.startsWith('--') && !a.includes('=') ? a.slice(2) : /^-[^-]$/.test(a) ? short.get(a[1]!) : undefined;
    if (
      name !== undefined &&
      Object.hasOwn(options, name) &&
      options[name]!.type === 'string' &&
      i + 1 < argv.length
    ) {
      out.push(`--${name}=${argv[++i]}`);
    } else out.push(a);
  }
  return out;
}

function usageFromNode(e: unknown): unknown {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) return e;
  const msg = (e as Error).message;
  const quoted = /'([^']*)'/.exec(msg)?.[1] ?? '';
  const option = quoted.replace(/ <value>$/, '');
  let text = msg.split('\n')[0]!;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') text = `unknown option '${option}'`;
  else if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') text = `unexpected argument '${option}'`;
  else if (/argument missing/.test(msg)) text = `${option} needs a value`;
  else if (/does not take an argument/.test(msg)) text = `${option} takes no value`;
  return new UsageError('USAGE', text, { cause: e });
}

/** A non-negative integer option (digits only), optionally in min..max; undefined when absent. */
export function intOption(
  v: string | undefined,
  flag: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max)
    throw new UsageError(
      'USAGE',
      `${flag}: expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`}, got '${v}'`,
    );
  return Number(v);
}

/**
 * Print a UsageError as `wasmvm-tee VERB: message` (with the verb's help after a USAGE error when
 * `help` is given, else a hint to run --help) and return EXIT.USAGE.
 */
export function reportUsage(verb: string, e: UsageError, err: (s: string) => void, help?: string): number {
  if (e.code === 'BAD_INPUT') err(`wasmvm-tee ${verb}: ${e.message}`);
  else if (help !== undefined) err(`wasmvm-tee ${verb}: ${e.message}\n\n${help}`);
  else err(`wasmvm-tee ${verb}: ${e.message}\nRun 'wasmvm-tee ${verb} --help' for the options.`);
  return EXIT.USAGE;
}
