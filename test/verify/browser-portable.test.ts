/**
 * The code a browser loads: src/verify/browser.ts bundled for the browser (esbuild, platform 'browser', the
 * platform substitution) must build, and nothing it pulls in from src/ may import node:* or use Buffer.
 * Every offending file is listed at once, with the offending lines.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { build } from 'esbuild';
import { platformPlugin } from '../../scripts/esbuild-platform.mjs';

/** Source text without comments and string/template contents that could hide the word. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

test('the browser entry bundles for browsers with no node:* import and no Buffer in src/', async () => {
  const r = await build({
    entryPoints: ['src/verify/browser.ts'],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
    plugins: [platformPlugin],
  }).catch((e: { errors?: { text: string; location?: { file: string; lineText: string } | null }[] }) => e);
  if ('errors' in r && r.errors && r.errors.length > 0 && !('metafile' in r)) {
    const lines = r.errors.map((e) => `${e.location?.file ?? '?'}: ${e.text}`);
    assert.fail(
      `the browser bundle does not build (${lines.length} errors):\n${[...new Set(lines)].join('\n')}`,
    );
  }
  const meta = (r as { metafile: { inputs: Record<string, unknown> } }).metafile;
  const offenders: string[] = [];
  for (const file of Object.keys(meta.inputs)) {
    if (!file.startsWith('src/')) continue;
    const lines = code(readFileSync(file, 'utf8')).split('\n');
    const bad = lines
      .map((l, i) => [i + 1, l] as const)
      .filter(([, l]) => /\bBuffer\b|['"]node:/.test(l))
      .map(([n, l]) => `  ${file}:${n}: ${l.trim()}`);
    offenders.push(...bad);
  }
  assert.deepEqual(offenders, [], `browser-loaded code uses Node:\n${offenders.join('\n')}`);
});
