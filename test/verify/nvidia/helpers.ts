import { readFileSync } from 'node:fs';
import type { GpuEvidence } from '../../../src/tee/nvidia/types.ts';

export const DATA = new URL('../../data/nvidia/', import.meta.url);

export function dataText(name: string): string {
  return readFileSync(new URL(name, DATA), 'utf8');
}
export function dataJson<T = unknown>(name: string): T {
  return JSON.parse(dataText(name)) as T;
}

export const NONCE_1GPU = '080c405ce6789e1761445180029523df3ae49576043f7f0868413a38e5e9a84e';
export const NONCE_8GPU = 'e79c2ec87ccfa76f3aef88deec0687facbd85d1689d82b0cc2de1353f7a62609';
export const NONCE_BLACKWELL = '931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb';
/** Inside the recorded tokens' iat..exp window (iat ≈ 1782698812..883, exp ≈ +3600). */
export const NRAS_CLOCK = new Date(1782699000 * 1000);

export function jwks(): { keys: Record<string, unknown>[] } {
  return dataJson('nras-jwks-2026-06-29.json');
}

export function nrasRequestEvidence(name: string): GpuEvidence[] {
  const body = dataJson<{ nonce: string; arch: string; evidence_list: GpuEvidence[] }>(name);
  return body.evidence_list.map((e) => ({ ...e, nonce: e.nonce ?? body.nonce, arch: e.arch ?? body.arch }));
}

export function hopperEvidence(): GpuEvidence {
  return dataJson<GpuEvidence[]>('nvat-hopper-evidence.json')[0]!;
}

export function blackwellEvidence(): GpuEvidence {
  return {
    arch: 'BLACKWELL',
    evidence: Buffer.from(dataText('nvat-blackwell-attestation-report.hex.txt').trim(), 'hex').toString(
      'base64',
    ),
    certificate: Buffer.from(dataText('nvat-blackwell-cert-chain.pem')).toString('base64'),
    nonce: NONCE_BLACKWELL,
  };
}

export function checkOf(v: { checks: { id: string; outcome: string; detail: string }[] }, id: string) {
  const c = v.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id} in ${v.checks.map((x) => x.id).join(', ')}`);
  return c;
}
