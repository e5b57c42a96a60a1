import { existsSync, readFileSync } from 'node:fs';

// src/version.ts and dist/src/version.js both find the package's own package.json.
const candidates = ['../package.json', '../../package.json'].map((p) => new URL(p, import.meta.url));
const file = candidates.find(
  (u) => existsSync(u) && JSON.parse(readFileSync(u, 'utf8')).name === 'wasmvm-tee',
);
/** The package version, from package.json. */
export const VERSION: string = file
  ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version
  : '0.0.0';
