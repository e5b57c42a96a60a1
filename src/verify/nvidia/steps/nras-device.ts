/**
 * One device (GPU) token of an NRAS response: signature, issuer, time, signing certificate, its digest in the
 * overall token's submods, eat_nonce, error claims and the policy's detached claims ('nvidia.nras.gpu.*').
 */
import { digestHex } from '../../../util/digest.ts';
import type { Check, Verdict } from '../../types.ts';
import { verdict } from '../../types.ts';
import { compareHexNonce } from '../hex.ts';
import { evaluateRules, type NvidiaPolicy } from '../policy.ts';
import type { NrasKeys } from './nras-keys.ts';
import type { TokenOptions } from './nras-overall.ts';
import { c, verifyToken } from './nras-token.ts';

const ERROR_CLAIM = /error/i;

/** A token's bytes as node:crypto hashed the text with 'ascii' (= latin1: the low byte of each UTF-16 unit). */
function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

export async function verifyDeviceToken(
  name: string,
  token: string,
  nrasKeys: NrasKeys,
  tokOpts: TokenOptions,
  submodDigests: Map<string, string>,
  expected: Uint8Array | undefined,
  policy: NvidiaPolicy | undefined,
): Promise<Verdict> {
  const dc: Check[] = [];
  const r = await verifyToken('nvidia.nras.gpu', token, nrasKeys.keys, nrasKeys.keyError, tokOpts);
  dc.push(r.signature, r.issuer, r.time);
  if (r.signature.outcome === 'pass') {
    const x = (await nrasKeys.keyTrust(token)) ?? { outcome: 'fail' as const, detail: 'key not found' };
    dc.push(c('nvidia.nras.gpu.signing-cert', x.outcome, `${name}: ${x.detail}`));
  } else dc.push(c('nvidia.nras.gpu.signing-cert', 'skip', `${name}: token not verified`));
  const want = submodDigests.get(name);
  const got = digestHex('sha256', asciiBytes(token));
  if (want === undefined)
    dc.push(c('nvidia.nras.gpu.digest', 'fail', `${name}: no submod digest in a verified overall token`));
  else
    dc.push(
      c(
        'nvidia.nras.gpu.digest',
        want === got ? 'pass' : 'fail',
        want === got
          ? `${name}: SHA-256 of the token equals the overall submod digest`
          : `${name}: SHA-256 ${got} != submod digest ${want}`,
      ),
    );
  const p = r.payload as Record<string, unknown> | undefined;
  const f: Record<string, unknown> = { name };
  if (p) {
    for (const k of [
      'hwmodel',
      'ueid',
      'oemid',
      'measres',
      'secboot',
      'dbgstat',
      'x-nvidia-gpu-driver-version',
      'x-nvidia-gpu-vbios-version',
      'x-nvidia-attestation-warning',
      'x-nvidia-mismatch-measurement-records',
    ])
      if (p[k] !== undefined) f[k] = p[k];
    if (expected) {
      const n = compareHexNonce(p.eat_nonce, expected);
      dc.push(c('nvidia.nras.gpu.nonce', n.ok ? 'pass' : 'fail', `${name}: eat_nonce ${n.detail}`));
    }
    const errs = Object.entries(p).filter(
      ([k, v]) => ERROR_CLAIM.test(k) && v !== null && v !== undefined && v !== false && v !== '',
    );
    const warn = p['x-nvidia-attestation-warning'];
    if (errs.length > 0)
      dc.push(
        c(
          'nvidia.nras.gpu.errors',
          'fail',
          `${name}: ${errs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('; ')}`,
        ),
      );
    else
      dc.push(
        c(
          'nvidia.nras.gpu.errors',
          'pass',
          `${name}: no error claims${warn ? `; warning: ${String(warn)}` : ''}`,
        ),
      );
    if (policy) {
      const m = evaluateRules(p, policy['detached-claims'] ?? {});
      if (p.measres !== undefined && p.measres !== 'success' && p['x-nvidia-mismatch-measurement-records'])
        m.push(
          `mismatching measurements: ${JSON.stringify(p['x-nvidia-mismatch-measurement-records']).slice(0, 300)}`,
        );
      dc.push(
        m.length === 0
          ? c('nvidia.nras.gpu.policy', 'pass', `${name}: claims meet '${policy.name}'`)
          : c('nvidia.nras.gpu.policy', 'fail', `${name}: ${m.join('; ')}`),
      );
    } else dc.push(c('nvidia.nras.gpu.policy', 'fail', `${name}: no policy`));
  } else {
    for (const id of ['nvidia.nras.gpu.nonce', 'nvidia.nras.gpu.errors', 'nvidia.nras.gpu.policy'])
      dc.push(c(id, 'skip', `${name}: token not verified`));
  }
  return verdict('nvidia-nras-gpu', dc, { fields: f });
}
