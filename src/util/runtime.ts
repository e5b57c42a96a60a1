/**
 * Helpers for code that starts other Node processes or worker threads.
 *
 * The project runs either from compiled JavaScript (dist/) or straight from the TypeScript sources
 * through tsx. A child process or worker started from a `.ts` file needs tsx loaded too.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Resolve a sibling module of `base` (an `import.meta.url`) with the same extension (.ts or .js). */
export function siblingModule(base: string, name: string): URL {
  const ext = extname(fileURLToPath(base));
  return new URL(`./${name}${ext}`, base);
}

function hasTsxLoader(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === '--import' || a === '--loader') && argv[i + 1]?.includes('tsx')) return true;
    if ((a.startsWith('--import=') || a.startsWith('--loader=')) && a.includes('tsx')) return true;
  }
  return false;
}

/**
 * execArgv for a child (fork or Worker): this process's execArgv plus `extra` (e.g. V8 flags),
 * plus `--import tsx` when `base` is a `.ts` file and tsx is not already loaded that way.
 */
export function childExecArgv(base: string, extra: readonly string[] = []): string[] {
  const args = [...process.execArgv, ...extra];
  if (extname(fileURLToPath(base)) === '.ts' && !hasTsxLoader(args)) args.unshift('--import', 'tsx');
  return args;
}
