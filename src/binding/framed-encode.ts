/**
 * A sealed frame straight from a message (docs/sealed-execution.md §2, §9): `encodeFramedPayload(schema,
 * m)` returns exactly `framePayload(toBinary(schema, m))`, byte for byte, but copies each large bytes
 * field (a 1 MiB bytecode) once, into the frame, where toBinary copies it into its growing buffer, moves
 * it once per enclosing message whose length prefix outgrows the byte it reserved, and copies it out
 * again (`finish`), and framePayload copies it a fourth time.
 *
 * How: protobuf-es writes a message's fields in field-number order, then its unknown fields, each field's
 * bytes independent of the others. So the encoding of a message is the concatenation of: the encoding of
 * a run of fields (toBinary of a message holding only those fields), the encoding of one field written
 * here (tag, length, bytes), the next run, ... and the unknown fields. Only a singular bytes field of at
 * least SPLICE_MIN_BYTES, or a singular message field holding one somewhere below, is written here (the
 * tag and the length prefix through protobuf-es's BinaryWriter); every other field is toBinary's. The
 * test compares the two encodings on every shape the service sends (test/binding/framed-encode.test.ts).
 * Written for proto3 messages (the service's): toBinary's refusal of an unset proto2 `required` field is
 * not repeated for fields in a split message.
 */
import {
  create,
  type DescField,
  type DescMessage,
  isFieldSet,
  type MessageShape,
  ScalarType,
  toBinary,
} from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { framePayload, sizeBucket } from './sealed.ts';

/** Bytes fields below this size are left to toBinary (a copy of a few KiB costs less than a split). */
export const SPLICE_MIN_BYTES = 4096;

type Fields = Record<string, unknown>;

const sorted = new WeakMap<DescMessage, readonly DescField[]>();
/** The fields in the order toBinary writes them (by number). */
function fieldsOf(desc: DescMessage): readonly DescField[] {
  let f = sorted.get(desc);
  if (!f) {
    f = desc.fields.concat().sort((a, b) => a.number - b.number);
    sorted.set(desc, f);
  }
  return f;
}

/** What encodeParts does with a field: leave it to toBinary, write a large bytes field, or descend. */
function kind(field: DescField, m: Fields): 'run' | 'bytes' | 'message' {
  if (field.oneof !== undefined) return 'run';
  if (field.fieldKind === 'scalar' && field.scalar === ScalarType.BYTES) {
    const v = m[field.localName] as Uint8Array | undefined;
    return v !== undefined && v.length >= SPLICE_MIN_BYTES ? 'bytes' : 'run';
  }
  if (field.fieldKind === 'message' && !field.delimitedEncoding) {
    const v = m[field.localName] as Fields | undefined;
    return v !== undefined && holdsLarge(field.message, v) ? 'message' : 'run';
  }
  return 'run';
}

function holdsLarge(desc: DescMessage, m: Fields): boolean {
  return fieldsOf(desc).some((f) => kind(f, m) !== 'run');
}

/** One piece of the encoding; `owned`: a buffer made here (plaintext: zeroed once copied). */
interface Part {
  bytes: Uint8Array;
  owned: boolean;
}

function header(no: number, length: number): Uint8Array {
  return new BinaryWriter().tag(no, WireType.LengthDelimited).uint32(length).finish();
}

/** The encoding of `m` as parts (appended to `out`); returns its length. */
function encodeParts(desc: DescMessage, m: Fields, out: Part[]): number {
  let length = 0;
  let run: DescField[] = [];
  const push = (bytes: Uint8Array, owned: boolean) => {
    if (bytes.length === 0) return;
    out.push({ bytes, owned });
    length += bytes.length;
  };
  const flush = () => {
    if (run.length === 0) return;
    const part = create(desc) as unknown as Fields;
    for (const f of run) {
      if (!isFieldSet(m as MessageShape<DescMessage>, f)) continue;
      const key = f.oneof ? f.oneof.localName : f.localName;
      part[key] = m[key];
    }
    push(toBinary(desc, part as MessageShape<DescMessage>), true);
    run = [];
  };
  for (const f of fieldsOf(desc)) {
    const k = kind(f, m);
    if (k === 'run') {
      run.push(f);
      continue;
    }
    flush();
    if (k === 'bytes') {
      const v = m[f.localName] as Uint8Array;
      push(header(f.number, v.length), true);
      push(v, false);
    } else {
      const sub: Part[] = [];
      const n = encodeParts(f.message!, m[f.localName] as Fields, sub);
      push(header(f.number, n), true);
      for (const p of sub) push(p.bytes, p.owned);
    }
  }
  flush();
  const unknown = (m as { $unknown?: unknown[] }).$unknown;
  if (unknown !== undefined && unknown.length > 0) {
    const part = create(desc) as unknown as Fields;
    part.$unknown = unknown;
    push(toBinary(desc, part as MessageShape<DescMessage>), true);
  }
  return length;
}

/**
 * `framePayload(toBinary(schema, message))`, byte for byte, with each large bytes field copied once (into
 * the frame). The buffers made on the way are zeroed once copied (they hold plaintext); the message's own
 * bytes are the caller's. The caller zeroes the frame once sealed, as with framePayload.
 */
export function encodeFramedPayload<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): Uint8Array {
  const m = message as unknown as Fields;
  if (!holdsLarge(schema, m)) {
    const payload = toBinary(schema, message);
    const frame = framePayload(payload);
    payload.fill(0);
    return frame;
  }
  const parts: Part[] = [];
  const n = encodeParts(schema, m, parts);
  const frame = new Uint8Array(sizeBucket(4 + n));
  new DataView(frame.buffer).setUint32(0, n, false);
  let at = 4;
  for (const p of parts) {
    frame.set(p.bytes, at);
    at += p.bytes.length;
    if (p.owned) p.bytes.fill(0);
  }
  return frame;
}
