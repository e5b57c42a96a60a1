/**
 * Connection limits (docs/server.md, "Limits"): timeouts for connections that say nothing, send headers
 * or bodies slowly, or idle; caps on connections (= HTTP/2 sessions) per client address and in total,
 * on concurrent streams per session, and on the request-body bytes a client may hold in the server at
 * once; HTTP/2 flow-control windows that bound what a sender can push before the server reads it.
 */
import type * as http2 from 'node:http2';
import type { Socket } from 'node:net';

import { type ConnectionLimits, defaultConnectionLimits } from './defaults.ts';

export { type ConnectionLimits, defaultConnectionLimits };

/** The quota key of a socket: its remote address (IPv4-mapped IPv6 folded to IPv4). */
export function clientKey(sock: Socket | undefined): string {
  const a = sock?.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** Counts connections and held body bytes per client address. */
export class ConnectionGuard {
  private readonly conns = new Map<string, number>();
  private readonly bodyBy = new Map<string, number>();
  private bodyTotal = 0;
  /** Connections refused and requests cut, by reason (metrics). */
  readonly refused = { connections: 0, bodyQuota: 0, bodyTimeout: 0, headersTimeout: 0, idle: 0 };

  constructor(
    readonly limits: ConnectionLimits,
    private readonly onRefuse: (reason: keyof ConnectionGuard['refused']) => void = () => {},
  ) {}

  private count(reason: keyof ConnectionGuard['refused']): void {
    this.refused[reason]++;
    this.onRefuse(reason);
  }

  get bodyBytes(): number {
    return this.bodyTotal;
  }

  /** Admit a new connection (false: over the per-client cap; the caller destroys it). */
  admit(sock: Socket): boolean {
    const key = clientKey(sock);
    const n = this.conns.get(key) ?? 0;
    if (n >= this.limits.maxConnectionsPerClient) {
      this.count('connections');
      return false;
    }
    this.conns.set(key, n + 1);
    sock.once('close', () => {
      const m = (this.conns.get(key) ?? 1) - 1;
      if (m <= 0) this.conns.delete(key);
      else this.conns.set(key, m);
    });
    return true;
  }

  /** A connection must have been handed to an HTTP server within headersTimeoutMs. */
  headersDeadline(sock: Socket): () => void {
    const t = setTimeout(() => {
      this.count('headersTimeout');
      sock.destroy();
    }, this.limits.headersTimeoutMs);
    t.unref();
    return () => clearTimeout(t);
  }

  /** Close an HTTP/2 session after idleTimeoutMs without traffic when no stream is open. */
  watchSession(s: http2.ServerHttp2Session): void {
    s.setLocalWindowSize?.(this.limits.sessionWindowBytes);
    let open = 0;
    s.on('stream', (st: http2.ServerHttp2Stream) => {
      open++;
      st.once('close', () => open--);
    });
    s.setTimeout(this.limits.idleTimeoutMs, () => {
      if (open > 0) return;
      this.count('idle');
      s.close();
      setTimeout(() => s.destroy(), 1_000).unref();
    });
  }

  /**
   * Account `n` body bytes of `client`: false when over the per-client or total quota (the caller cuts
   * the request); `force` admits them anyway (counted). Release with `release(client, n)` when the request is over.
   */
  take(client: string, n: number, force = false): boolean {
    const mine = (this.bodyBy.get(client) ?? 0) + n;
    if (
      !force &&
      (mine > this.limits.maxBodyBytesPerClient || this.bodyTotal + n > this.limits.maxBodyBytesTotal)
    ) {
      this.count('bodyQuota');
      return false;
    }
    this.bodyBy.set(client, mine);
    this.bodyTotal += n;
    return true;
  }

  bodyTimedOut(): void {
    this.count('bodyTimeout');
  }

  release(client: string, n: number): void {
    if (n <= 0) return;
    const m = (this.bodyBy.get(client) ?? n) - n;
    if (m <= 0) this.bodyBy.delete(client);
    else this.bodyBy.set(client, m);
    this.bodyTotal -= n;
  }
}
