/**
 * The service bench's server: `startServer` with the default backend on the simulated TEE, in its own
 * process, so that the bench can run the shipped configuration (guest code in supervised executor
 * processes) beside the engine's opt-in in-process `interp` path (`--interp-in-process`, what the
 * server did before the hostile-input work) in one run; `--claim-signing batched` for batched session-key
 * claim signing (docs/binding.md). Prints `serving on URL` on stderr.
 * Not a server for anything but this benchmark: the in-process path runs untrusted code in the server.
 */
import { parseArgs } from 'node:util';
import { createDefaultBackend, startServer } from '../../src/server/index.ts';

const { values } = parseArgs({
  options: {
    'interp-in-process': { type: 'boolean', default: false },
    'max-concurrency': { type: 'string', default: '64' },
    'claim-signing': { type: 'string', default: 'per-claim' },
    'claim-batch-window-ms': { type: 'string', default: '0' },
  },
});
const backend = await createDefaultBackend({
  teeProvider: 'simulated',
  allowSimulated: true,
  engineOptions: { interpInProcess: values['interp-in-process'] === true },
  ...(values['claim-signing'] === 'batched'
    ? { claimSigning: 'batched' as const, claimBatch: { windowMs: Number(values['claim-batch-window-ms']) } }
    : {}),
});
await backend.attester.warmUp?.();
const server = await startServer({
  backend,
  port: 0,
  host: '127.0.0.1',
  logLevel: 'warn',
  maxConcurrency: Number(values['max-concurrency']),
  maxQueue: 4096,
  // Every bench client comes from 127.0.0.1: the per-address fairness quota (by default half the engine's
  // workers running, 16 waiting) would refuse most calls at concurrency 32 and measure the quota, not the
  // service. The bench lifts it to the server's own limits; test/server covers the quota itself.
  perClient: { maxConcurrency: Number(values['max-concurrency']), maxQueue: 4096 },
});
process.stderr.write(`serving on ${server.url}\n`);
process.on('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
