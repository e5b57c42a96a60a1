/**
 * Room boundaries (docs/architecture.md): a module knows its own room; cross-room imports go through
 * the other room's index.ts. Rooms are the directories directly under src/ (subdirectories such as
 * src/tee/tdx belong to their parent room). Exceptions: src/util (shared helpers), src/gen (generated
 * code) and src/version.ts. src/verify and src/binding never import src/server, and never load src/tee,
 * src/engine or src/host code at run time (type-only imports are erased): the verifier is usable alone.
 */
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const FREE_ROOMS = new Set(['util', 'gen']);
const STANDALONE = new Set(['verify', 'binding']);

interface Import {
  file: string; // relative to the repository root, '/' separators
  spec: string;
  target: string; // resolved, relative to the repository root
  typeOnly: boolean;
  line: number;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return walk(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

const posix = (p: string): string => p.split(sep).join('/');

/** Static imports/re-exports (`import … from`, `export … from`, side-effect imports) and dynamic `import('…')`. */
function importsOf(file: string, text: string): Import[] {
  const out: Import[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/\/\/.*$/gm, '');
  const patterns: [RegExp, (m: RegExpExecArray) => { spec: string; typeOnly: boolean }][] = [
    [
      /\b(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g,
      (m) => ({
        spec: m[4] as string,
        // `import type {…}` / `export type {…}`, or every name marked `type` inside the braces
        typeOnly:
          m[2] !== undefined ||
          (/^\{[^}]*\}$/.test((m[3] ?? '').trim()) &&
            (m[3] ?? '')
              .trim()
              .slice(1, -1)
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
              .every((s) => s.startsWith('type '))),
      }),
    ],
    [/\bimport\s*['"]([^'"]+)['"]/g, (m) => ({ spec: m[1] as string, typeOnly: false })],
    [/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, (m) => ({ spec: m[1] as string, typeOnly: false })],
  ];
  for (const [re, get] of patterns) {
    for (let m = re.exec(code); m; m = re.exec(code)) {
      const { spec, typeOnly } = get(m);
      if (!spec.startsWith('.')) continue;
      const line = code.slice(0, m.index).split('\n').length;
      // an `import('…')` inside a type position (typeof import('…')) is erased too
      const before = code.slice(Math.max(0, m.index - 8), m.index);
      const inType = re.source.includes('\\(') && /typeof\s*$/.test(before);
      const target = posix(relative(ROOT, normalize(join(dirname(file), spec))));
      out.push({ file: posix(relative(ROOT, file)), spec, target, typeOnly: typeOnly || inType, line });
    }
  }
  return out;
}

/** The room of a path under src/ (null for files directly in src/, such as src/version.ts). */
function roomOf(path: string): string | null {
  const parts = path.split('/');
  return parts[0] === 'src' && parts.length > 2 ? (parts[1] as string) : null;
}

/** Why an import breaks the room rules, or null when it is allowed. */
function violation(i: Import): string | null {
  const from = roomOf(i.file);
  const to = roomOf(i.target);
  if (from && STANDALONE.has(from) && to === 'server') return `src/${from} must not import src/server`;
  if (from && STANDALONE.has(from) && to && ['engine', 'host', 'tee'].includes(to) && !i.typeOnly)
    return `src/${from} must not load src/${to} at run time (import type only)`;
  if (from === 'tee' && to === 'verify') return 'src/tee must not import src/verify (build with src/formats)';
  if (from === 'formats' && to && to !== 'formats' && !FREE_ROOMS.has(to))
    return 'src/formats imports no other room (src/util only)';
  if (to === null || from === to || FREE_ROOMS.has(to)) return null;
  if (i.target === `src/${to}/index.ts`) return null;
  return `cross-room import of ${i.target}: go through src/${to}/index.ts`;
}

const files = walk(SRC).filter((f) => !posix(relative(SRC, f)).startsWith('gen/'));
const all = files.flatMap((f) => importsOf(f, readFileSync(f, 'utf8')));

test('the scan sees the source tree', () => {
  assert.ok(files.length > 50, `only ${files.length} files found under src/`);
  // known cross-room imports through an index exist: the scan is not vacuous
  assert.ok(all.some((i) => i.file.startsWith('src/cli/') && i.target === 'src/verify/index.ts'));
  assert.ok(all.some((i) => i.file.startsWith('src/tee/') && i.target === 'src/formats/index.ts'));
});

test('cross-room imports go through the room index.ts', () => {
  const bad = all
    .map((i) => ({ i, why: violation(i) }))
    .filter((x) => x.why !== null)
    .map(({ i, why }) => `${i.file}:${i.line}: '${i.spec}': ${why}`);
  assert.deepEqual(bad, []);
});

test('src/verify and src/binding never import src/server', () => {
  const bad = all.filter((i) => STANDALONE.has(roomOf(i.file) ?? '') && roomOf(i.target) === 'server');
  assert.deepEqual(bad, []);
});

test('the checker flags what it must', () => {
  const imp = (file: string, spec: string, typeOnly = false): Import => ({
    file,
    spec,
    target: posix(normalize(join(dirname(file), spec))),
    typeOnly,
    line: 1,
  });
  // into another room's file, also for types and from a subroom
  assert.ok(violation(imp('src/tee/simulated.ts', '../verify/sev-snp/format.ts')));
  assert.ok(violation(imp('src/tee/tdx/index.ts', '../../verify/tdx/index.ts')));
  assert.ok(violation(imp('src/cli/run.ts', '../engine/types.ts', true)));
  // verifier/binding never reach the server, not even its index, nor load providers
  assert.ok(violation(imp('src/verify/execution.ts', '../server/index.ts', true)));
  assert.ok(violation(imp('src/binding/claim.ts', '../server/client.ts')));
  assert.ok(violation(imp('src/verify/nvidia/local.ts', '../../tee/index.ts')));
  // providers build with src/formats, never with the verifier; formats stands alone
  assert.ok(violation(imp('src/tee/simulated.ts', '../verify/index.ts', true)));
  assert.ok(violation(imp('src/formats/der.ts', '../verify/index.ts', true)));
  assert.equal(violation(imp('src/tee/simulated.ts', '../formats/index.ts')), null);
  assert.equal(violation(imp('src/formats/errors.ts', '../util/errors.ts')), null);
  // allowed
  assert.equal(violation(imp('src/verify/nvidia/local.ts', '../../tee/index.ts', true)), null);
  assert.equal(violation(imp('src/cli/verify.ts', '../verify/index.ts')), null);
  assert.equal(violation(imp('src/tee/tdx/simulated.ts', '../simulated.ts')), null);
  assert.equal(violation(imp('src/server/service.ts', '../gen/wasmvm/v1/wasmvm_pb.ts')), null);
  assert.equal(violation(imp('src/server/service.ts', '../version.ts')), null);
  assert.equal(violation(imp('src/engine/engine.ts', '../util/runtime.ts')), null);
  // the parser: multi-line, type-only, dynamic and re-export forms
  const text = [
    "import {\n  a,\n  type B,\n} from '../x/y.ts';",
    "import type { C } from '../z/w.ts';",
    "import { type D } from '../t/u.ts';",
    "export { e } from '../p/q.ts';",
    "const m = await import('../r/s.ts');",
    "type M = typeof import('../k/l.ts');",
    "// import { f } from '../commented/out.ts';",
  ].join('\n');
  const got = importsOf(join(SRC, 'cli', 'f.ts'), text).map((i) => [i.target, i.typeOnly]);
  assert.deepEqual(
    got.sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    [
      ['src/k/l.ts', true],
      ['src/p/q.ts', false],
      ['src/r/s.ts', false],
      ['src/t/u.ts', true],
      ['src/x/y.ts', false],
      ['src/z/w.ts', true],
    ],
  );
});

test('every package.json export points at a module that loads', async () => {
  // Exports name the built files (dist/X.js with dist/X.d.ts); the test loads their sources (src/X.ts).
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { types: string; default: string }>;
    bin: Record<string, string>;
  };
  const source = (t: { types: string; default: string }) => {
    assert.match(t.default, /^\.\/dist\/.+\.js$/);
    assert.equal(t.types, t.default.replace(/\.js$/, '.d.ts'));
    return join(ROOT, t.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
  };
  for (const [name, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue; // ./package.json
    const mod = (await import(pathToFileURL(source(target)).href)) as Record<string, unknown>;
    assert.ok(Object.keys(mod).length > 0, `export '${name}' (${target.default}) exports nothing`);
  }
  const root = (await import(
    pathToFileURL(source(pkg.exports['.'] as { types: string; default: string })).href
  )) as Record<string, unknown>;
  for (const k of [
    'execute',
    'Engine',
    'verifyExecution',
    'VERSION',
    'engine',
    'verify',
    'binding',
    'formats',
  ])
    assert.ok(k in root, `package entry lacks ${k}`);
  for (const bin of Object.values(pkg.bin)) assert.ok(readFileSync(join(ROOT, bin), 'utf8').length > 0);
});
