/**
 * verifySealedInputKeyRequest: the key request a `wasmvm-tee run --sealed-input` writes, checked before
 * a data owner seals anything to it (docs/sealed-execution.md §10).
 */
import {
  bytesToHex,
  evidenceFromJson,
  parseSealedInputKeyRequest,
  type SealedInputKeyRequest,
  sealedInputKeyReportData,
  sealedInputKeyRequestData,
} from '../../binding/index.ts';
import type { Check, Verdict } from '../types.ts';
import { verdict } from '../types.ts';
import { eq, fail, hexNonce, pass, SKEW_MS, type VerifyExecutionOptions } from './common.ts';
import { type Cpu, evidenceReportData, verifyCpu } from './evidence.ts';

export interface VerifySealedInputOptions
  extends Omit<VerifyExecutionOptions, 'claim' | 'response' | 'request' | 'nonce'> {
  /** The module the data is meant for: its SHA-256 (64 hex). Required: the run's module is not measured. */
  moduleSha256: string;
  /** The nonce the data owner gave the run (hex or bytes); absent: the request must carry none… or any. */
  nonce?: Uint8Array | string;
  /** Require this exact run configuration text (absent: shown in fields.run, not checked). */
  run?: string;
}

/**
 * Verify a sealed-input key request: shape; the module hash is the expected one; the owner's nonce; the
 * key's window contains the verification time; the evidence's REPORT_DATA = sealedInputKeyReportData(the
 * request's key, window, module hash, run configuration, nonce); and the evidence itself (chain to the
 * pinned roots, policy, simulated or not). On success, sealing to `seal.publicKey` reaches only this run.
 */
export async function verifySealedInputKeyRequest(
  input: unknown,
  opts: VerifySealedInputOptions,
): Promise<Verdict> {
  const checks: Check[] = [];
  const fields: Record<string, unknown> = {};
  let req: SealedInputKeyRequest;
  try {
    req = parseSealedInputKeyRequest(input);
  } catch (e) {
    return verdict('sealed-input-key', [fail('sealed-input.parse', (e as Error).message)]);
  }
  Object.assign(fields, {
    keyId: req.keyId,
    suite: req.seal.suite,
    moduleSha256: req.moduleSha256,
    run: req.run,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
  });
  const want = opts.moduleSha256.replace(/^sha256:/, '').toLowerCase();
  const moduleOk = req.moduleSha256 === want;
  checks.push(
    (moduleOk ? pass : fail)(
      'sealed-input.module',
      moduleOk
        ? `the run gives the input to module ${want}`
        : `the run's module is ${req.moduleSha256}, not ${want}: refusing`,
    ),
  );
  if (opts.run !== undefined) {
    const runOk = req.run === opts.run;
    checks.push(
      (runOk ? pass : fail)(
        'sealed-input.run',
        runOk ? 'the run configuration is the expected one' : `the run configuration differs: ${req.run}`,
      ),
    );
  }
  if (opts.nonce !== undefined) {
    let n: Uint8Array;
    try {
      n = typeof opts.nonce === 'string' ? hexNonce(opts.nonce) : new Uint8Array(opts.nonce);
    } catch (e) {
      return verdict('sealed-input-key', [...checks, fail('sealed-input.nonce', (e as Error).message)], {
        fields,
      });
    }
    const ok = req.nonce === bytesToHex(n);
    checks.push(
      (ok ? pass : fail)(
        'sealed-input.nonce',
        ok ? 'the key request carries our nonce' : `key request nonce '${req.nonce}' ≠ ${bytesToHex(n)}`,
      ),
    );
  }
  let expected: Uint8Array;
  let cpu: Cpu;
  try {
    const d = sealedInputKeyRequestData(req);
    const nowMs = (opts.now ?? new Date()).getTime();
    const skew = opts.clockSkewMs ?? SKEW_MS;
    const inside = d.notBefore - skew <= nowMs && nowMs <= d.notAfter;
    checks.push(
      (inside ? pass : fail)(
        'sealed-input.key-validity',
        `the run waits ${req.notBefore} – ${req.notAfter} (attested); now ${new Date(nowMs).toISOString()}${inside ? '' : ' OUTSIDE the window: the run no longer waits, its key is gone'}`,
      ),
    );
    expected = sealedInputKeyReportData(d);
    cpu = evidenceFromJson(req.evidence);
  } catch (e) {
    checks.push(fail('sealed-input.binding', (e as Error).message));
    return verdict('sealed-input-key', checks, { fields });
  }
  const inEvidence = evidenceReportData(cpu);
  checks.push(
    inEvidence && eq(inEvidence, expected)
      ? pass(
          'sealed-input.binding',
          'evidence REPORT_DATA = SHA-512(domain ‖ key id ‖ suite ‖ public key ‖ window ‖ module ‖ run ‖ nonce)',
        )
      : fail(
          'sealed-input.binding',
          'the evidence does not bind this key, module, run configuration and nonce',
        ),
  );
  const part = await verifyCpu(cpu, expected, opts);
  fields.simulated = part.fields?.simulated === true;
  fields.teeKind = cpu.kind;
  return verdict('sealed-input-key', checks, { fields, parts: [part] });
}
