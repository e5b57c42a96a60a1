/** Bounded capture of a guest's stdout or stderr, optionally forwarded as it is written. */

export class Capture {
  private chunks: Uint8Array[] = [];
  size = 0;
  dropped = 0;
  constructor(
    private readonly max: number,
    private readonly forward: ((data: Uint8Array) => void) | undefined,
  ) {}
  push(data: Uint8Array): void {
    if (this.forward) {
      try {
        this.forward(data);
      } catch {
        // terminal or parent gone: the capture still holds the output
      }
    }
    const room = this.max - this.size;
    if (room <= 0) {
      this.dropped += data.length;
      return;
    }
    const part = data.length <= room ? data.slice() : data.slice(0, room);
    this.dropped += data.length - part.length;
    this.chunks.push(part);
    this.size += part.length;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}
