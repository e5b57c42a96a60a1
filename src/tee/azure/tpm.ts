/**
 * The few TPM 2.0 commands the Azure vTPM provider needs, marshalled here (TCG TPM 2.0 Library Part 3):
 * NV_ReadPublic, NV_Read, ReadPublic, PCR_Read, Quote. Sent to /dev/tpmrm0 (the kernel's resource
 * manager) as raw command buffers; nothing is shelled out. Authorization is the empty password session
 * (TPM_RS_PW), which is what the Azure HCL report NV index and the AK accept.
 */
import { open } from 'node:fs/promises';
import {
  type PcrSelection,
  parseTpm2bPublic,
  readPcrSelections,
  readTpmtSignature,
  TPM_ALG,
  TpmReader,
  type TpmtPublic,
  type TpmtSignature,
  TpmWriter,
  writePcrSelections,
} from '../../formats/index.ts';
import { TeeError } from '../errors.ts';

export const TPM_DEVICE = '/dev/tpmrm0';
export const TPM_ST_NO_SESSIONS = 0x8001;
export const TPM_ST_SESSIONS = 0x8002;
export const TPM_RS_PW = 0x40000009;
export const TPM_CC = {
  NV_Read: 0x0000014e,
  Quote: 0x00000158,
  NV_ReadPublic: 0x00000169,
  ReadPublic: 0x00000173,
  PCR_Read: 0x0000017e,
} as const;
/** Largest NV_Read chunk asked for (TPM2_GetCapability MAX_NV_BUFFER_SIZE is ≥ 1024 on every TPM seen). */
export const NV_READ_CHUNK = 1024;
const MAX_RESPONSE = 8192;

/** Sends one command buffer and returns the whole response buffer. */
export interface TpmTransport {
  send(command: Uint8Array): Promise<Uint8Array>;
  close?(): Promise<void>;
}

/** /dev/tpmrm0: write the command, read the response (the driver returns it whole); one at a time. */
export class DeviceTransport implements TpmTransport {
  private queue: Promise<unknown> = Promise.resolve();
  constructor(readonly path = TPM_DEVICE) {}
  send(command: Uint8Array): Promise<Uint8Array> {
    const run = async () => {
      let fh: Awaited<ReturnType<typeof open>>;
      try {
        fh = await open(this.path, 'r+');
      } catch (e) {
        throw new TeeError('TEE_UNAVAILABLE', `${this.path}: ${(e as Error).message}`);
      }
      try {
        await fh.write(command, 0, command.length, null);
        const buf = Buffer.alloc(MAX_RESPONSE);
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        return new Uint8Array(buf.subarray(0, bytesRead));
      } finally {
        await fh.close();
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }
}

/** A TPM response code as text: format-1 (parameter/handle/session number) or format-0 codes. */
export function describeTpmRc(rc: number): string {
  const names: Record<number, string> = {
    11: 'TPM_RC_HANDLE',
    15: 'TPM_RC_SIZE',
    1: 'TPM_RC_ASYMMETRIC',
    2: 'TPM_RC_ATTRIBUTES',
    3: 'TPM_RC_HASH',
    4: 'TPM_RC_VALUE',
    13: 'TPM_RC_KEY',
    21: 'TPM_RC_SCHEME',
    26: 'TPM_RC_RANGE',
    14: 'TPM_RC_AUTH_FAIL',
    18: 'TPM_RC_SIGNATURE',
  };
  const vendor = (rc & 0x400) !== 0;
  if (rc & 0x80) {
    const n = (rc >> 8) & 0xf;
    const where = rc & 0x40 ? `parameter ${n}` : n & 0x8 ? `session ${n & 7}` : `handle ${n}`;
    return `${names[rc & 0x3f] ?? `format-1 error 0x${(rc & 0x3f).toString(16)}`} (${where})`;
  }
  if (vendor) return `vendor error 0x${rc.toString(16)}`;
  const f0: Record<number, string> = {
    256: 'TPM_RC_INITIALIZE',
    257: 'TPM_RC_FAILURE',
    323: 'TPM_RC_COMMAND_CODE',
    329: 'TPM_RC_NV_LOCKED',
    330: 'TPM_RC_NV_RANGE',
    332: 'TPM_RC_NV_UNINITIALIZED',
    334: 'TPM_RC_NV_AUTHORIZATION',
    388: 'TPM_RC_VALUE',
    2446: 'TPM_RC_AUTH_FAIL (session 1)',
    2338: 'TPM_RC_RETRY',
    2312: 'TPM_RC_YIELDED',
    2305: 'TPM_RC_CONTEXT_GAP',
    2306: 'TPM_RC_OBJECT_MEMORY',
  };
  return f0[rc] ?? `0x${rc.toString(16)}`;
}

/** Is this response code "the handle does not exist" (TPM_RC_HANDLE for handle 1)? */
export function isMissingHandle(rc: number): boolean {
  return (rc & 0xbf) === 0x8b && (rc & 0x40) === 0;
}

export class TpmResponseError extends TeeError {
  constructor(
    readonly command: string,
    readonly rc: number,
  ) {
    super(
      'TEE_TPM_ERROR',
      `TPM2_${command} failed: rc 0x${rc.toString(16).padStart(8, '0')} ${describeTpmRc(rc)}`,
    );
  }
}

function header(tag: number, code: number, body: Uint8Array): Uint8Array {
  return new TpmWriter()
    .u16(tag)
    .u32(10 + body.length)
    .u32(code)
    .raw(body)
    .done();
}

function passwordSession(): Uint8Array {
  // sessionHandle TPM_RS_PW, nonceCaller empty, attributes continueSession, hmac (password) empty
  const s = new TpmWriter().u32(TPM_RS_PW).tpm2b(new Uint8Array(0)).u8(0x01).tpm2b(new Uint8Array(0)).done();
  return new TpmWriter().u32(s.length).raw(s).done();
}

// ---- command marshalling (pure) ----

export function nvReadPublicCommand(nvIndex: number): Uint8Array {
  return header(TPM_ST_NO_SESSIONS, TPM_CC.NV_ReadPublic, new TpmWriter().u32(nvIndex).done());
}

export function nvReadCommand(nvIndex: number, size: number, offset: number): Uint8Array {
  const body = new TpmWriter().u32(nvIndex).u32(nvIndex).raw(passwordSession()).u16(size).u16(offset).done();
  return header(TPM_ST_SESSIONS, TPM_CC.NV_Read, body);
}

export function readPublicCommand(handle: number): Uint8Array {
  return header(TPM_ST_NO_SESSIONS, TPM_CC.ReadPublic, new TpmWriter().u32(handle).done());
}

export function pcrReadCommand(sels: readonly PcrSelection[]): Uint8Array {
  return header(TPM_ST_NO_SESSIONS, TPM_CC.PCR_Read, writePcrSelections(new TpmWriter(), sels).done());
}

/** Quote with `scheme` (sigAlg + hash) or TPM_ALG_NULL (the key's own scheme). */
export function quoteCommand(
  akHandle: number,
  qualifyingData: Uint8Array,
  sels: readonly PcrSelection[],
  scheme?: { sigAlg: number; hashAlg: number },
): Uint8Array {
  const w = new TpmWriter().u32(akHandle).raw(passwordSession()).tpm2b(qualifyingData);
  if (scheme) w.u16(scheme.sigAlg).u16(scheme.hashAlg);
  else w.u16(TPM_ALG.NULL);
  writePcrSelections(w, sels);
  return header(TPM_ST_SESSIONS, TPM_CC.Quote, w.done());
}

// ---- response parsing (pure) ----

/** Check the response header; returns a reader positioned after it (and after parameterSize for sessions). */
function openResponse(command: string, resp: Uint8Array, sessions: boolean): TpmReader {
  const r = new TpmReader(resp, `TPM2_${command} response`);
  try {
    const tag = r.u16('tag');
    const size = r.u32('responseSize');
    const rc = r.u32('responseCode');
    if (size !== resp.length)
      throw new TeeError(
        'TEE_TPM_RESPONSE',
        `TPM2_${command}: responseSize ${size} but ${resp.length} bytes read`,
      );
    if (rc !== 0) throw new TpmResponseError(command, rc);
    if (tag !== (sessions ? TPM_ST_SESSIONS : TPM_ST_NO_SESSIONS))
      throw new TeeError(
        'TEE_TPM_RESPONSE',
        `TPM2_${command}: unexpected response tag 0x${tag.toString(16)}`,
      );
    if (sessions) r.u32('parameterSize');
    return r;
  } catch (e) {
    if (e instanceof TeeError) throw e;
    throw new TeeError('TEE_TPM_RESPONSE', `TPM2_${command}: ${(e as Error).message}`);
  }
}

function wrap<T>(command: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TeeError) throw e;
    throw new TeeError('TEE_TPM_RESPONSE', `TPM2_${command} response: ${(e as Error).message}`);
  }
}

export interface NvPublic {
  nvIndex: number;
  nameAlg: number;
  attributes: number;
  dataSize: number;
}

export function parseNvReadPublicResponse(resp: Uint8Array): NvPublic {
  const r = openResponse('NV_ReadPublic', resp, false);
  return wrap('NV_ReadPublic', () => {
    const inner = new TpmReader(r.tpm2b('nvPublic'), 'TPMS_NV_PUBLIC');
    const nvIndex = inner.u32('nvIndex');
    const nameAlg = inner.u16('nameAlg');
    const attributes = inner.u32('attributes');
    inner.tpm2b('authPolicy');
    const out = { nvIndex, nameAlg, attributes, dataSize: inner.u16('dataSize') };
    inner.end();
    r.tpm2b('nvName');
    return out;
  });
}

export function parseNvReadResponse(resp: Uint8Array): Uint8Array {
  const r = openResponse('NV_Read', resp, true);
  return wrap('NV_Read', () => r.tpm2b('data'));
}

export function parseReadPublicResponse(resp: Uint8Array): { pub: TpmtPublic; name: Uint8Array } {
  const r = openResponse('ReadPublic', resp, false);
  return wrap('ReadPublic', () => {
    const size = r.u16('outPublic.size');
    const area = r.bytes(size, 'outPublic');
    const { pub } = parseTpm2bPublic(new TpmWriter().tpm2b(area).done());
    const name = r.tpm2b('name');
    r.tpm2b('qualifiedName');
    return { pub, name };
  });
}

export function parsePcrReadResponse(resp: Uint8Array): {
  updateCounter: number;
  selection: PcrSelection[];
  digests: Uint8Array[];
} {
  const r = openResponse('PCR_Read', resp, false);
  return wrap('PCR_Read', () => {
    const updateCounter = r.u32('pcrUpdateCounter');
    const selection = readPcrSelections(r);
    const n = r.u32('pcrValues.count');
    if (n > 8) throw new TeeError('TEE_TPM_RESPONSE', `TPM2_PCR_Read: ${n} digests (at most 8)`);
    const digests: Uint8Array[] = [];
    for (let i = 0; i < n; i++) digests.push(r.tpm2b(`pcrValues[${i}]`));
    r.end();
    return { updateCounter, selection, digests };
  });
}

export function parseQuoteResponse(resp: Uint8Array): {
  attest: Uint8Array;
  signature: TpmtSignature;
  signatureBytes: Uint8Array;
} {
  const r = openResponse('Quote', resp, true);
  return wrap('Quote', () => {
    const attest = r.tpm2b('quoted');
    const start = r.pos;
    const signature = readTpmtSignature(r);
    return { attest, signature, signatureBytes: resp.slice(start, r.pos) };
  });
}

// ---- the client ----

/** Response codes that mean "send the same command again": TPM_RC_RETRY, TPM_RC_YIELDED, TPM_RC_TESTING. */
const RETRY_RCS = new Set([0x922, 0x908, 0x90a]);
const MAX_RETRIES = 20;

/** The five commands over a transport. */
export class TpmClient {
  constructor(readonly transport: TpmTransport) {}

  /** Send, resending (with a short pause) while the TPM answers RETRY / YIELDED / TESTING. */
  private async send(command: Uint8Array): Promise<Uint8Array> {
    for (let i = 0; ; i++) {
      const resp = await this.transport.send(command);
      const rc =
        resp.length >= 10 ? new DataView(resp.buffer, resp.byteOffset + 6, 4).getUint32(0, false) : 0;
      if (!RETRY_RCS.has(rc) || i >= MAX_RETRIES) return resp;
      await new Promise((r) => setTimeout(r, Math.min(100, 5 * 2 ** i)));
    }
  }

  async nvReadPublic(nvIndex: number): Promise<NvPublic> {
    return parseNvReadPublicResponse(await this.send(nvReadPublicCommand(nvIndex)));
  }

  /** The whole NV index, read in chunks. */
  async nvReadAll(nvIndex: number): Promise<Uint8Array> {
    const { dataSize } = await this.nvReadPublic(nvIndex);
    const out = new Uint8Array(dataSize);
    for (let off = 0; off < dataSize; ) {
      const n = Math.min(NV_READ_CHUNK, dataSize - off);
      const chunk = parseNvReadResponse(await this.send(nvReadCommand(nvIndex, n, off)));
      if (chunk.length !== n)
        throw new TeeError(
          'TEE_TPM_RESPONSE',
          `TPM2_NV_Read: asked ${n} bytes at ${off}, got ${chunk.length}`,
        );
      out.set(chunk, off);
      off += n;
    }
    return out;
  }

  async readPublic(handle: number): Promise<{ pub: TpmtPublic; name: Uint8Array }> {
    return parseReadPublicResponse(await this.send(readPublicCommand(handle)));
  }

  /** PCR values of one bank, as many PCR_Read calls as needed (a TPM returns at most 8 per call). */
  async pcrRead(hashAlg: number, pcrs: readonly number[]): Promise<Map<number, Uint8Array>> {
    const out = new Map<number, Uint8Array>();
    let left = [...pcrs].sort((a, b) => a - b);
    for (let round = 0; left.length > 0; round++) {
      if (round > 24) throw new TeeError('TEE_TPM_RESPONSE', 'TPM2_PCR_Read: no progress');
      const got = parsePcrReadResponse(await this.send(pcrReadCommand([{ hashAlg, pcrs: left }])));
      const returned = got.selection.filter((s) => s.hashAlg === hashAlg).flatMap((s) => s.pcrs);
      if (returned.length !== got.digests.length)
        throw new TeeError(
          'TEE_TPM_RESPONSE',
          `TPM2_PCR_Read: ${returned.length} PCRs selected, ${got.digests.length} digests`,
        );
      if (returned.length === 0)
        throw new TeeError(
          'TEE_AZURE_PCR_BANK',
          `the TPM returned no PCRs of bank 0x${hashAlg.toString(16)} (not allocated?)`,
        );
      for (const [i, p] of returned.entries()) out.set(p, got.digests[i]!);
      left = left.filter((p) => !out.has(p));
    }
    return out;
  }

  async quote(
    akHandle: number,
    qualifyingData: Uint8Array,
    sels: readonly PcrSelection[],
    scheme?: { sigAlg: number; hashAlg: number },
  ) {
    return parseQuoteResponse(await this.send(quoteCommand(akHandle, qualifyingData, sels, scheme)));
  }
}
