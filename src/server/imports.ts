/**
 * The import module names of a Wasm binary, read from its import section without compiling it
 * (the service offers the guest only the host modules it imports). Malformed input → [] (the engine
 * rejects the module with INVALID_BYTECODE anyway).
 */
import { ServiceError } from './errors.ts';

function leb(bytes: Uint8Array, pos: { o: number }): number {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (pos.o >= bytes.length) throw new ServiceError('INVALID_BYTECODE', 'truncated');
    const b = bytes[pos.o++]!;
    result |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return result >>> 0;
    shift += 7;
  }
  throw new ServiceError('INVALID_BYTECODE', 'bad LEB128');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function name(bytes: Uint8Array, pos: { o: number }): string {
  const n = leb(bytes, pos);
  if (pos.o + n > bytes.length) throw new ServiceError('INVALID_BYTECODE', 'truncated name');
  const s = utf8.decode(bytes.subarray(pos.o, pos.o + n));
  pos.o += n;
  return s;
}

/** Distinct import module names, in first-seen order. */
export function importModules(bytes: Uint8Array): string[] {
  try {
    if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d)
      return [];
    const pos = { o: 8 };
    while (pos.o < bytes.length) {
      const id = bytes[pos.o++]!;
      const size = leb(bytes, pos);
      const end = pos.o + size;
      if (end > bytes.length) return [];
      if (id === 2) {
        const out: string[] = [];
        const count = leb(bytes, pos);
        for (let i = 0; i < count; i++) {
          const mod = name(bytes, pos);
          name(bytes, pos);
          const kind = bytes[pos.o++];
          // skip the import description
          if (kind === 0x00)
            leb(bytes, pos); // func: type index
          else if (kind === 0x01) {
            pos.o++; // reftype
            const flags = leb(bytes, pos);
            leb(bytes, pos);
            if (flags & 1) leb(bytes, pos);
          } else if (kind === 0x02) {
            const flags = leb(bytes, pos);
            leb(bytes, pos);
            if (flags & 1) leb(bytes, pos);
          } else if (kind === 0x03)
            pos.o += 2; // valtype, mut
          else if (kind === 0x04) {
            pos.o++; // tag attribute
            leb(bytes, pos);
          } else return out.includes(mod) ? out : [...out, mod];
          if (!out.includes(mod)) out.push(mod);
        }
        return out;
      }
      // sections are ordered: past the import section (id 2), there is none
      if (id !== 0 && id > 2) return [];
      pos.o = end;
    }
    return [];
  } catch {
    return [];
  }
}
