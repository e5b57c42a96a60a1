/**
 * Bounded file reads for the verify CLIs: evidence, collateral and JSON inputs have size limits, and a file
 * over its limit is refused without being read (issue 14: the verifier is bounded).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

/**
 * Read a file of at most `max` bytes. Larger files are not read: `{ tooLarge: size }` (the caller turns it
 * into a rejection with a stable code).
 */
export function readFileBounded(path: string, max: number): { bytes: Uint8Array } | { tooLarge: number } {
  const size = statSync(path).size;
  if (size > max) return { tooLarge: size };
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, b, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    // A file that grew since stat is read only up to the size checked.
    return { bytes: new Uint8Array(b.buffer, b.byteOffset, at) };
  } finally {
    closeSync(fd);
  }
}

/** Bytes of a JSON input (policy, collateral JSON, NRAS response, GPU evidence, JWKS) the CLIs read. */
export const MAX_JSON_INPUT_BYTES = 4 * 1024 * 1024;
