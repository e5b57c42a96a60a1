/**
 * Concurrency limit for executions, fair between clients.
 * - At most `max` executions run at once and at most `maxQueue` wait for a slot in all.
 * - Per client (its address, or an authenticated identity where there is one): at most
 *   `perClient.maxConcurrency` running and `perClient.maxQueue` waiting. Past a quota the request is
 *   rejected at once with CLIENT_QUOTA (RESOURCE_EXHAUSTED) and a retry hint; past the global queue
 *   with TOO_BUSY.
 * - A freed slot goes to the waiting clients in turn (round robin), not first come first served, so a
 *   client with many queued requests cannot starve one with a single request.
 * A waiting request whose signal aborts (client deadline/cancel) leaves the queue.
 */
import { ServerConfigError, ServiceError } from './errors.ts';

export interface ClientQuota {
  /** Executions one client may run at once (default: half of max, at least 1). */
  maxConcurrency: number;
  /** Executions one client may have waiting (default 16). */
  maxQueue: number;
}

interface Waiter {
  client: string;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Retry hint given with a rejection: about one typical execution (bounded). */
const RETRY_HINT_MS = 100;

export class Limiter {
  private active = 0;
  private waitingCount = 0;
  /** Waiters per client, in client arrival order (Map iteration order = the round-robin turn). */
  private readonly waiting = new Map<string, Waiter[]>();
  private readonly runningBy = new Map<string, number>();
  readonly perClient: ClientQuota;

  constructor(
    readonly max: number,
    readonly maxQueue: number,
    perClient?: Partial<ClientQuota>,
  ) {
    if (!(max >= 1)) throw new ServerConfigError('INVALID_CONFIG', 'max concurrency must be >= 1');
    if (!(maxQueue >= 0)) throw new ServerConfigError('INVALID_CONFIG', 'max queue must be >= 0');
    this.perClient = {
      maxConcurrency: Math.max(1, perClient?.maxConcurrency ?? Math.ceil(max / 2)),
      maxQueue: Math.max(0, perClient?.maxQueue ?? Math.min(16, maxQueue)),
    };
  }

  get running(): number {
    return this.active;
  }
  get queued(): number {
    return this.waitingCount;
  }

  /** Running + waiting executions of one client. */
  load(client: string): { running: number; queued: number } {
    return { running: this.runningBy.get(client) ?? 0, queued: this.waiting.get(client)?.length ?? 0 };
  }

  /** Take a slot for `client`; returns its release function (call exactly once). */
  async acquire(signal?: AbortSignal, client = ''): Promise<() => void> {
    const mine = this.runningBy.get(client) ?? 0;
    if (this.active < this.max && mine < this.perClient.maxConcurrency && this.waitingCount === 0) {
      this.take(client);
      return this.releaser(client);
    }
    const queue = this.waiting.get(client);
    if (this.waitingCount >= this.maxQueue) {
      throw new ServiceError(
        'TOO_BUSY',
        `server busy: ${this.active} executions running and ${this.waitingCount} queued (limits ${this.max}/${this.maxQueue}); retry after ${RETRY_HINT_MS} ms`,
        RETRY_HINT_MS,
      );
    }
    if ((queue?.length ?? 0) >= this.perClient.maxQueue) {
      throw new ServiceError(
        'CLIENT_QUOTA',
        `client quota reached: ${mine} executions running and ${queue?.length ?? 0} queued for this client (limits ${this.perClient.maxConcurrency}/${this.perClient.maxQueue}); retry after ${RETRY_HINT_MS} ms`,
        RETRY_HINT_MS,
      );
    }
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const entry: Waiter = {
        client,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        const q = this.waiting.get(client);
        const i = q ? q.indexOf(entry) : -1;
        if (i >= 0) {
          q!.splice(i, 1);
          this.waitingCount--;
          if (q!.length === 0) this.waiting.delete(client);
        }
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const q = this.waiting.get(client) ?? [];
      if (q.length === 0) this.waiting.set(client, q);
      q.push(entry);
      this.waitingCount++;
      this.dispatch();
    });
    return this.releaser(client);
  }

  private take(client: string): void {
    this.active++;
    this.runningBy.set(client, (this.runningBy.get(client) ?? 0) + 1);
  }

  /** Hand free slots to waiting clients in turn, skipping clients at their concurrency quota. */
  private dispatch(): void {
    while (this.active < this.max && this.waitingCount > 0) {
      let picked: Waiter | undefined;
      for (const [client, q] of this.waiting) {
        if ((this.runningBy.get(client) ?? 0) >= this.perClient.maxConcurrency) continue;
        picked = q.shift();
        this.waiting.delete(client);
        // the client goes to the back of the turn order
        if (q.length > 0) this.waiting.set(client, q);
        break;
      }
      if (!picked) return;
      this.waitingCount--;
      this.take(picked.client);
      picked.resolve();
    }
  }

  private releaser(client: string): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      const n = (this.runningBy.get(client) ?? 1) - 1;
      if (n <= 0) this.runningBy.delete(client);
      else this.runningBy.set(client, n);
      this.dispatch();
    };
  }
}
