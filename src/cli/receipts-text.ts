/**
 * One line per guest attestation receipt (docs/host.md "Receipts"), for `run`, `exec --server` and
 * `verify`: `#1 vm AMD SEV-SNP [simulated] ok evidence sha256:… data sha256:… (cached)`.
 */
import type { GuestAttestationReceipt, GuestAttestations } from '../binding/index.ts';

export function receiptLine(r: GuestAttestationReceipt, i: number): string {
  const parts = [`#${i + 1}`, r.kind === 'gpu' ? `gpu ${r.gpuIndex ?? '?'}` : 'vm'];
  if (r.teeType !== undefined) parts.push(r.teeType);
  if (r.simulated === true) parts.push('[simulated]');
  parts.push(r.outcome);
  if (r.evidenceSha256 !== undefined) parts.push(`evidence sha256:${r.evidenceSha256}`);
  if (r.dataSha256 !== undefined) parts.push(`data sha256:${r.dataSha256}`);
  if (r.cached) parts.push('(cached)');
  return parts.join(' ');
}

export function receiptLines(g: GuestAttestations | undefined): string[] {
  if (!g) return [];
  const lines = g.receipts.map(receiptLine);
  if (g.truncated) lines.push(`(more calls: the claim keeps the first ${g.receipts.length})`);
  return lines;
}
