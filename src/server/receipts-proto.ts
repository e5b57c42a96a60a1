/**
 * The claim's guest attestation receipts in proto form (claim.guestAttestations →
 * WASMVMExecutionResult.guest_attestations): copies, compared field by field by verifiers.
 */
import { create } from '@bufbuild/protobuf';
import type { GuestAttestations } from '../binding/index.ts';
import { type GuestAttestation, GuestAttestationSchema } from '../gen/wasmvm/v1/wasmvm_pb.ts';

export function guestAttestationsToProto(g: GuestAttestations): GuestAttestation[] {
  return g.receipts.map((r) => {
    const p = create(GuestAttestationSchema, { kind: r.kind, outcome: r.outcome, cached: r.cached });
    if (r.gpuIndex !== undefined) p.gpuIndex = r.gpuIndex;
    if (r.teeType !== undefined) p.teeType = r.teeType;
    if (r.simulated !== undefined) p.simulated = r.simulated;
    if (r.dataSha256 !== undefined) p.dataSha256 = r.dataSha256;
    if (r.evidenceSha256 !== undefined) p.evidenceSha256 = r.evidenceSha256;
    return p;
  });
}
