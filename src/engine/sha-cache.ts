/**
 * The SHA-256 cache of recently seen bytecode (a hit costs a memcmp, not a hash).
 */
import { createHash } from 'node:crypto';

/** Fingerprint of bytecode for the SHA cache: its length and an FNV-1a hash of up to ~96 sampled bytes. */
function fingerprint(b: Uint8Array): string {
  let h = 0x811c9dc5;
  const step = Math.max(1, Math.floor(b.length / 64));
  for (let i = 0; i < b.length; i += step) h = Math.imul(h ^ b[i]!, 0x01000193);
  for (let i = Math.max(0, b.length - 32); i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return `${b.length}:${h >>> 0}`;
}

/**
 * SHA-256 of recently seen bytecode. A hit is found by fingerprint and confirmed by comparing all bytes
 * with a stored copy (memcmp, many times faster than hashing), so the digest is always that of the
 * bytes given, even when the caller reuses and mutates a buffer. LRU, bounded by bytes.
 */
export class ShaCache {
  private readonly map = new Map<string, { copy: Buffer; sha: string }>();
  private bytes = 0;
  constructor(private readonly budget = 64 * 1024 * 1024) {}

  /** The digest of `b` when these exact bytes were seen recently (a memcmp, no hashing). */
  lookup(b: Uint8Array): string | undefined {
    const view = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    const fp = fingerprint(b);
    const e = this.map.get(fp);
    if (e?.copy.equals(view)) {
      this.map.delete(fp);
      this.map.set(fp, e);
      return e.sha;
    }
    return undefined;
  }

  sha256(b: Uint8Array): string {
    const known = this.lookup(b);
    if (known) return known;
    const sha = createHash('sha256').update(b).digest('hex');
    this.remember(b, sha);
    return sha;
  }

  /** Record the digest of `b` (computed elsewhere, e.g. in a preparation thread). */
  remember(b: Uint8Array, sha: string): void {
    const view = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    const fp = fingerprint(b);
    const e = this.map.get(fp);
    if (e) {
      this.map.delete(fp);
      this.bytes -= e.copy.length;
    }
    if (b.length <= this.budget / 4) {
      this.map.set(fp, { copy: Buffer.from(view), sha });
      this.bytes += b.length;
      for (const [k, v] of this.map) {
        if (this.bytes <= this.budget) break;
        this.map.delete(k);
        this.bytes -= v.copy.length;
      }
    }
  }
}
