/**
 * Reads just enough of a Wasm binary to know the types of its exported functions and globals
 * (V8 exposes no type reflection by default). Used by the spec runner's call wrappers.
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref';
export interface FuncType {
  params: ValType[];
  results: ValType[];
}
export interface ExportTypes {
  funcs: Map<string, FuncType>;
  globals: Map<string, { type: ValType; mutable: boolean }>;
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

const VT: Record<number, ValType> = {
  127: 'i32',
  126: 'i64',
  125: 'f32',
  124: 'f64',
  123: 'v128',
  112: 'funcref',
  111: 'externref',
};

export function exportTypes(bytes: Uint8Array): ExportTypes {
  let p = 8;
  const u32 = (): number => {
    let r = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p++]!;
      r |= (b & 0x7f) << shift;
      if (!(b & 0x80)) return r >>> 0;
      shift += 7;
    }
  };
  const vt = (): ValType => {
    const b = bytes[p++]!;
    const t = VT[b];
    if (!t) throw new Error(`unknown value type 0x${b.toString(16)}`);
    return t;
  };
  const name = (): string => {
    const n = u32();
    const s = utf8.decode(bytes.subarray(p, p + n));
    p += n;
    return s;
  };
  const limits = () => {
    const flag = u32();
    u32();
    if (flag & 1) u32();
  };
  const skipConstExpr = () => {
    for (;;) {
      const op = bytes[p++]!;
      if (op === 0x0b) return;
      if (op === 0x41 || op === 0x42 || op === 0x23 || op === 0xd2) {
        while (bytes[p++]! & 0x80);
      } else if (op === 0x43) p += 4;
      else if (op === 0x44) p += 8;
      else if (op === 0xd0) p += 1;
      else if (op === 0xfd) {
        u32();
        p += 16;
      } else if (op >= 0x6a && op <= 0x7c) {
        // extended-const arithmetic: no immediates
      } else throw new Error(`unexpected opcode 0x${op.toString(16)} in constant expression`);
    }
  };
  const types: FuncType[] = [];
  const funcTypeIdx: number[] = [];
  const globals: { type: ValType; mutable: boolean }[] = [];
  const out: ExportTypes = { funcs: new Map(), globals: new Map() };
  while (p < bytes.length) {
    const id = bytes[p++]!;
    const size = u32();
    const end = p + size;
    if (id === 1) {
      const n = u32();
      for (let i = 0; i < n; i++) {
        p++; // 0x60
        const np = u32();
        const params: ValType[] = [];
        for (let k = 0; k < np; k++) params.push(vt());
        const nr = u32();
        const results: ValType[] = [];
        for (let k = 0; k < nr; k++) results.push(vt());
        types.push({ params, results });
      }
    } else if (id === 2) {
      const n = u32();
      for (let i = 0; i < n; i++) {
        name();
        name();
        const kind = bytes[p++]!;
        if (kind === 0) funcTypeIdx.push(u32());
        else if (kind === 1) {
          p++;
          limits();
        } else if (kind === 2) limits();
        else if (kind === 3) {
          const type = vt();
          globals.push({ type, mutable: bytes[p++] === 1 });
        } else throw new Error(`unknown import kind ${kind}`);
      }
    } else if (id === 3) {
      const n = u32();
      for (let i = 0; i < n; i++) funcTypeIdx.push(u32());
    } else if (id === 6) {
      const n = u32();
      for (let i = 0; i < n; i++) {
        const type = vt();
        const mutable = bytes[p++] === 1;
        skipConstExpr();
        globals.push({ type, mutable });
      }
    } else if (id === 7) {
      const n = u32();
      for (let i = 0; i < n; i++) {
        const nm = name();
        const kind = bytes[p++]!;
        const idx = u32();
        if (kind === 0) out.funcs.set(nm, types[funcTypeIdx[idx]!]!);
        else if (kind === 3) out.globals.set(nm, globals[idx]!);
      }
      return out;
    }
    p = end;
  }
  return out;
}
