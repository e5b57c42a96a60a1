/**
 * Whole enveloped messages for the RPC layer.
 *
 * gRPC, gRPC-Web and Connect streaming bodies are a sequence of envelopes: 1 flag byte, a 4-byte
 * big-endian length, then that many bytes. A client chooses how its bytes are cut into HTTP/2 DATA
 * frames (or HTTP/1.1 chunks), and Node hands each frame to the reader as one chunk. The RPC layer's
 * envelope decoder (@connectrpc/connect 2.x, `EnvelopeDecoderImpl`) sums every chunk it holds on each
 * chunk it receives, so a message cut into n chunks costs O(n²) on the event loop: 16 MiB in 4 KiB
 * chunks took 96 ms, in 1 KiB chunks 1.4 s, and a hostile client picks the cut.
 *
 * `assembleEnvelopes` sits between the body and that decoder: it keeps the chunks of the envelope being
 * received in a list (O(1) per chunk), and hands over each complete envelope as one chunk (one copy,
 * the same bytes). An envelope whose declared length is over the message limit, and the rest of its
 * body, are passed through unchanged, so the RPC layer answers it with its usual
 * RESOURCE_EXHAUSTED before the bytes arrive; a body that ends inside an envelope hands over its partial
 * bytes, so the RPC layer reports the incomplete envelope as before. Bytes are never reordered, added or
 * dropped.
 */

/** Content types whose bodies are enveloped (gRPC, gRPC-Web, Connect streaming). */
export function isEnvelopedContentType(contentType: string | undefined): boolean {
  const ct = (contentType ?? '').toLowerCase();
  return ct.startsWith('application/grpc') || ct.startsWith('application/connect+');
}

const HEADER = 5;

/** Wrap a body iterator so that each complete envelope arrives as one chunk. */
export function assembleEnvelopes(
  next: () => Promise<IteratorResult<Buffer>>,
  maxMessageBytes: number,
): () => Promise<IteratorResult<Buffer>> {
  let parts: Buffer[] = [];
  let have = 0;
  /** 5 + the current envelope's length, once its header has arrived. */
  let need: number | undefined;
  let passthrough = false;
  let ended = false;
  const ready: Buffer[] = [];

  const headerLength = (): number => {
    const h = Buffer.allocUnsafe(HEADER);
    let filled = 0;
    for (const p of parts) {
      filled += p.copy(h, filled, 0, Math.min(p.length, HEADER - filled));
      if (filled === HEADER) break;
    }
    return h.readUInt32BE(1);
  };

  const take = (chunk: Buffer): void => {
    parts.push(chunk);
    have += chunk.length;
    for (;;) {
      if (need === undefined) {
        if (have < HEADER) return;
        const length = headerLength();
        if (length > maxMessageBytes) {
          // the RPC layer refuses it from the header alone; hand everything over as it came
          passthrough = true;
          ready.push(...parts);
          parts = [];
          have = 0;
          return;
        }
        need = HEADER + length;
      }
      if (have < need) return;
      const whole = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
      ready.push(whole.subarray(0, need));
      const rest = whole.subarray(need);
      parts = rest.length > 0 ? [rest] : [];
      have = rest.length;
      need = undefined;
    }
  };

  return async () => {
    for (;;) {
      const value = ready.shift();
      if (value !== undefined) return { done: false, value };
      if (ended) return { done: true, value: undefined };
      const r = await next();
      if (r.done) {
        ended = true;
        // an unfinished envelope: its bytes as they came (the RPC layer reports it incomplete)
        ready.push(...parts);
        parts = [];
        have = 0;
        continue;
      }
      if (passthrough) return r;
      take(r.value);
    }
  };
}
