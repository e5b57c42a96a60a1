/**
 * The few fields of CPU evidence the host policy and token claims need, read straight from the raw
 * report (offsets from AMD SEV-SNP ABI spec table 22 and Intel TDX DCAP quote v4 TD report body).
 * Signature and chain checks are the verifier's job (src/verify); these are only read here.
 */

import {
  AzureFormatError,
  parseAzureEvidence,
  parseHclReport,
  parseTpmsAttest,
  toHex,
} from '../formats/index.ts';
import type { CpuEvidence } from '../tee/index.ts';
import { HostError } from './errors.ts';

export interface EvidenceFields {
  measurement: string;
  reportData: string;
  debug: boolean;
}

export function evidenceFields(ev: CpuEvidence): EvidenceFields {
  if (ev.kind === 'azure-sev-snp' || ev.kind === 'azure-tdx') return azureFields(ev.report);
  return reportFields(ev.kind, ev.report);
}

/**
 * Azure vTPM evidence ('azure-vtpm/1' JSON): measurement and debug from the hardware report inside the
 * HCL report; the bound value is the quote's extraData (qualifyingData), not the hardware REPORT_DATA
 * (which holds the runtime-claims hash).
 */
function azureFields(report: Uint8Array): EvidenceFields {
  try {
    const doc = parseAzureEvidence(JSON.parse(new TextDecoder().decode(report)));
    const hcl = parseHclReport(doc.hclReport);
    const extra = parseTpmsAttest(doc.quoteMessage).extraData;
    if (hcl.teeType === 'sev-snp') {
      const f = reportFields('sev-snp', hcl.hwReport);
      return { ...f, reportData: toHex(extra) };
    }
    const td = hcl.hwReport;
    const dv = new DataView(td.buffer, td.byteOffset, td.byteLength);
    return {
      measurement: toHex(td.subarray(512 + 16, 512 + 64)),
      reportData: toHex(extra),
      debug: (dv.getBigUint64(512, true) & 1n) === 1n,
    };
  } catch (e) {
    const why = e instanceof AzureFormatError ? `${e.code}: ${e.message}` : (e as Error).message;
    throw new HostError('EVIDENCE_MALFORMED', `Azure evidence does not parse: ${why}`);
  }
}

function reportFields(kind: 'sev-snp' | 'tdx', r: Uint8Array): EvidenceFields {
  if (kind === 'sev-snp') {
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
