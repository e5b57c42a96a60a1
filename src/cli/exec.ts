/**
 * `wasmvm-tee exec`: run one export of a Wasm module locally through the engine (or remotely with --server,
 * handled by exec-remote.ts).
 */
import { readFile } from 'node:fs/promises';
import { isGasLimit } from '../binding/defaults.ts';
import type { ExecuteRequest, ExecutionMode, WasmValue } from '../engine/index.ts';
import { EXIT, EXIT_TABLE, exitForStatus } from './exit-codes.ts';
import { intOption, parseArgs, reportUsage, UsageError } from './usage.ts';

export const summary = 'run a Wasm export locally (or on a server with --server)';

export const help = `Usage: wasmvm-tee exec --wasm FILE --fn NAME [--arg [TYPE:]VALUE ...] [options]

Runs one exported function and prints its results, the status, gas used and duration.

Options:
  --wasm FILE          the module (binary .wasm)
  --fn NAME            the exported function to call
  --arg [TYPE:]VALUE   an argument, in order; TYPE is i32|i64|f32|f64 (e.g. i32:5, f64:-1.5, f32:nan:0x1,
                       i64:0xffffffffffffffff). Without TYPE the value is parsed by the export's parameter type.
  --mode MODE          interp (default: V8 default tiering) | singlepass (Liftoff only) | multipass (TurboFan only)
  --gas N              gas limit (metered execution; out_of_gas past it)
  --meter              count gas without a limit
  --timeout-ms N       wall-clock deadline (default 10000)
  --max-memory-pages N linear memory cap in 64 KiB pages (default 4096)
  --json               print one JSON object (i64 as decimal strings, floats with their bits)
  --server URL         run on a wasmvm-tee server instead (see 'wasmvm-tee exec --server URL --help')

${EXIT_TABLE}`;

interface Parsed {
  wasm: string;
  fn: string;
  args: string[];
  mode: ExecutionMode;
  gas?: bigint;
  meter: boolean;
  timeoutMs?: number;
  maxMemoryPages?: number;
  json: boolean;
}

function parseArgv(argv: string[]): Parsed {
  const { values: v } = parseArgs(argv, {
    wasm: { type: 'string' },
    fn: { type: 'string' },
    arg: { type: 'string', multiple: true },
    mode: { type: 'string' },
    gas: { type: 'string' },
    meter: { type: 'boolean' },
    'timeout-ms': { type: 'string' },
    'max-memory-pages': { type: 'string' },
    json: { type: 'boolean' },
  });
  const mode = v.mode ?? 'interp';
  if (mode !== 'interp' && mode !== 'singlepass' && mode !== 'multipass')
    throw new UsageError('USAGE', `unknown mode ${mode}`);
  if (v.gas !== undefined && !(/^[0-9]+$/.test(v.gas) && isGasLimit(BigInt(v.gas))))
    throw new UsageError(
      'USAGE',
      '--gas must be an integer in 1..2^63-1 (--meter counts gas without a limit)',
    );
  if (!v.wasm) throw new UsageError('USAGE', '--wasm is required');
  if (!v.fn) throw new UsageError('USAGE', '--fn is required');
  const p: Parsed = { wasm: v.wasm, fn: v.fn, args: v.arg ?? [], mode, meter: !!v.meter, json: !!v.json };
  if (v.gas !== undefined) p.gas = BigInt(v.gas);
  const timeoutMs = intOption(v['timeout-ms'], '--timeout-ms');
  if (timeoutMs !== undefined) p.timeoutMs = timeoutMs;
  const maxMemoryPages = intOption(v['max-memory-pages'], '--max-memory-pages');
  if (maxMemoryPages !== undefined) p.maxMemoryPages = maxMemoryPages;
  return p;
}

/** `exec --server …` is handled by exec-remote.ts. */
function isRemote(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--server' || a.startsWith('--server='));
}

/** The --help text for these arguments: exec-remote.ts's with --server, else this one. */
export async function helpFor(argv: readonly string[]): Promise<string> {
  return isRemote(argv) ? (await import('./exec-remote.ts')).help : help;
}

export async function main(argv: string[]): Promise<number> {
  if (isRemote(argv)) return (await import('./exec-remote.ts')).main(argv);
  let p: Parsed;
  try {
    p = parseArgv(argv);
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('exec', e, console.error, help);
    throw e;
  }
  let bytecode: Uint8Array;
  try {
    bytecode = new Uint8Array(await readFile(p.wasm));
  } catch (e) {
    console.error(`wasmvm-tee exec: cannot read ${p.wasm}: ${(e as Error).message}`);
    return EXIT.USAGE;
  }
  // The engine loads only when the verb runs (--help and usage errors stay fast).
  const { bitsHex, closeDefaultEngine, EngineError, encodeJsonValue, execute, formatValue } = await import(
    '../engine/index.ts'
  );
  const floatBits = (v: WasmValue) => (v.type === 'f32' || v.type === 'f64' ? ` (${bitsHex(v)})` : '');
  try {
    // Args go as legacy strings: the engine parses each by the export's parameter type, and checks an
    // explicit TYPE: prefix against it.
    const req: ExecuteRequest = { bytecode, fn: p.fn, args: { legacy: p.args }, mode: p.mode };
    if (p.gas !== undefined) req.gasLimit = p.gas;
    if (p.meter) req.meter = true;
    const limits: ExecuteRequest['limits'] = {};
    if (p.timeoutMs !== undefined) limits.timeoutMs = p.timeoutMs;
    if (p.maxMemoryPages !== undefined) limits.maxMemoryPages = p.maxMemoryPages;
    req.limits = limits;
    const r = await execute(req);
    if (p.json) {
      const out: Record<string, unknown> = {
        status: r.status,
        outputs: r.outputs.map(encodeJsonValue),
        mode: r.mode,
        bytecodeSha256: r.bytecodeSha256,
        durationMs: Number(r.durationMs.toFixed(3)),
        cacheHit: r.cacheHit,
      };
      if (r.message !== undefined) out.message = r.message;
      if (r.exitCode !== undefined) out.exitCode = r.exitCode;
      if (r.gasUsed !== undefined) out.gasUsed = r.gasUsed.toString();
      if (r.costTableVersion !== undefined) out.costTableVersion = r.costTableVersion;
      console.log(JSON.stringify(out, null, 2));
    } else {
      for (const v of r.outputs) console.log(`${v.type} ${formatValue(v)}${floatBits(v)}`);
      const gas = r.gasUsed !== undefined ? `  gas ${r.gasUsed}` : '';
      const msg = r.status !== 'ok' && r.message ? `: ${r.message}` : '';
      console.error(`status ${r.status}${msg}  mode ${r.mode}${gas}  ${r.durationMs.toFixed(2)} ms`);
    }
    return exitForStatus(r.status);
  } catch (e) {
    if (e instanceof EngineError) {
      if (p.json) console.log(JSON.stringify({ error: { code: e.code, message: e.message } }, null, 2));
      console.error(`wasmvm-tee exec: ${e.code}: ${e.message}`);
      return EXIT.USAGE;
    }
    throw e;
  } finally {
    await closeDefaultEngine();
  }
}
