#!/usr/bin/env node
// Entry point of the `wasmvm-tee` command: runs the TypeScript sources through tsx, so a fresh clone
// works after `npm install` alone. Child processes and workers load tsx the same way
// (src/util/runtime.ts).
const { register } = await import('tsx/esm/api');
register();
await import('../src/cli/main.ts');
