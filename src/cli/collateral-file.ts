/**
 * An offline collateral bundle named on the command line (`run --collateral`, `serve --collateral`):
 * read (bounded) and parsed when the verb runs, so `--help` and argument errors load no verifier. A file
 * that cannot be read or is not a bundle is a BAD_INPUT usage error (exit 2) naming the flag and file.
 */
import type { CollateralBundle } from '../verify/index.ts';
import { readFileBounded } from './read-bounded.ts';
import { UsageError } from './usage.ts';

/** The largest bundle file read (as `verify --tdx-quote --collateral`). */
export const MAX_COLLATERAL_BUNDLE_BYTES = 16 * 1024 * 1024;

export async function loadCollateralBundleFile(
  path: string,
  flag = '--collateral',
): Promise<CollateralBundle> {
  let text: string;
  try {
    const r = readFileBounded(path, MAX_COLLATERAL_BUNDLE_BYTES);
    if ('tooLarge' in r)
      throw new UsageError(
        'BAD_INPUT',
        `${flag}: ${path} is ${r.tooLarge} bytes, over ${MAX_COLLATERAL_BUNDLE_BYTES}`,
      );
    text = Buffer.from(r.bytes).toString('utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(
      'BAD_INPUT',
      `${flag}: cannot read the collateral bundle ${path}: ${(e as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError('BAD_INPUT', `${flag}: ${path} is not JSON: ${(e as Error).message}`);
  }
  const { parseCollateralBundle } = await import('../verify/index.ts');
  try {
    return parseCollateralBundle(json);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UsageError(
      'BAD_INPUT',
      `${flag}: ${path} is not a collateral bundle ('wasmvm-tee collateral fetch'): ${code ? `${code}: ` : ''}${(e as Error).message}`,
    );
  }
}
