#!/usr/bin/env node
/**
 * The shape of src/ at a glance (docs/architecture.md): imports between rooms, counting value,
 * type-only and dynamic imports alike, and the largest files and functions.
 *
 *   node scripts/layout-report.mjs [--json]
 *
 * Rooms are the directories directly under src/ (src/gen, generated code, is left out).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const posix = (p) => p.split(sep).join('/');

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'gen' && dir === SRC ? [] : walk(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const roomOf = (rel) => {
  const parts = rel.split('/');
  return parts[0] === 'src' && parts.length > 2 ? parts[1] : null;
};

const edges = new Map(); // "from -> to" -> count
const files = [];
const functions = [];
for (const file of walk(SRC)) {
  const rel = posix(relative(ROOT, file));
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  files.push({ file: rel, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) });
  const from = roomOf(rel);
  const note = (spec) => {
    if (!spec.startsWith('.')) return;
    const to = roomOf(posix(relative(ROOT, normalize(join(dirname(file), spec)))));
    if (!from || !to || from === to) return;
    const k = `${from} -> ${to}`;
    edges.set(k, (edges.get(k) ?? 0) + 1);
  };
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) note(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [a] = node.arguments;
      if (a && ts.isStringLiteralLike(a)) note(a.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const lit = node.argument.literal;
      if (ts.isStringLiteral(lit)) note(lit.text);
    }
    const isFn =
      ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isGetAccessor(node);
    if (isFn && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.end).line;
      let name = node.name ? node.name.getText(sf) : '';
      if (!name && node.parent && ts.isVariableDeclaration(node.parent)) name = node.parent.name.getText(sf);
      if (!name && node.parent && ts.isPropertyAssignment(node.parent)) name = node.parent.name.getText(sf);
      functions.push({ at: `${rel}:${start + 1}`, name: name || '(anonymous)', lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

const report = {
  edges: [...edges.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => ({ edge: k, imports: n })),
  largestFiles: files.sort((a, b) => b.lines - a.lines).slice(0, 12),
  largestFunctions: functions.sort((a, b) => b.lines - a.lines).slice(0, 12),
};

if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else {
  console.log('imports between rooms (value, type and dynamic):');
  for (const e of report.edges) console.log(`  ${e.edge.padEnd(22)} ${e.imports}`);
  console.log('\nlargest files (lines):');
  for (const f of report.largestFiles) console.log(`  ${String(f.lines).padStart(5)}  ${f.file}`);
  console.log('\nlargest functions (lines):');
  for (const f of report.largestFunctions)
    console.log(`  ${String(f.lines).padStart(5)}  ${f.name}  ${f.at}`);
}
