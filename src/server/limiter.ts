/**
 * Concurrency limit for executions: at most `max` run at once, at most `maxQueue` wait for a slot;
 * past that a request is rejected at once (TOO_BUSY → RESOURCE_EXHAUSTED) instead of piling up.
 * A waiting request whose signal aborts (client deadline/cancel) leaves the queue.
 */
import { ServiceError } from './errors.ts';

export class Limiter {
  private active = 0;
  private readonly waiting: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];

  constructor(
    readonly max: number,
    readonly maxQueue: number,
  ) {
    if (!(max >= 1)) throw new RangeError('max concurrency must be >= 1');
    if (!(maxQueue >= 0)) throw new RangeError('max queue must be >= 0');
  }

  get running(): number {
    return this.active;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /** Take a slot; returns its release function (call exactly once). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.active < this.max) {
      this.active++;
      return this.releaser();
    }
    if (this.waiting.length >= this.maxQueue) {
      throw new ServiceError(
        'TOO_BUSY',
        `server busy: ${this.active} executions running and ${this.waiting.length} queued (limits ${this.max}/${this.maxQueue})`,
      );
    }
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const entry = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next)
        next.resolve(); // the slot passes on: active stays the same
      else this.active--;
    };
  }
}
