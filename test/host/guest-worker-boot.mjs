// Bootstraps the TypeScript worker (guest-worker.ts) through tsx: a worker thread does not always
// inherit the parent's --import loader hooks (Node 20).
const { register } = await import('tsx/esm/api');
register();
await import('./guest-worker.ts');
