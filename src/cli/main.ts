/**
 * `wasmvm-tee` command line: dispatches to one module per subcommand (src/cli/<name>.ts).
 * Each subcommand module exports `help` (its --help text), `main(argv) => exit code`, and `helpFor(argv)` when
 * its help depends on the arguments (exec --server, verify --tdx-quote / --nras-response / --gpu-evidence).
 */
import { VERSION } from '../version.ts';

export interface Command {
  readonly summary: string;
  readonly help: string;
  /** The --help text for these arguments, when it depends on them (a subcommand that delegates). */
  helpFor?(argv: readonly string[]): Promise<string> | string;
  main(argv: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  serve: () => import('./serve.ts'),
  exec: () => import('./exec.ts'),
  run: () => import('./run.ts'),
  verify: () => import('./verify.ts'),
  attest: () => import('./attest.ts'),
  measure: () => import('./measure.ts'),
  collateral: () => import('./collateral.ts'),
};

async function usage(): Promise<string> {
  const lines = [`wasmvm-tee ${VERSION}: confidential WebAssembly execution with hardware attestation`, ''];
  lines.push('Usage: wasmvm-tee <command> [options]', '', 'Commands:');
  for (const [name, load] of Object.entries(commands)) {
    const summary = await load().then(
      (c) => c.summary,
      () => '(unavailable)',
    );
    lines.push(`  ${name.padEnd(8)} ${summary}`);
  }
  lines.push('', "Run 'wasmvm-tee <command> --help' for a command's options.");
  return lines.join('\n');
}

export async function cli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(VERSION);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`wasmvm-tee: unknown command '${name}'\n\n${await usage()}`);
    return 2;
  }
  const cmd = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.helpFor ? await cmd.helpFor(rest) : cmd.help);
    return 0;
  }
  return cmd.main(rest);
}

const isMain = process.argv[1] !== undefined && /(?:wasmvm-tee(?:\.js)?|main\.[jt]s)$/.test(process.argv[1]);
if (isMain) {
  cli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`wasmvm-tee: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
