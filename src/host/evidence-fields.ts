/**
 * The few fields of CPU evidence the host policy and token claims need, read straight from the raw
 * report (offsets from AMD SEV-SNP ABI spec table 22 and Intel TDX DCAP quote v4 TD report body).
 * Signature and chain checks are the verifier's job (src/verify); these are only read here.
 */

import { toHex } from '../formats/index.ts';
import type { CpuEvidence } from '../tee/index.ts';
import { HostError } from './errors.ts';

export interface EvidenceFields {
  measurement: string;
  reportData: string;
  debug: boolean;
}

export function evidenceFields(ev: CpuEvidence): EvidenceFields {
  const r = ev.report;
  if (ev.kind === 'sev-snp') {
    if (r.length < 0x2a0)
      throw new HostError('EVIDENCE_TOO_SHORT', `SEV-SNP report too short (${r.length} bytes)`);
    const dv = new DataView(r.buffer, r.byteOffset, r.byteLength);
    const policy = dv.getBigUint64(0x08, true);
    return {
      measurement: toHex(r.subarray(0x90, 0x90 + 48)),
      reportData: toHex(r.subarray(0x50, 0x50 + 64)),
      debug: ((policy >> 19n) & 1n) === 1n,
    };
  }
  // TDX quote v4/v5: 48-byte header, then the TD report body.
  const body = 48;
  if (r.length < body + 584)
    throw new HostError('EVIDENCE_TOO_SHORT', `TDX quote too short (${r.length} bytes)`);
  const dv = new DataView(r.buffer, r.byteOffset, r.byteLength);
  const tdAttributes = dv.getBigUint64(body + 120, true);
  return {
    measurement: toHex(r.subarray(body + 136, body + 136 + 48)),
    reportData: toHex(r.subarray(body + 520, body + 520 + 64)),
    debug: (tdAttributes & 1n) === 1n,
  };
}
