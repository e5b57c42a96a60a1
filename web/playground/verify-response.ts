/**
 * `wasmvmTee.verifyResponse(response, { nonce, request?, trustSimulatedRoot?, policy? })`: the page's
 * verifier for what `wasmvm-tee exec --server … --json` saves (or the proto JSON of an Execute response),
 * the same call `wasmvm-tee verify --response FILE --nonce HEX [--request F] [--trust-simulated-root F]
 * [--policy F]` makes: src/verify's verifyExecution, here on WebCrypto, with only the pinned roots the
 * bundle ships (plus a simulated root when the caller passes its PEM).
 */
import {
  isReferenceValuesFile,
  parseReferenceValues,
  toVerifierPolicy,
  type Verdict,
  type VerifyExecutionOptions,
  verifyExecution,
} from '../../src/verify/browser.ts';
import { PlaygroundError } from './errors.ts';

export interface VerifyResponseOptions {
  /** The nonce you sent, hex. Required (freshness) unless `request` carries it or `freshness: 'skip'`. */
  nonce?: string;
  /** The request that was sent (proto JSON of WASMVMExecutionRequest): its input side is compared too. */
  request?: unknown;
  /** A simulated TEE root to trust (PEM text; `wasmvm-tee attest --print-simulated-root`), or several. */
  trustSimulatedRoot?: string | readonly string[];
  /** A reference-value file (docs/reference-values.md) or a verify policy `{ snp, tdx, nvidia }`, parsed. */
  policy?: unknown;
  /** 'skip': do not check freshness (the verdict says so), like `--no-nonce`. */
  freshness?: 'require' | 'skip';
  /** Verification time (default now), like `--now`. */
  now?: Date | string;
}

function requestHasNonce(req: unknown): boolean {
  const ex = (req as { execution?: { nonce?: unknown } } | undefined)?.execution;
  return typeof ex?.nonce === 'string' && ex.nonce !== '';
}

function parsed(x: unknown, what: string): unknown {
  if (typeof x !== 'string') return x;
  try {
    return JSON.parse(x);
  } catch (e) {
    throw new PlaygroundError('BAD_INPUT', `${what} is not JSON: ${(e as Error).message}`);
  }
}

/** verifyExecution's options for these arguments (what src/cli/verify.ts builds from its flags). */
export function verifyOptions(response: unknown, opts: VerifyResponseOptions = {}): VerifyExecutionOptions {
  const o: VerifyExecutionOptions = { response: parsed(response, 'the response') };
  if (opts.request !== undefined) o.request = parsed(opts.request, 'the request');
  if (opts.nonce !== undefined && opts.nonce !== '') {
    if (typeof opts.nonce !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(opts.nonce))
      throw new PlaygroundError('BAD_INPUT', 'nonce: hex, an even number of digits');
    if (opts.freshness === 'skip')
      throw new PlaygroundError('BAD_INPUT', "give a nonce or freshness: 'skip', not both");
    o.nonce = opts.nonce.toLowerCase();
  } else if (opts.freshness === 'skip') o.freshness = 'skip';
  else if (!requestHasNonce(o.request))
    throw new PlaygroundError(
      'BAD_INPUT',
      "no nonce: give the nonce you sent (nonce, or a request carrying it) to check freshness, or freshness: 'skip'",
    );
  if (opts.trustSimulatedRoot !== undefined) {
    const roots =
      typeof opts.trustSimulatedRoot === 'string' ? [opts.trustSimulatedRoot] : opts.trustSimulatedRoot;
    const nonEmpty = roots.filter((r) => r.trim() !== '');
    if (nonEmpty.length > 0) o.trustSimulatedRoot = nonEmpty;
  }
  if (opts.policy !== undefined && opts.policy !== null && opts.policy !== '') {
    let p = parsed(opts.policy, 'the policy');
    if (isReferenceValuesFile(p)) p = toVerifierPolicy(parseReferenceValues(p));
    o.policy = p as VerifyExecutionOptions['policy'];
  }
  if (opts.now !== undefined) {
    const now = new Date(opts.now);
    if (Number.isNaN(now.getTime()))
      throw new PlaygroundError('BAD_INPUT', `now: not a time: ${String(opts.now)}`);
    o.now = now;
  }
  return o;
}

export async function verifyResponse(response: unknown, opts: VerifyResponseOptions = {}): Promise<Verdict> {
  return verifyExecution(undefined, verifyOptions(response, opts));
}
