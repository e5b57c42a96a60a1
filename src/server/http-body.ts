/**
 * Request bodies on the HTTP layer, before the RPC layer reads them: the per-client and total body
 * quota, the body deadline and whole envelopes for enveloped protocols (drainInsteadOfReset), and the early answer to an oversized Connect unary
 * call over HTTP/1.1 (tooLargeConnectUnary / rejectTooLarge).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Http2ServerRequest, type Http2ServerResponse, constants as http2constants } from 'node:http2';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type ConnectionGuard, clientKey } from './connections.ts';
import { assembleEnvelopes, isEnvelopedContentType } from './envelope-assembler.ts';
import { connectError } from './errors.ts';
import type { Logger } from './log.ts';
import type { ServerMetrics } from './metrics.ts';

export type NodeReq = IncomingMessage | Http2ServerRequest;
export type NodeRes = ServerResponse | Http2ServerResponse;

/**
 * When the RPC layer stops reading a body early (message too large), its async iterator would destroy
 * the request, i.e. reset the connection (HTTP/1.1) or the stream (HTTP/2) while the client is still
 * uploading, and the client would see a reset instead of the error. Iterate without destroying, and discard the rest of
 * the body once the response is sent (up to 16× the limit; bigger uploads are cut).
 */
export function drainInsteadOfReset(req: NodeReq, res: NodeRes, max: number, guard: ConnectionGuard): void {
  // Body guard: the bytes a client holds in the server are accounted (per client and in total, released
  // when the response is over), and the whole body must arrive within bodyTimeoutMs. Past either, reading
  // fails with BODY_QUOTA / BODY_TIMEOUT (the RPC layer answers with that code) and the rest is cut.
  const client = clientKey(req.socket as Socket);
  let held = 0;
  let cut = false;
  let timer: NodeJS.Timeout | undefined;
  // The timer only fails a read that is still waiting for the body (the RPC layer may stop reading at the
  // end of its message without seeing the stream's end).
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      if (req.complete) return;
      reject(
        connectError(
          'BODY_TIMEOUT',
          `request body not received within ${guard.limits.bodyTimeoutMs} ms (limits: docs/server.md)`,
        ),
      );
    }, guard.limits.bodyTimeoutMs);
  });
  timedOut.catch(() => {});
  req.once('end', () => clearTimeout(timer));
  // (an HTTP/2 compatibility response emits 'close' only when cut short, 'finish' when complete)
  const over = () => {
    clearTimeout(timer);
    guard.release(client, held);
    held = 0;
    // a cut request's unread rest is discarded (its stream reset), so it cannot hold flow-control windows
    if (cut && !req.complete) req.destroy();
  };
  res.once('finish', over);
  res.once('close', over);
  // HTTP/2: a server may end a request the client is still sending once its complete response is out,
  // with RST_STREAM(NO_ERROR) (RFC 9113 §8.1). Node does so itself only when nothing read the body;
  // here something always did, so a client that never ends its body (answered BODY_TIMEOUT, or a
  // message too large) would keep the stream, its body quota and its session open. Node's
  // compatibility response always sends trailers (possibly empty) on 'wantTrailers'; the reset is
  // queued after them, and what the client had already sent is discarded.
  const stream = (res as Partial<Http2ServerResponse>).stream;
  stream?.once('wantTrailers', () =>
    setImmediate(() => {
      if (req.complete || stream.closed || stream.destroyed) return;
      cut = true;
      stream.close(http2constants.NGHTTP2_NO_ERROR);
      // Node destroys a closed stream once its buffered body has been read to the end: stop the RPC
      // layer's reader (while its 'readable' listener is there nothing flows) and discard the rest
      req.on('data', () => {});
      void reader?.return?.().catch(() => {});
      req.resume();
    }),
  );
  const enveloped = isEnvelopedContentType(req.headers['content-type']);
  let reader: AsyncIterator<unknown> | undefined;
  (req as unknown as { [Symbol.asyncIterator]: () => AsyncIterator<Buffer> })[Symbol.asyncIterator] = () => {
    const it = req.iterator({ destroyOnReturn: false });
    reader = it;
    const read = async (): Promise<IteratorResult<Buffer>> => {
      const r = await Promise.race([it.next(), timedOut]).catch((e: unknown) => {
        cut = true;
        guard.bodyTimedOut();
        throw e;
      });
      if (!r.done) {
        const n = (r.value as Buffer).length;
        // the first 64 KiB of a body are always admitted (health checks and small calls never starve)
        if (!guard.take(client, n, held + n <= 64 * 1024)) {
          cut = true;
          throw connectError(
            'BODY_QUOTA',
            `request bodies of this client (or of all clients) exceed the server's quota of ${guard.limits.maxBodyBytesPerClient} bytes in flight; retry later`,
          );
        }
        held += n;
      }
      return r as IteratorResult<Buffer>;
    };
    return {
      // enveloped bodies reach the RPC layer one whole envelope per chunk (envelope-assembler.ts)
      next: enveloped ? assembleEnvelopes(read, max) : read,
      return: (v?: unknown) => it.return!(v) as Promise<IteratorResult<Buffer>>,
    };
  };
  res.once('finish', () => {
    if (req.complete || cut) return;
    let seen = 0;
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > 16 * max) req.destroy();
    });
    req.resume();
  });
}

/** A Connect unary call (not gRPC/gRPC-Web) over HTTP/1.1 whose declared body exceeds the limit. */
export function tooLargeConnectUnary(req: NodeReq, max: number): boolean {
  const len = Number(req.headers['content-length'] ?? Number.NaN);
  const ct = String(req.headers['content-type'] ?? '');
  return req.method === 'POST' && len > max && !ct.startsWith('application/grpc');
}

/**
 * Answer an oversized Connect unary request over HTTP/1.1 with RESOURCE_EXHAUSTED after discarding its
 * body (up to 16× the limit): answering before the upload ends makes HTTP/1.1 clients see a reset
 * connection instead of the error. Bigger uploads are cut.
 */
export function rejectTooLarge(
  req: NodeReq,
  res: ServerResponse,
  max: number,
  metrics: ServerMetrics,
  logger: Logger,
): void {
  const start = performance.now();
  const path = (req.url ?? '').split('?')[0]!.replace(/^\//, '');
  let seen = 0;
  const respond = () => {
    const body = JSON.stringify({
      code: 'resource_exhausted',
      message: `[MESSAGE_TOO_LARGE] request message is ${req.headers['content-length']} bytes, the limit is ${max}`,
      details: [],
    });
    res.writeHead(429, { 'content-type': 'application/json', 'wasmvm-error-code': 'MESSAGE_TOO_LARGE' });
    res.end(body);
    metrics.requests.inc({ method: path, code: 'RESOURCE_EXHAUSTED' });
    metrics.rejected.inc({ reason: 'message_size' });
    logger.log('info', 'rpc', {
      method: path,
      code: 'RESOURCE_EXHAUSTED',
      errorCode: 'MESSAGE_TOO_LARGE',
      durationMs: Math.round((performance.now() - start) * 1000) / 1000,
    });
  };
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > 16 * max) req.destroy();
  });
  req.on('end', respond);
}
