/**
 * The house rules of src/ (docs/architecture.md), read from the TypeScript syntax tree so that no
 * import form escapes: value, type-only, re-export, dynamic `import()`, `typeof import()` in types,
 * and `new URL('../room/x.js', import.meta.url)` (how workers are loaded).
 *
 * 1. Rooms are the directories directly under src/. Data flows one way; the arrows in FORBIDDEN never
 *    appear, whatever the kind of import (a type import still couples the rooms' code).
 * 2. Cross-room imports go through the other room's index.ts (src/util and src/gen are open).
 * 3. One error hierarchy: every error class in src/ extends WasmvmTeeError (src/util/errors.ts), and
 *    nothing throws a bare Error/TypeError/RangeError/SyntaxError or a non-error value.
 */
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const FREE_ROOMS = new Set(['util', 'gen']);
const ROOMS = ['binding', 'cli', 'engine', 'formats', 'host', 'server', 'tee', 'util', 'verify', 'wasm'];

/** from → rooms it must never import (any kind of import). Leaves import nothing but util. */
const LEAF = ROOMS.filter((r) => r !== 'util');
const FORBIDDEN: Record<string, readonly string[]> = {
  verify: ['tee', 'server', 'engine', 'host', 'cli'],
  tee: ['verify', 'server', 'engine', 'host', 'cli'],
  binding: ['engine', 'tee', 'server', 'host', 'verify', 'cli'],
  engine: ['server', 'cli'],
  host: ['server', 'cli'],
  server: ['cli'],
  formats: LEAF.filter((r) => r !== 'formats'),
  wasm: LEAF.filter((r) => r !== 'wasm'),
  util: LEAF,
};

type Kind = 'value' | 'type' | 'dynamic' | 'url';
interface Import {
  file: string; // relative to the repository root, '/' separators
  spec: string;
  target: string; // resolved, relative to the repository root
  kind: Kind;
  line: number;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return walk(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const posix = (p: string): string => p.split(sep).join('/');

function parse(file: string, text: string): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

/** Every relative module reference of a file, with its kind. */
function importsOf(file: string, text: string): Import[] {
  const sf = parse(file, text);
  const out: Import[] = [];
  const add = (spec: string, kind: Kind, node: ts.Node) => {
    if (!spec.startsWith('.')) return;
    const target = posix(relative(ROOT, normalize(join(dirname(file), spec))));
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    out.push({ file: posix(relative(ROOT, file)), spec, target, kind, line });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause;
      const typeOnly =
        c !== undefined &&
        (c.isTypeOnly ||
          (c.name === undefined &&
            c.namedBindings !== undefined &&
            ts.isNamedImports(c.namedBindings) &&
            c.namedBindings.elements.length > 0 &&
            c.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(n.moduleSpecifier.text, typeOnly ? 'type' : 'value', n);
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      const typeOnly =
        n.isTypeOnly ||
        (n.exportClause !== undefined &&
          ts.isNamedExports(n.exportClause) &&
          n.exportClause.elements.length > 0 &&
          n.exportClause.elements.every((e) => e.isTypeOnly));
      add(n.moduleSpecifier.text, typeOnly ? 'type' : 'value', n);
    } else if (
      ts.isImportEqualsDeclaration(n) &&
      ts.isExternalModuleReference(n.moduleReference) &&
      ts.isStringLiteral(n.moduleReference.expression)
    ) {
      add(n.moduleReference.expression.text, n.isTypeOnly ? 'type' : 'value', n);
    } else if (ts.isImportTypeNode(n)) {
      const a = n.argument;
      if (ts.isLiteralTypeNode(a) && ts.isStringLiteral(a.literal)) add(a.literal.text, 'type', n);
    } else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const a = n.arguments[0];
      if (a && ts.isStringLiteralLike(a)) add(a.text, 'dynamic', n);
      else if (a && ts.isTemplateExpression(a)) add(a.head.text, 'dynamic', n); // import(`../room/${x}`)
    } else if (
      ts.isNewExpression(n) &&
      ts.isIdentifier(n.expression) &&
      n.expression.text === 'URL' &&
      n.arguments?.[0] &&
      ts.isStringLiteralLike(n.arguments[0]) &&
      n.arguments[1]?.getText(sf) === 'import.meta.url'
    ) {
      add(n.arguments[0].text, 'url', n);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** The room of a path under src/ (null for files directly in src/, such as src/version.ts). */
function roomOf(path: string): string | null {
  const parts = path.split('/');
  return parts[0] === 'src' && parts.length > 2 ? (parts[1] as string) : null;
}

/** Why an import breaks the room rules, or null when it is allowed. */
function violation(i: Pick<Import, 'file' | 'target' | 'kind'>): string | null {
  const from = roomOf(i.file);
  const to = roomOf(i.target);
  if (from === null && to === null) return null;
  if (from === null) return null; // src/index.ts, src/version.ts: the package's front door
  if (to === null) {
    // src/version.ts and friends are leaves everyone may read; src/index.ts is the front door only
    return i.target === 'src/index.ts' ? `src/${from} must not import the package entry src/index.ts` : null;
  }
  if (from === to) return null;
  if (FORBIDDEN[from]?.includes(to)) return `src/${from} must not import src/${to} (${i.kind} import)`;
  if (FREE_ROOMS.has(to)) return null;
  if (i.kind === 'url') return null; // a worker entry file is loaded by path, not through an index
  if (i.target === `src/${to}/index.ts`) return null;
  // A room's constants (defaults.ts: limits, ports, levels) are its second entry: light to load.
  if (i.target === `src/${to}/defaults.ts`) return null;
  return `cross-room import of ${i.target}: go through src/${to}/index.ts`;
}

const files = walk(SRC).filter((f) => !posix(relative(SRC, f)).startsWith('gen/'));
const texts = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
const all = files.flatMap((f) => importsOf(f, texts.get(f) as string));

test('the scan sees the source tree and every room', () => {
  assert.ok(files.length > 100, `only ${files.length} files found under src/`);
  for (const r of ROOMS)
    assert.ok(
      files.some((f) => roomOf(posix(relative(ROOT, f))) === r),
      `no src/${r}`,
    );
  // known imports exist: the scan is not vacuous
  assert.ok(all.some((i) => i.file.startsWith('src/cli/') && i.target === 'src/verify/index.ts'));
  assert.ok(all.some((i) => i.file.startsWith('src/tee/') && i.target === 'src/formats/index.ts'));
  assert.ok(all.some((i) => i.kind === 'type'));
  assert.ok(all.some((i) => i.kind === 'dynamic'));
});

test('no forbidden arrow between rooms, and cross-room imports go through index.ts', () => {
  const bad = all
    .map((i) => ({ i, why: violation(i) }))
    .filter((x) => x.why !== null)
    .map(({ i, why }) => `${i.file}:${i.line}: '${i.spec}': ${why}`);
  assert.deepEqual(bad, []);
});

test("a room's defaults.ts loads nothing at run time (constants for --help and argument checks)", () => {
  const defaults = files
    .map((f) => posix(relative(ROOT, f)))
    .filter((f) => /^src\/[^/]+\/defaults\.ts$/.test(f));
  assert.ok(defaults.includes('src/server/defaults.ts') && defaults.includes('src/engine/defaults.ts'));
  const heavy = all
    .filter((i) => defaults.includes(i.file) && i.kind !== 'type')
    .filter((i) => !i.target.startsWith('src/util/') && !/\/defaults\.ts$/.test(i.target))
    .map((i) => `${i.file}:${i.line}: ${i.spec}`);
  assert.deepEqual(heavy, []);
});

test('every verb loads its rooms only when it runs: --help loads the CLI, util, wasm and defaults.ts only', () => {
  const staticImports = new Map<string, string[]>();
  for (const i of all)
    if (i.kind === 'value') staticImports.set(i.file, [...(staticImports.get(i.file) ?? []), i.target]);
  const closure = (start: string): Set<string> => {
    const seen = new Set<string>();
    const todo = [start];
    while (todo.length > 0) {
      const f = todo.pop() as string;
      if (seen.has(f)) continue;
      seen.add(f);
      todo.push(...(staticImports.get(f) ?? []));
    }
    return seen;
  };
  const light = (f: string) =>
    f.startsWith('src/cli/') ||
    f.startsWith('src/util/') ||
    f.startsWith('src/wasm/') || // a leaf: the binary reader `inspect` runs on, importing util only
    /^src\/[^/]+\/defaults\.ts$/.test(f) ||
    f === 'src/version.ts';
  const verbs = ['serve', 'exec', 'run', 'verify', 'attest', 'measure', 'inspect', 'collateral'];
  const heavy = verbs.flatMap((v) =>
    [...closure(`src/cli/${v}.ts`)].filter((f) => !light(f)).map((f) => `${v}: ${f}`),
  );
  assert.deepEqual(heavy, []);
  assert.ok(closure('src/cli/serve.ts').has('src/server/defaults.ts'), 'the closure follows imports');
});

test('the checker flags what it must', () => {
  const imp = (file: string, spec: string, kind: Kind = 'value') => ({
    file,
    kind,
    target: posix(normalize(join(dirname(file), spec))),
  });
  // forbidden arrows, whatever the import kind, also through an index
  assert.ok(violation(imp('src/tee/simulated.ts', '../verify/index.ts')));
  assert.ok(violation(imp('src/tee/tdx/index.ts', '../../verify/index.ts', 'type')));
  assert.ok(violation(imp('src/verify/nvidia/local.ts', '../../tee/index.ts', 'type')));
  assert.ok(violation(imp('src/verify/execution.ts', '../engine/index.ts', 'dynamic')));
  assert.ok(violation(imp('src/binding/claim.ts', '../engine/index.ts', 'type')));
  assert.ok(violation(imp('src/engine/engine.ts', '../server/index.ts', 'dynamic')));
  assert.ok(violation(imp('src/formats/tdx/quote.ts', '../../verify/index.ts', 'type')));
  assert.ok(violation(imp('src/wasm/module.ts', '../engine/index.ts', 'type')));
  assert.ok(violation(imp('src/util/errors.ts', '../formats/index.ts')));
  assert.ok(violation(imp('src/server/server.ts', '../cli/index.ts', 'url')));
  assert.ok(violation(imp('src/tee/x.ts', '../index.ts')));
  // into another room's inner file
  assert.ok(violation(imp('src/cli/run.ts', '../engine/types.ts', 'type')));
  assert.ok(violation(imp('src/server/service.ts', '../verify/sev-snp/verify.ts')));
  // allowed
  assert.equal(violation(imp('src/tee/simulated.ts', '../formats/index.ts')), null);
  assert.equal(violation(imp('src/verify/sev-snp/verify.ts', '../../formats/index.ts')), null);
  assert.equal(violation(imp('src/verify/execution.ts', '../binding/index.ts')), null);
  assert.equal(violation(imp('src/engine/engine.ts', '../host/index.ts', 'dynamic')), null);
  assert.equal(violation(imp('src/engine/pool.ts', '../host/worker-entry.js', 'url')), null);
  assert.equal(violation(imp('src/cli/verify.ts', '../verify/index.ts')), null);
  assert.equal(violation(imp('src/tee/tdx/simulated.ts', '../simulated.ts')), null);
  assert.equal(violation(imp('src/server/service.ts', '../gen/wasmvm/v1/wasmvm_pb.ts')), null);
  assert.equal(violation(imp('src/server/service.ts', '../version.ts')), null);
  assert.equal(violation(imp('src/formats/der.ts', '../util/errors.ts')), null);
  // the parser: every import form, with its kind; comments and strings are not imports
  const text = [
    "import {\n  a,\n  type B,\n} from '../x/y.ts';",
    "import type { C } from '../z/w.ts';",
    "import { type D } from '../t/u.ts';",
    "export { e } from '../p/q.ts';",
    "export type { F } from '../f/g.ts';",
    "import '../side/effect.ts';",
    "const m = await import('../r/s.ts');",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the parser's input is a template literal
    'const n = await import(`../tpl/${"x"}.ts`);',
    "type M = typeof import('../k/l.ts');",
    "type N = import('../n/o.ts').N;",
    "const w = new URL('../wk/entry.js', import.meta.url);",
    "// import { f } from '../commented/out.ts';",
    'const s = "import { g } from \'../in/string.ts\'";',
  ].join('\n');
  const got = importsOf(join(SRC, 'cli', 'f.ts'), text)
    .map((i) => `${i.target} ${i.kind}`)
    .sort();
  assert.deepEqual(got, [
    'src/f/g.ts type',
    'src/k/l.ts type',
    'src/n/o.ts type',
    'src/p/q.ts value',
    'src/r/s.ts dynamic',
    'src/side/effect.ts value',
    'src/t/u.ts type',
    'src/tpl dynamic',
    'src/wk/entry.js url',
    'src/x/y.ts value',
    'src/z/w.ts type',
  ]);
});

// ---------------------------------------------------------------------------------------------
// One error hierarchy

interface ClassInfo {
  name: string;
  base: string | null;
  where: string;
}

function classesOf(file: string, text: string): ClassInfo[] {
  const sf = parse(file, text);
  const out: ClassInfo[] = [];
  const visit = (n: ts.Node): void => {
    if ((ts.isClassDeclaration(n) || ts.isClassExpression(n)) && n.name) {
      const ext = n.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0];
      const base = ext ? ext.expression.getText(sf).replace(/^.*\./, '') : null;
      const line = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
      out.push({ name: n.name.text, base, where: `${posix(relative(ROOT, file))}:${line}` });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

const BUILTIN_ERRORS = new Set([
  'Error',
  'TypeError',
  'RangeError',
  'SyntaxError',
  'ReferenceError',
  'EvalError',
  'URIError',
  'AggregateError',
]);

/** `new Error(…)`, `Error(…)` and friends, and `throw` of a literal: each with file:line. */
function bareThrowsOf(file: string, text: string): string[] {
  const sf = parse(file, text);
  const out: string[] = [];
  const at = (n: ts.Node) =>
    `${posix(relative(ROOT, file))}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
  const visit = (n: ts.Node): void => {
    if (
      (ts.isNewExpression(n) || ts.isCallExpression(n)) &&
      ts.isIdentifier(n.expression) &&
      BUILTIN_ERRORS.has(n.expression.text)
    )
      out.push(`${at(n)}: ${n.getText(sf).slice(0, 80)}`);
    if (
      ts.isThrowStatement(n) &&
      (ts.isStringLiteralLike(n.expression) ||
        ts.isNumericLiteral(n.expression) ||
        ts.isTemplateExpression(n.expression) ||
        ts.isObjectLiteralExpression(n.expression))
    )
      out.push(`${at(n)}: throws a non-error value`);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

const classes = files.flatMap((f) => classesOf(f, texts.get(f) as string));

test('every error class extends WasmvmTeeError', () => {
  const byName = new Map<string, ClassInfo[]>();
  for (const c of classes) byName.set(c.name, [...(byName.get(c.name) ?? []), c]);
  const reaches = (c: ClassInfo, seen = new Set<string>()): boolean => {
    if (c.name === 'WasmvmTeeError') return true;
    if (c.base === null || seen.has(c.name)) return false;
    if (c.base === 'WasmvmTeeError') return true;
    const next = byName.get(c.base);
    if (!next) return false; // a built-in (Error, …) or a foreign class
    seen.add(c.name);
    return next.every((b) => reaches(b, seen));
  };
  const isErrorClass = (c: ClassInfo, seen = new Set<string>()): boolean => {
    if (/Error$|Exception$|Exit$/.test(c.name) || (c.base !== null && BUILTIN_ERRORS.has(c.base)))
      return true;
    if (c.base === null || seen.has(c.name)) return false;
    seen.add(c.name);
    return (byName.get(c.base) ?? []).some((b) => isErrorClass(b, seen));
  };
  const errors = classes.filter((c) => c.name !== 'WasmvmTeeError' && isErrorClass(c));
  assert.ok(errors.length >= 10, `only ${errors.length} error classes found`);
  const bad = errors.filter((c) => !reaches(c)).map((c) => `${c.where}: ${c.name} extends ${c.base}`);
  assert.deepEqual(bad, []);
  // one class per name: three PolicyErrors were three meanings of one word
  const dup = [...byName].filter(([n, cs]) => errors.some((e) => e.name === n) && cs.length > 1);
  assert.deepEqual(
    dup.map(([n, cs]) => `${n}: ${cs.map((c) => c.where).join(', ')}`),
    [],
  );
});

test('nothing in src/ throws a bare built-in error or a non-error value', () => {
  const bad = files.flatMap((f) => bareThrowsOf(f, texts.get(f) as string));
  assert.deepEqual(bad, []);
  // the scanner sees what it must
  const probe = join(SRC, 'x', 'probe.ts');
  assert.equal(bareThrowsOf(probe, "throw new Error('x');").length, 1);
  assert.equal(bareThrowsOf(probe, "throw new RangeError('x');").length, 1);
  assert.equal(bareThrowsOf(probe, "Promise.reject(TypeError('x'));").length, 1);
  assert.equal(bareThrowsOf(probe, "throw 'x';").length, 1);
  assert.equal(bareThrowsOf(probe, "throw new EngineError('TRAP', 'x');").length, 0);
  assert.equal(bareThrowsOf(probe, "// throw new Error('x')\nconst s = 'new Error(1)';").length, 0);
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

test('test/ mirrors src/: every folder is a room or one of the cross-cutting suites', () => {
  const CROSS = new Set(['spec', 'fuzz', 'data', 'fixtures', 'deploy', 'package-consumer', 'web']);
  const dirs = readdirSync(join(ROOT, 'test'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  const stray = dirs.filter((d) => !ROOMS.includes(d) && !CROSS.has(d));
  assert.deepEqual(
    stray,
    [],
    `test folders that are neither a room nor listed in docs/architecture.md: ${stray}`,
  );
  const looseTests = readdirSync(join(ROOT, 'test')).filter((n) => n.endsWith('.test.ts'));
  assert.deepEqual(looseTests.sort(), ['architecture.test.ts', 'package.test.ts', 'smoke.test.ts']);
  // Vendor tests sit under the room they test: providers under tee/, verifiers under verify/.
  for (const vendor of ['sev-snp', 'tdx', 'nvidia']) {
    assert.ok(
      readdirSync(join(ROOT, 'test', 'tee', vendor)).some((n) => n.endsWith('.test.ts')),
      vendor,
    );
    assert.ok(
      readdirSync(join(ROOT, 'test', 'verify', vendor)).some((n) => n.endsWith('.test.ts')),
      vendor,
    );
  }
});
