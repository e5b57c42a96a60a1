/**
 * `wasmvm-tee exec --server host:port ...`: run a function on a remote wasmvm-tee server and verify
 * the response (engineer A's exec.ts delegates here when --server is given).
 */

import { readFileSync } from 'node:fs';
import { type AttestationMode, isGasLimit } from '../binding/index.ts';
import type { ExecutionMode, WasmValue } from '../engine/index.ts';
import {
  AttestedTlsPin,
  attestTls,
  createWasmvmClient,
  executeAndVerify,
  executeSealedAndVerify,
  PROTOCOLS,
  type Protocol,
  type SealingPolicy,
  type VerifyOptions,
} from '../server/index.ts';
import {
  isReferenceValuesFile,
  parseReferenceValues,
  renderValue,
  toVerifierPolicy,
  type Verdict,
  type VerifyExecutionOptions,
} from '../verify/index.ts';
import { execJsonText } from './exec-json.ts';
import { EXIT, EXIT_TABLE, exitForStatus } from './exit-codes.ts';
import { receiptLines } from './receipts-text.ts';
import { parseArgs, reportUsage, UsageError } from './usage.ts';

export const help = `Usage: wasmvm-tee exec --server HOST:PORT --wasm FILE --fn NAME [--arg V ...] [options]

Runs an exported function on a remote wasmvm-tee server, with a fresh random nonce, and verifies the
response against the request it sent (claim ↔ request, REPORT_DATA, outputs, evidence with pinned roots).
Exits 0 when the call succeeded and verification passed; 1 when verification failed; 4 when the
(verified) call trapped, 5 when it hit a limit; 2 on usage errors; 3 when the call failed on the wire
or the server returned an error.

Options:
  --server HOST:PORT       server address (or a URL: http://..., https://...)
  --wasm FILE              WebAssembly module (binary)
  --fn NAME                exported function
  --arg V                  argument (repeat); strings parsed by the function's parameter types
  --gas N                  gas limit
  --mode MODE              interp (default) | singlepass | multipass
  --attestation MODE       session-key | per-request (default: the server's)
  --gpu                    ask for GPU evidence too
  --protocol P             grpc (default) | grpc-web | connect
  --tls                    use TLS (https); --ca FILE to trust a CA, --insecure to skip verification
  --ca FILE                extra CA certificate (PEM) for TLS
  --insecure               do not verify the server's TLS certificate (testing only)
  --attested-tls           attested TLS (implies --tls; server: serve --tls-attested): fetch the attestation
                           over the connection, verify it against the policy, and send the call only over
                           connections whose TLS key is the one the attestation binds (generated inside
                           the TEE); refuses (exit 1, nothing sent) with TLS_KEY_NOT_ATTESTED or
                           TLS_KEY_MISMATCH (e.g. a TLS-terminating proxy in between). Replaces --ca/--insecure.
  --timeout-ms N           client deadline
  --trust-simulated-root F trust this simulated TEE root certificate (testing)
  --allow-simulated        accept evidence from the simulated TEE (testing)
  --no-verify              do not verify (prints NOT VERIFIED (skipped); --json says "verified": false)
  --seal                   sealed execution (docs/sealed-execution.md): fetch the server's attestation,
                           verify it against the policy, and only then send bytecode, function and
                           inputs sealed (HPKE) to its attested key; the result comes back sealed and
                           is verified as without --seal (same --json shape). Never with --no-verify.
  --policy FILE            the attestation policy: a reference-value file (docs/reference-values.md:
                           pinned measurements, TCB minimums, server build, allowSimulated) or a verify
                           policy JSON ({ "snp": ..., "tdx": ..., "nvidia": ... })
  --tee-kind KIND          with --seal: require this TEE kind (sev-snp | tdx)
  --json                   print the result as JSON, with the attestation envelope and the nonce
                           (save it: 'wasmvm-tee verify --response FILE --nonce HEX' re-checks it
                           offline; every field printed is compared with the attested claim)
  -h, --help               this help

${EXIT_TABLE}`;

function toUrl(server: string, tls: boolean): string {
  if (/^https?:\/\//.test(server)) return server.replace(/\/+$/, '');
  return `${tls ? 'https' : 'http'}://${server}`;
}

function printVerdict(v: Verdict, indent = ''): string[] {
  const lines: string[] = [];
  for (const c of v.checks) {
    if (c.outcome === 'pass' && !process.env.WASMVM_VERBOSE) continue;
    lines.push(`${indent}  [${c.outcome}] ${c.id}: ${c.detail}`);
  }
  for (const p of v.parts ?? []) {
    lines.push(`${indent}  ${p.kind}: ${p.ok ? 'OK' : 'FAILED'}`);
    lines.push(...printVerdict(p, `${indent}  `));
  }
  return lines;
}

export async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs(argv, {
      server: { type: 'string' },
      wasm: { type: 'string' },
      fn: { type: 'string' },
      arg: { type: 'string', multiple: true },
      gas: { type: 'string' },
      mode: { type: 'string' },
      attestation: { type: 'string' },
      gpu: { type: 'boolean' },
      protocol: { type: 'string' },
      tls: { type: 'boolean' },
      ca: { type: 'string' },
      insecure: { type: 'boolean' },
      'attested-tls': { type: 'boolean' },
      'timeout-ms': { type: 'string' },
      'trust-simulated-root': { type: 'string' },
      'allow-simulated': { type: 'boolean' },
      'no-verify': { type: 'boolean' },
      seal: { type: 'boolean' },
      policy: { type: 'string' },
      'tee-kind': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    }));
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('exec', e, console.error, help);
    throw e;
  }
  if (values.help) {
    console.log(help);
    return 0;
  }
  const usage = (m: string) => reportUsage('exec', new UsageError('USAGE', m), console.error);
  const server = values.server as string | undefined;
  const wasm = values.wasm as string | undefined;
  const fn = values.fn as string | undefined;
  if (!server) return usage('--server is required');
  if (!wasm) return usage('--wasm is required');
  if (!fn) return usage('--fn is required');
  const protocol = (values.protocol as string | undefined) ?? 'grpc';
  if (!PROTOCOLS.includes(protocol as Protocol)) return usage(`--protocol: one of ${PROTOCOLS.join(', ')}`);
  const mode = (values.mode as string | undefined) ?? 'interp';
  if (!['interp', 'singlepass', 'multipass'].includes(mode))
    return usage('--mode: interp, singlepass or multipass');
  const attestation = values.attestation as string | undefined;
  if (attestation !== undefined && attestation !== 'session-key' && attestation !== 'per-request')
    return usage('--attestation: session-key or per-request');
  let gasLimit: bigint | undefined;
  if (values.gas !== undefined) {
    if (!/^[0-9]+$/.test(values.gas as string) || !isGasLimit(BigInt(values.gas as string)))
      return usage('--gas: an integer in 1..2^63-1');
    gasLimit = BigInt(values.gas as string);
  }
  let timeoutMs: number | undefined;
  if (values['timeout-ms'] !== undefined) {
    if (!/^[0-9]+$/.test(values['timeout-ms'] as string)) return usage('--timeout-ms: an integer');
    timeoutMs = Number(values['timeout-ms']);
  }
  if (values.seal && values['no-verify']) return usage('--seal never skips verification: drop --no-verify');
  const attestedTls = Boolean(values['attested-tls']);
  if (attestedTls && values['no-verify'])
    return usage('--attested-tls never skips verification: drop --no-verify');
  if (attestedTls && (values.ca || values.insecure))
    return usage(
      '--attested-tls pins the attested key instead of verifying a certificate: drop --ca/--insecure',
    );
  if (attestedTls && String(server).startsWith('http://'))
    return usage('--attested-tls needs TLS: an https:// URL or HOST:PORT');
  const teeKind = values['tee-kind'] as string | undefined;
  if (teeKind !== undefined && teeKind !== 'sev-snp' && teeKind !== 'tdx')
    return usage('--tee-kind: sev-snp or tdx');
  let policy: VerifyExecutionOptions['policy'] | undefined;
  let policyAllowsSimulated = false;
  if (values.policy !== undefined) {
    try {
      let file = JSON.parse(readFileSync(values.policy as string, 'utf8')) as Record<string, unknown>;
      if (isReferenceValuesFile(file)) {
        const rv = parseReferenceValues(file);
        file = toVerifierPolicy(rv) as Record<string, unknown>;
        policyAllowsSimulated = rv.allowSimulated === true;
      }
      policy = file as VerifyExecutionOptions['policy'];
    } catch (e) {
      return reportUsage(
        'exec',
        new UsageError('BAD_INPUT', `--policy: ${(e as Error).message}`),
        console.error,
      );
    }
  }
  let bytecode: Uint8Array;
  let ca: Buffer | undefined;
  let simulatedRoot: Uint8Array | undefined;
  try {
    bytecode = new Uint8Array(readFileSync(wasm));
    if (values.ca) ca = readFileSync(values.ca as string);
    if (values['trust-simulated-root'])
      simulatedRoot = new Uint8Array(readFileSync(values['trust-simulated-root'] as string));
  } catch (e) {
    return reportUsage('exec', new UsageError('BAD_INPUT', (e as Error).message), console.error);
  }
  const tls = Boolean(values.tls) || attestedTls || String(server).startsWith('https://');
  const pin = attestedTls ? new AttestedTlsPin() : undefined;
  const client = createWasmvmClient({
    baseUrl: toUrl(server, tls),
    protocol: protocol as Protocol,
    ...(ca ? { ca } : {}),
    ...(values.insecure ? { insecureSkipVerify: true } : {}),
    ...(pin ? { attestedTls: pin } : {}),
  });
  const verify: VerifyOptions & SealingPolicy = {};
  if (values['allow-simulated'] || policyAllowsSimulated) verify.allowSimulated = true;
  if (policy) verify.extra = { policy };
  if (teeKind) verify.teeKind = teeKind as 'sev-snp' | 'tdx';
  if (simulatedRoot) verify.trustSimulatedRoot = simulatedRoot;
  if (values['no-verify']) verify.skipEvidence = true;

  let result: Awaited<ReturnType<typeof executeAndVerify>>;
  try {
    // Attested TLS: verify the attestation and pin its TLS key before the call (with --seal,
    // attestForSealing does both on its one GetAttestation).
    if (pin && values.seal) verify.attestedTls = pin;
    else if (pin) await attestTls(client, pin, verify);
    result = await (values.seal ? executeSealedAndVerify : executeAndVerify)(
      client,
      {
        bytecode,
        fn,
        args: (values.arg as string[] | undefined) ?? [],
        mode: mode as ExecutionMode,
        ...(gasLimit !== undefined ? { gasLimit } : {}),
        ...(attestation ? { attestationMode: attestation as AttestationMode } : {}),
        ...(values.gpu ? { includeGpuEvidence: true } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      },
      verify,
    );
  } catch (e) {
    const err = e as {
      code?: number | string;
      rawMessage?: string;
      message?: string;
      metadata?: Headers;
      cause?: { code?: unknown };
    };
    const code =
      err.metadata?.get?.('wasmvm-error-code') ??
      (typeof err.code === 'string' ? err.code : undefined) ??
      // a refused connection (attested TLS) reaches us as the transport error's cause
      (typeof err.cause?.code === 'string' && err.cause.code.startsWith('TLS_KEY_')
        ? err.cause.code
        : undefined);
    if (
      code === 'ATTESTATION_REJECTED' ||
      code === 'SEAL_UNAVAILABLE' ||
      code === 'TLS_KEY_NOT_ATTESTED' ||
      code === 'TLS_KEY_MISMATCH'
    ) {
      // Nothing was sent: the server's attestation (or its TLS key) did not satisfy the policy.
      if (values.json) console.log(JSON.stringify({ error: { message: err.message, code } }));
      else console.error(`wasmvm-tee exec: ${code}: ${err.message}`);
      return EXIT.VERIFICATION_FAILED;
    }
    if (values.json) console.log(JSON.stringify({ error: { message: err.rawMessage ?? err.message, code } }));
    else
      console.error(
        `wasmvm-tee exec: server error${code ? ` ${code}` : ''}: ${err.rawMessage ?? err.message}`,
      );
    return EXIT.TRANSPORT;
  }
  const r = result.response.result!;
  if (values.json) {
    console.log(execJsonText(result));
  } else {
    const show = (v: WasmValue) => `${v.type}:${renderValue(v)}`;
    console.log(
      `request ${result.response.requestId}: status ${result.status}${r.trapMessage ? ` (${r.trapMessage})` : ''}`,
    );
    console.log(`outputs: ${result.outputs.map(show).join(' ') || '(none)'}`);
    if (result.gasUsed !== undefined) console.log(`gas used: ${result.gasUsed}`);
    if (r.webgpu)
      console.log(
        `webgpu: ${r.webgpu.adapter?.device ?? '?'} (${r.webgpu.adapter?.backend ?? '?'}), ${r.webgpu.dispatches} dispatches, ${r.webgpu.workgroups} workgroups${r.webgpu.gas !== undefined ? `, gas ${r.webgpu.gas}` : ''}`,
      );
    if (r.serverBuildSha256) console.log(`server build: ${r.serverBuildSha256}`);
    const g = result.claim?.guestAttestations;
    if (g) {
      console.log(
        `guest attestations (attested in the claim): ${g.receipts.length}${g.truncated ? '+' : ''}`,
      );
      for (const l of receiptLines(g)) console.log(`  ${l}`);
    }
    console.log(`report_data: ${r.reportData}`);
    if (pin?.pinnedSpkiSha256)
      console.log(
        `attested TLS: peer key SPKI SHA-256 ${pin.pinnedSpkiSha256} (generated in the TEE, pinned)`,
      );
    console.log(
      `attestation: ${result.envelope?.mode ?? '?'}${r.simulated ? ' [SIMULATED TEE]' : ''}; verification: ${values['no-verify'] ? 'NOT VERIFIED (skipped)' : result.verdict.ok ? 'OK' : 'FAILED'}`,
    );
    for (const l of printVerdict(result.verdict)) console.log(l);
  }
  if (!values['no-verify'] && !result.verdict.ok) return EXIT.VERIFICATION_FAILED;
  return exitForStatus(result.status);
}
