/** Shared helpers for the server tests: an in-process server on an ephemeral port. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecuteRequest, ExecuteResult } from '../../src/engine/types.ts';
import { TeeAttester } from '../../src/server/attester.ts';
import type { Backend, ExecutionEngine } from '../../src/server/backend.ts';
import { createLogger } from '../../src/server/log.ts';
import { type RunningServer, type ServerOptions, startServer } from '../../src/server/server.ts';
import { SimulatedSevSnpProvider } from '../../src/tee/index.ts';

export const FIXTURES = new URL('./fixtures/', import.meta.url);
export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

/** A simulated TEE in a temporary state directory (2048-bit chain for speed). */
export function simulatedAttester(): {
  attester: TeeAttester;
  provider: SimulatedSevSnpProvider;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'wasmvm-server-test-'));
  const provider = new SimulatedSevSnpProvider({ stateDir: dir, rsaBits: 2048, warn: false });
  return {
    attester: new TeeAttester(provider),
    provider,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Engine test double for the limit/shutdown tests only (the end-to-end tests use the real engine):
 * every call waits until released (or aborted), then returns a fixed i32 result, and records the
 * requests it saw (to check that deadlines arrive as AbortSignals).
 */
export class GateEngine implements ExecutionEngine {
  readonly seen: ExecuteRequest[] = [];
  readonly aborted: ExecuteRequest[] = [];
  private waiters: Array<() => void> = [];
  open = false;
  closed = false;
  get waiting(): number {
    return this.waiters.length;
  }
  release(): void {
    this.open = true;
    for (const w of this.waiters.splice(0)) w();
  }
  async execute(req: ExecuteRequest): Promise<ExecuteResult> {
    this.seen.push(req);
    if (!this.open) {
      await new Promise<void>((resolve) => {
        const done = () => resolve();
        this.waiters.push(done);
        req.signal?.addEventListener('abort', () => {
          this.aborted.push(req);
          done();
        });
      });
    }
    return {
      status: req.signal?.aborted ? 'cancelled' : 'ok',
      outputs: req.signal?.aborted ? [] : [{ type: 'i32', value: 42 }],
      bytecodeSha256: '0'.repeat(64),
      mode: req.mode ?? 'interp',
      durationMs: 0,
      cacheHit: false,
    };
  }
  close(): void {
    this.closed = true;
  }
}

export interface TestServer {
  server: RunningServer;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export async function startTestServer(
  backend: Backend,
  opts: Partial<ServerOptions> = {},
  cleanup: () => void = () => {},
): Promise<TestServer> {
  const logs: Record<string, unknown>[] = [];
  const server = await startServer({
    backend,
    port: 0,
    host: '127.0.0.1',
    logger: createLogger('debug', (l) => logs.push(JSON.parse(l))),
    shutdownTimeoutMs: 5000,
    ...opts,
  });
  return {
    server,
    logs,
    async close() {
      await server.close();
      cleanup();
    },
  };
}
