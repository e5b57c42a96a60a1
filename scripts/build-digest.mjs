#!/usr/bin/env node
// Prints the build digest (src/version-digest.ts, version 1) of an unpacked package or image:
//   node scripts/build-digest.mjs [PACKAGE_DIR]     (default: this checkout's dist/)
// It imports the same function from the given package's dist/, so the definition cannot drift.
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = resolve(process.argv[2] ?? new URL('..', import.meta.url).pathname);
const { computeBuildDigest } = await import(pathToFileURL(join(dir, 'dist', 'version-digest.js')).href);
const d = await computeBuildDigest(join(dir, 'dist'), join(dir, 'package.json'));
console.log(`${d.digest} ${d.kind} ${d.files} files`);
