/**
 * Tokens for locally verified GPU evidence. They are issued by OUR attested key (the session key's
 * `Attester.signJwt`, ES384, whose public key is bound into the CPU report), never with a shared
 * secret or `alg: none`: a relying party checks the CPU report, then this token with the key the
 * report binds. Claim names follow NRAS's detached EAT so the same appraisal policy applies.
 */

import { decodeBase64Loose } from '../../formats/index.ts';
import { fromUtf8 } from '../../util/text-codec.ts';
import type { Verdict } from '../types.ts';
import { NvidiaVerifyError } from './errors.ts';

/** Anything that signs a JWT with the attested key (C's Attester). */
export interface AttestedJwtSigner {
  signJwt(claims: Record<string, unknown>): Promise<string>;
}

export const LOCAL_GPU_TOKEN_ISSUER = 'wasmvm-tee/nvidia-local-verifier';

/** Claims describing local GPU verdicts (one submod per GPU), for `signer.signJwt`. */
export function localGpuClaims(
  verdicts: Verdict[],
  nonceHex: string,
  now: Date = new Date(),
): Record<string, unknown> {
  const submods: Record<string, unknown> = {};
  verdicts.forEach((v, i) => {
    const f = v.fields ?? {};
    const name = `GPU-${typeof f.index === 'number' ? f.index : i}`;
    const outcome = (id: string) => v.checks.find((c) => c.id === id)?.outcome ?? 'skip';
    submods[name] = {
      measres:
        outcome('nvidia.measurements') === 'pass'
          ? 'success'
          : outcome('nvidia.measurements') === 'fail'
            ? 'fail'
            : 'not-appraised',
      hwmodel: f.hwmodel,
      ueid: f.ueid,
      'x-nvidia-gpu-driver-version': f.driverVersion,
      'x-nvidia-gpu-vbios-version': f.vbiosVersion,
      'x-nvidia-gpu-attestation-report-signature-verified': outcome('nvidia.spdm.signature') === 'pass',
      'x-nvidia-gpu-attestation-report-nonce-match': outcome('nvidia.nonce') === 'pass',
      'x-nvidia-gpu-attestation-report-cert-chain-validated': [
        'nvidia.chain.root-pinned',
        'nvidia.chain.signatures',
        'nvidia.chain.validity',
      ].every((id) => outcome(id) === 'pass'),
      'x-nvidia-gpu-attestation-report-cert-chain-fwid-match': outcome('nvidia.chain.fwid') === 'pass',
      'x-wasmvm-revocation-checked': outcome('nvidia.chain.revocation') === 'pass',
      'x-wasmvm-checks': v.checks.map((c) => `${c.id}:${c.outcome}`),
    };
  });
  const iat = Math.floor(now.getTime() / 1000);
  return {
    iss: LOCAL_GPU_TOKEN_ISSUER,
    sub: 'NVIDIA-GPU-LOCAL-ATTESTATION',
    iat,
    nbf: iat,
    exp: iat + 3600,
    eat_nonce: nonceHex.toLowerCase(),
    'x-nvidia-overall-att-result': verdicts.length > 0 && verdicts.every((v) => v.ok),
    submods,
  };
}

/** Sign the local verdicts with the attested key. Rejects a signer that produced a non-ES384 token. */
export async function issueLocalGpuToken(
  verdicts: Verdict[],
  nonceHex: string,
  signer: AttestedJwtSigner,
  now?: Date,
): Promise<string> {
  const jwt = await signer.signJwt(localGpuClaims(verdicts, nonceHex, now));
  const header = JSON.parse(fromUtf8(decodeBase64Loose(jwt.split('.')[0] ?? ''))) as {
    alg?: string;
  };
  if (header.alg !== 'ES384')
    throw new NvidiaVerifyError(
      'NVIDIA_TOKEN_ALG',
      `attested signer produced alg '${String(header.alg)}', expected ES384`,
    );
  return jwt;
}
