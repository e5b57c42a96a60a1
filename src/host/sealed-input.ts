/**
 * The local runner's sealed input (`wasmvm-tee run --sealed-input FILE --key-request OUT`;
 * docs/sealed-execution.md §10). A run's key cannot exist before the run, so the exchange has two
 * steps around one process:
 *
 * 1. The run makes a fresh HPKE key pair here (inside the TEE), gets CPU evidence whose REPORT_DATA =
 *    sealedInputKeyReportData(key id, suite, public key, the window it waits, the module's SHA-256, the
 *    run configuration, the owner's nonce) and writes that as a key request (JSON).
 * 2. The data owner verifies the key request (`wasmvm-tee seal`: evidence, policy, module hash) and writes
 *    the sealed input; the run, still waiting, opens it with the private key (which never leaves this
 *    process and dies with it) and gives the plaintext to the guest as its stdin.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  b64,
  bytesToHex,
  DEFAULT_SEAL_SUITE,
  evidenceToJson,
  generateSealKeyPair,
  hexToBytes,
  moduleSha256Hex,
  openSealedInput,
  parseSealedInputFile,
  SEALED_INPUT_KEY_REQUEST_FORMAT,
  type SealedInputKeyRequest,
  type SealKeyPair,
  sealedInputKeyReportData,
} from '../binding/index.ts';
import type { TeeProvider } from '../tee/index.ts';
import { HostError } from './errors.ts';

export interface SealedInputKey {
  request: SealedInputKeyRequest;
  key: SealKeyPair;
  notAfter: number;
}

/** Make the run's key and its attested key request (step 1). */
export async function makeSealedInputKey(
  tee: TeeProvider,
  o: {
    bytecode: Uint8Array;
    /** The run configuration, exact JSON text (bound as given). */
    run: string;
    suite?: string;
    /** The data owner's nonce (0..64 bytes). */
    nonce?: Uint8Array;
    /** How long the run waits for the sealed input, ms. */
    waitMs: number;
    now?: () => number;
  },
): Promise<SealedInputKey> {
  const nonce = o.nonce ?? new Uint8Array(0);
  if (nonce.length > 64) throw new HostError('HOST_INVALID_ARGUMENT', 'sealed-input nonce: at most 64 bytes');
  const key = await generateSealKeyPair(o.suite ?? DEFAULT_SEAL_SUITE);
  const keyId = randomBytes(16).toString('base64url');
  const notBefore = Math.floor((o.now ?? Date.now)());
  const notAfter = notBefore + Math.ceil(o.waitMs);
  const moduleSha256 = moduleSha256Hex(o.bytecode);
  const reportData = sealedInputKeyReportData({
    keyId,
    suite: key.suite,
    publicKey: key.publicKey,
    notBefore,
    notAfter,
    moduleSha256: hexToBytes(moduleSha256),
    run: o.run,
    nonce,
  });
  const evidence = await tee.getEvidence(reportData);
  const request: SealedInputKeyRequest = {
    format: SEALED_INPUT_KEY_REQUEST_FORMAT,
    v: 1,
    keyId,
    seal: { suite: key.suite, publicKey: b64(key.publicKey) },
    notBefore: new Date(notBefore).toISOString(),
    notAfter: new Date(notAfter).toISOString(),
    moduleSha256,
    run: o.run,
    nonce: bytesToHex(nonce),
    evidence: evidenceToJson(evidence),
  };
  return { request, key, notAfter };
}

/** Write the key request atomically (temporary file + rename), so a watcher never reads half of it. */
export function writeKeyRequest(path: string, request: SealedInputKeyRequest): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(request, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, path);
}

/**
 * Wait (polling) for a sealed input file sealed to this run's key, then open it (step 2). A file that
 * names another key id (a stale one from an earlier run) is waited past; one that names ours but does
 * not open is an error (HOST_SEALED_INPUT: edited, or sealed to another key). Gives up at notAfter.
 */
export async function receiveSealedInput(
  k: SealedInputKey,
  path: string,
  o: { pollMs?: number; now?: () => number; onStale?: (keyId: string) => void } = {},
): Promise<Uint8Array> {
  const now = o.now ?? Date.now;
  const poll = o.pollMs ?? 200;
  let staleSeen: string | undefined;
  for (;;) {
    if (existsSync(path)) {
      let text: string | undefined;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        text = undefined; // being replaced: try again
      }
      if (text !== undefined && text.trim() !== '') {
        let file: ReturnType<typeof parseSealedInputFile> | undefined;
        try {
          file = parseSealedInputFile(text);
        } catch {
          file = undefined; // partly written by a non-atomic writer: try again until the deadline
        }
        if (file && file.keyId === k.request.keyId) {
          try {
            return await openSealedInput(k.key, k.request.keyId, file);
          } catch (e) {
            throw new HostError('HOST_SEALED_INPUT', `${path}: ${(e as Error).message}`);
          }
        }
        if (file && file.keyId !== staleSeen) {
          staleSeen = file.keyId;
          o.onStale?.(file.keyId);
        }
      }
    }
    if (now() > k.notAfter)
      throw new HostError(
        'HOST_SEALED_INPUT',
        `no sealed input for key ${k.request.keyId} at ${path} before ${k.request.notAfter}: the key is gone, run again`,
      );
    await new Promise((r) => setTimeout(r, poll));
  }
}
