/**
 * The JSON that `wasmvm-tee exec --server … --json` prints for a verified (or --no-verify) Execute call:
 * one shape, shared by the CLI and the browser playground (web/playground: its "download the response
 * JSON" saves exactly this), so that `wasmvm-tee verify --response FILE` and the page's
 * `wasmvmTee.verifyResponse` read either. No Node APIs: the playground bundles this file.
 */
import { type ExecutionClaim, valueToDisplayJson, type WasmValue } from '../binding/index.ts';
import type { WASMVMExecutionResponse } from '../gen/wasmvm/v1/wasmvm_pb.ts';
import { bytesToHex } from '../util/text-codec.ts';
import type { Verdict } from '../verify/index.ts';

/** What execJsonText reads of an executeAndVerify / executeSealedAndVerify result (src/server/client.ts). */
export interface ExecJsonInput {
  response: WASMVMExecutionResponse;
  outputs: WasmValue[];
  claim?: ExecutionClaim;
  verified: boolean;
  verdict: Verdict;
}

function modeName(m: number): string {
  return m === 1 ? 'singlepass' : m === 2 ? 'multipass' : 'interp';
}

/** bigint → decimal string, bytes → hex (the CLI's replacer since the first --json). */
function jsonReplacer(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return bytesToHex(v);
  return v;
}

/** The `exec --server … --json` text (2-space indented JSON) of one call's result. */
export function execJsonText(result: ExecJsonInput): string {
  const r = result.response.result!;
  const out: Record<string, unknown> = {
    requestId: result.response.requestId,
    status: r.status,
  };
  if (r.trapMessage) out.trapMessage = r.trapMessage;
  out.outputs = result.outputs.map(valueToDisplayJson);
  out.inputs = [...r.inputs];
  if (r.exitCode !== undefined) out.exitCode = r.exitCode;
  if (r.gasUsed !== undefined) out.gasUsed = r.gasUsed.toString();
  if (r.costTableVersion) out.costTableVersion = r.costTableVersion;
  out.bytecodeSha256 = r.bytecodeSha256;
  out.mode = modeName(r.mode);
  out.nonce = bytesToHex(r.nonce);
  out.reportData = r.reportData;
  out.attestationMode =
    r.attestationMode === 1 ? 'per-request' : r.attestationMode === 2 ? 'session-key' : 'default';
  // the envelope exactly as the server sent it: `wasmvm-tee verify --response FILE` re-checks a saved result
  out.attestation = r.attestation;
  out.simulated = r.simulated;
  if (r.webgpu) {
    const w = r.webgpu;
    const a = w.adapter;
    out.webgpu = {
      vendor: a?.vendor ?? '',
      architecture: a?.architecture ?? '',
      device: a?.device ?? '',
      description: a?.description ?? '',
      backend: a?.backend ?? '',
      featureLevel: a?.featureLevel ?? '',
      calls: w.calls.toString(),
      dispatches: w.dispatches.toString(),
      workgroups: w.workgroups.toString(),
      bytesToGpu: w.bytesToGpu.toString(),
      bytesFromGpu: w.bytesFromGpu.toString(),
      ...(w.gas !== undefined ? { gas: w.gas.toString() } : {}),
      gasTableVersion: w.gasTableVersion,
    };
  }
  if (r.serverBuildSha256) out.serverBuildSha256 = r.serverBuildSha256;
  // what the guest itself attested, as the response shows it (truncated: the claim's flag)
  if (r.guestAttestations.length > 0)
    out.guestAttestations = {
      receipts: r.guestAttestations.map((x) => ({
        kind: x.kind,
        ...(x.gpuIndex !== undefined ? { gpuIndex: x.gpuIndex } : {}),
        ...(x.teeType !== undefined ? { teeType: x.teeType } : {}),
        ...(x.simulated !== undefined ? { simulated: x.simulated } : {}),
        ...(x.dataSha256 !== undefined ? { dataSha256: x.dataSha256 } : {}),
        ...(x.evidenceSha256 !== undefined ? { evidenceSha256: x.evidenceSha256 } : {}),
        outcome: x.outcome,
        cached: x.cached,
      })),
      truncated: result.claim?.guestAttestations?.truncated ?? false,
    };
  // not attested (the verifier lists them as unverified): this run's own conclusion
  out.verified = result.verified;
  out.verdict = result.verdict;
  return JSON.stringify(out, jsonReplacer, 2);
}
