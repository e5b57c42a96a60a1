/**
 * Sealed input for the local runner (`wasmvm-tee run --sealed-input`; docs/sealed-execution.md §10):
 * the data owner seals a file to a key that one run made inside the TEE, bound with the module's hash
 * and the run's configuration into the evidence. Same HPKE suites, framing and request info string as
 * ExecuteSealed (sealed.ts); only the key's attestation differs.
 */

import { fromBase64, toBase64 } from '../formats/index.ts';
import { sha256, sha512 } from '../util/digest.ts';
import { bytesToHex, concat, hexToBytes } from './encode.ts';
import { checkEvidenceShape, type EvidenceJson, parseIsoMs } from './envelope.ts';
import { BindingError } from './errors.ts';
import {
  framePayload,
  hpkeOpen,
  hpkeSeal,
  type SealKeyPair,
  sealedRequestInfo,
  sealSuiteInfo,
  unframePayload,
} from './sealed.ts';

/** REPORT_DATA domain of a sealed-input key (the 31 bytes "wasmvm-tee/sealed-input-key/v1"). */
export const SEALED_INPUT_KEY_DOMAIN = 'wasmvm-tee/sealed-input-key/v1';
/** `format` of the key request a run writes. */
export const SEALED_INPUT_KEY_REQUEST_FORMAT = 'wasmvm-tee/sealed-input-key-request';
/** `format` of the sealed input file the data owner writes. */
export const SEALED_INPUT_FORMAT = 'wasmvm-tee/sealed-input';

/**
 * What a run publishes (JSON) so that a data owner can seal its input to it. Everything but `evidence`
 * is bound by the evidence's REPORT_DATA (sealedInputKeyReportData).
 */
export interface SealedInputKeyRequest {
  format: typeof SEALED_INPUT_KEY_REQUEST_FORMAT;
  v: 1;
  /** Random key id (base64url, 22 characters): the HPKE info names it. */
  keyId: string;
  /** The HPKE key (suite, base64 of SerializePublicKey) made in the TEE for this run only. */
  seal: { suite: string; publicKey: string };
  /** Until when the run waits for the sealed input (ISO-8601 UTC with milliseconds). */
  notBefore: string;
  notAfter: string;
  /** SHA-256 of the module the plaintext will be given to, 64 lowercase hex. */
  moduleSha256: string;
  /**
   * The run's configuration as exact JSON text (args, env, preopened directories, mode, gas…): its UTF-8
   * bytes are hashed as given, so no canonical JSON is needed to check it.
   */
  run: string;
  /** The data owner's nonce, lowercase hex ('' = none). */
  nonce: string;
  evidence: EvidenceJson;
}

/** The sealed input file (JSON). */
export interface SealedInputFile {
  format: typeof SEALED_INPUT_FORMAT;
  v: 1;
  keyId: string;
  suite: string;
  /** base64 */
  enc: string;
  ciphertext: string;
}

const text = (s: string) => new TextEncoder().encode(s);
const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
};
const u64 = (n: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), false);
  return b;
};

function bad(field: string, why: string): BindingError {
  return new BindingError('INVALID_ENVELOPE', `${field}: ${why}`, field);
}

/**
 * REPORT_DATA of a run's sealed-input key:
 *   SHA-512("wasmvm-tee/sealed-input-key/v1" ‖ u32be len(keyId) ‖ keyId ‖ u32be len(suite) ‖ suite
 *           ‖ u32be len(publicKey) ‖ publicKey ‖ u64be notBefore ‖ u64be notAfter (ms)
 *           ‖ u32be 32 ‖ moduleSha256 ‖ u32be len(run) ‖ run (UTF-8) ‖ u32be len(nonce) ‖ nonce)
 */
export function sealedInputKeyReportData(r: {
  keyId: string;
  suite: string;
  publicKey: Uint8Array;
  notBefore: number;
  notAfter: number;
  moduleSha256: Uint8Array;
  run: string;
  nonce: Uint8Array;
}): Uint8Array {
  if (r.moduleSha256.length !== 32) throw bad('moduleSha256', 'expected 32 bytes');
  for (const [k, v] of [
    ['notBefore', r.notBefore],
    ['notAfter', r.notAfter],
  ] as const)
    if (!Number.isSafeInteger(v) || v < 0) throw bad(k, 'not a u64');
  if (!(r.notBefore <= r.notAfter)) throw bad('notAfter', 'before notBefore');
  const kid = text(r.keyId);
  const suite = text(r.suite);
  const run = text(r.run);
  const data = concat([
    text(SEALED_INPUT_KEY_DOMAIN),
    u32(kid.length),
    kid,
    u32(suite.length),
    suite,
    u32(r.publicKey.length),
    r.publicKey,
    u64(r.notBefore),
    u64(r.notAfter),
    u32(32),
    r.moduleSha256,
    u32(run.length),
    run,
    u32(r.nonce.length),
    r.nonce,
  ]);
  return sha512(data);
}

/** The bound facts of a key request, decoded (throws BindingError naming the field). */
export function sealedInputKeyRequestData(
  req: SealedInputKeyRequest,
): Parameters<typeof sealedInputKeyReportData>[0] & { suite: string } {
  return {
    keyId: req.keyId,
    suite: req.seal.suite,
    publicKey: fromBase64(req.seal.publicKey, 'seal.publicKey'),
    notBefore: parseIsoMs(req.notBefore, 'notBefore'),
    notAfter: parseIsoMs(req.notAfter, 'notAfter'),
    moduleSha256: hexToBytes(req.moduleSha256, 'moduleSha256'),
    run: req.run,
    nonce: hexToBytes(req.nonce, 'nonce'),
  };
}

/** Parse and shape-check a key request (object or JSON text). */
export function parseSealedInputKeyRequest(input: unknown): SealedInputKeyRequest {
  let o = input;
  if (typeof input === 'string') {
    try {
      o = JSON.parse(input);
    } catch (e) {
      throw bad('keyRequest', `not JSON: ${(e as Error).message}`);
    }
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw bad('keyRequest', 'not an object');
  const r = o as Record<string, unknown>;
  const allowed = [
    'format',
    'v',
    'keyId',
    'seal',
    'notBefore',
    'notAfter',
    'moduleSha256',
    'run',
    'nonce',
    'evidence',
  ];
  for (const k of Object.keys(r)) if (!allowed.includes(k)) throw bad(k, 'unknown field');
  if (r.format !== SEALED_INPUT_KEY_REQUEST_FORMAT)
    throw bad('format', `expected ${SEALED_INPUT_KEY_REQUEST_FORMAT}`);
  if (r.v !== 1) throw bad('v', `unsupported version ${String(r.v)} (this reads 1)`);
  if (typeof r.keyId !== 'string' || !/^[A-Za-z0-9_-]{16,64}$/.test(r.keyId))
    throw bad('keyId', 'expected base64url');
  const seal = r.seal as Record<string, unknown> | undefined;
  if (!seal || typeof seal !== 'object' || Object.keys(seal).some((k) => k !== 'suite' && k !== 'publicKey'))
    throw bad('seal', 'expected { suite, publicKey }');
  if (typeof seal.suite !== 'string') throw bad('seal.suite', 'expected a suite name');
  sealSuiteInfo(seal.suite); // throws on an unknown suite
  if (typeof seal.publicKey !== 'string') throw bad('seal.publicKey', 'expected base64');
  const pk = fromBase64(seal.publicKey, 'seal.publicKey');
  if (pk.length !== sealSuiteInfo(seal.suite).publicKeyBytes)
    throw bad('seal.publicKey', `not a ${seal.suite} public key`);
  parseIsoMs(r.notBefore, 'notBefore');
  parseIsoMs(r.notAfter, 'notAfter');
  if (typeof r.moduleSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.moduleSha256))
    throw bad('moduleSha256', 'expected 64 lowercase hex');
  if (typeof r.run !== 'string') throw bad('run', 'expected the run configuration as JSON text');
  try {
    JSON.parse(r.run);
  } catch {
    throw bad('run', 'not JSON text');
  }
  if (typeof r.nonce !== 'string' || !/^(?:[0-9a-f]{2}){0,64}$/.test(r.nonce))
    throw bad('nonce', 'expected 0..64 bytes of lowercase hex');
  checkEvidenceShape(r.evidence, 'evidence');
  return o as SealedInputKeyRequest;
}

/**
 * Seal `data` to a key request's key (the caller has verified the request: verifySealedInputKeyRequest in
 * src/verify). HPKE base mode, info = sealedRequestInfo(suite, keyId), plaintext = framePayload(data).
 */
export async function sealInput(req: SealedInputKeyRequest, data: Uint8Array): Promise<SealedInputFile> {
  const d = sealedInputKeyRequestData(req);
  const frame = framePayload(data);
  try {
    const { enc, ciphertext } = await hpkeSeal(
      d.suite,
      d.publicKey,
      sealedRequestInfo(d.suite, d.keyId),
      frame,
    );
    return {
      format: SEALED_INPUT_FORMAT,
      v: 1,
      keyId: d.keyId,
      suite: d.suite,
      enc: toBase64(enc),
      ciphertext: toBase64(ciphertext),
    };
  } finally {
    frame.fill(0);
  }
}

/** Parse a sealed input file (object or JSON text). */
export function parseSealedInputFile(input: unknown): SealedInputFile {
  let o = input;
  if (typeof input === 'string') {
    try {
      o = JSON.parse(input);
    } catch (e) {
      throw bad('sealedInput', `not JSON: ${(e as Error).message}`);
    }
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw bad('sealedInput', 'not an object');
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r))
    if (!['format', 'v', 'keyId', 'suite', 'enc', 'ciphertext'].includes(k)) throw bad(k, 'unknown field');
  if (r.format !== SEALED_INPUT_FORMAT) throw bad('format', `expected ${SEALED_INPUT_FORMAT}`);
  if (r.v !== 1) throw bad('v', `unsupported version ${String(r.v)} (this reads 1)`);
  for (const k of ['keyId', 'suite', 'enc', 'ciphertext'])
    if (typeof r[k] !== 'string') throw bad(k, 'expected a string');
  return o as SealedInputFile;
}

/**
 * Open a sealed input with the run's key: the file must name our key id and suite, and open with info =
 * sealedRequestInfo(suite, keyId). Returns the payload (a fresh array; the caller zeroes it after use).
 * BindingError SEAL_OPEN_FAILED when it does not open (edited, or sealed to another key).
 */
export async function openSealedInput(
  key: SealKeyPair,
  keyId: string,
  file: SealedInputFile,
): Promise<Uint8Array> {
  if (file.keyId !== keyId)
    throw new BindingError('SEAL_OPEN_FAILED', `sealed to key ${file.keyId}, not this run's key ${keyId}`);
  if (file.suite !== key.suite)
    throw new BindingError(
      'SEAL_OPEN_FAILED',
      `sealed with suite ${file.suite}, this run's key is ${key.suite}`,
    );
  const frame = await hpkeOpen(
    key,
    fromBase64(file.enc, 'enc'),
    sealedRequestInfo(key.suite, keyId),
    fromBase64(file.ciphertext, 'ciphertext'),
  );
  try {
    return new Uint8Array(unframePayload(frame));
  } finally {
    frame.fill(0);
  }
}

/** SHA-256 of a module, lowercase hex (what a key request binds). */
export function moduleSha256Hex(bytecode: Uint8Array): string {
  return bytesToHex(sha256(bytecode));
}
