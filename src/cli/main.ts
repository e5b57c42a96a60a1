/**
 * `wasmvm-tee` command line: dispatches to one module per subcommand (src/cli/<name>.ts).
 * Each subcommand module exports `help` (its --help text), `main(argv) => exit code`, and `helpFor(argv)` when
 * its help depends on the arguments (exec --server, verify --tdx-quote / --nras-response / --gpu-evidence).
 */
import { VERSION } from '../version.ts';
import { EXIT, EXIT_TABLE } from './exit-codes.ts';

export interface Command {
  readonly summary: string;
  readonly help: string;
  /** The --help text for these arguments, when it depends on them (a subcommand that delegates). */
  helpFor?(argv: readonly string[]): Promise<string> | string;
  main(argv: string[]): Promise<number>;
}

/**
 * The verbs. Each one's code loads only when it runs (or prints its own --help): the top-level usage
 * reads the summaries here, so `wasmvm-tee --help` loads no server, engine or verifier code.
 * test/cli/help.test.ts checks that each summary equals the module's own `summary`.
 */
export const commands: Record<string, { readonly summary: string; load(): Promise<Command> }> = {
  serve: {
    summary: 'serve the WASMVMTeeService API (gRPC, gRPC-Web, Connect) on one port',
    load: () => import('./serve.ts'),
  },
  exec: {
    summary: 'run a Wasm export locally (or on a server with --server)',
    load: () => import('./exec.ts'),
  },
  run: {
    summary: 'run a WASI module locally with the attestation imports (like wasmtime run)',
    load: () => import('./run.ts'),
  },
  seal: {
    summary: "seal a file to a run's attested key (the data owner's side of run --sealed-input)",
    load: () => import('./seal.ts'),
  },
  verify: {
    summary: 'verify attestation evidence or a saved Execute response offline',
    load: () => import('./verify.ts'),
  },
  'verify-token': {
    summary: 'verify a Microsoft Azure Attestation (MAA) token offline',
    load: () => import('./verify-token.ts'),
  },
  attest: {
    summary: 'print fresh local attestation evidence (or the simulated root)',
    load: () => import('./attest.ts'),
  },
  measure: {
    summary: 'compute the expected SEV-SNP MEASUREMENT or TDX MRTD of a VM image',
    load: () => import('./measure.ts'),
  },
  inspect: {
    summary: "list a module's imports and exports with their signatures",
    load: () => import('./inspect.ts'),
  },
  collateral: {
    summary:
      'gather vendor collateral (AMD KDS, Intel PCS, NVIDIA RIMs and OCSP) into a bundle for offline verification',
    load: () => import('./collateral.ts'),
  },
};

function usage(): string {
  const lines = [`wasmvm-tee ${VERSION}: confidential WebAssembly execution with hardware attestation`, ''];
  lines.push('Usage: wasmvm-tee <command> [options]', '', 'Commands:');
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(width)} ${c.summary}`);
  lines.push('', "Run 'wasmvm-tee <command> --help' for a command's options.", '', EXIT_TABLE);
  return lines.join('\n');
}

export async function cli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === '-v') {
    console.log(VERSION);
    return EXIT.OK;
  }
  const entry = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!entry) {
    console.error(`wasmvm-tee: unknown command '${name}'\n\n${usage()}`);
    return EXIT.USAGE;
  }
  const cmd = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.helpFor ? await cmd.helpFor(rest) : cmd.help);
    return EXIT.OK;
  }
  return cmd.main(rest);
}

/** `cli`, with anything it throws (a bug, an unexpected host failure) printed and mapped to EXIT.INTERNAL. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    return await cli(argv);
  } catch (err) {
    // not a usage, input, transport or guest outcome (each verb returns those): an internal error
    console.error(`wasmvm-tee: internal error: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.INTERNAL;
  }
}

const isMain = process.argv[1] !== undefined && /(?:wasmvm-tee(?:\.js)?|main\.[jt]s)$/.test(process.argv[1]);
if (isMain) {
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
