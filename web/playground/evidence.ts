/**
 * The decoded evidence of a verified response, for people: TEE kind, measurement, TCB versions, policy,
 * chip id (SEV-SNP) or PCK FMSPC (TDX), and whether it is simulated. Read from the verdict's fields (what
 * the verifier decoded) and, for TDX's measurement registers, from the quote in the envelope.
 */
import { evidenceFromJson, parseEnvelope } from '../../src/binding/index.ts';
import { bytesToHex } from '../../src/util/text-codec.ts';
import { parseTdxQuote, type Verdict } from '../../src/verify/browser.ts';

export interface EvidenceRow {
  label: string;
  value: string;
}

/** Every verdict in the tree, depth first (the verdict itself first). */
export function allVerdicts(v: Verdict): Verdict[] {
  return [v, ...(v.parts ?? []).flatMap(allVerdicts)];
}

function tcbText(t: unknown): string {
  if (!t || typeof t !== 'object') return String(t);
  const o = t as Record<string, unknown>;
  const parts = Object.entries(o)
    .filter(([k]) => k !== 'hex')
    .map(([k, v]) => `${k} ${String(v)}`);
  return `${String(o.hex ?? '')}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

function envelopeOf(response: unknown): ReturnType<typeof parseEnvelope> | undefined {
  const att = (response as { attestation?: unknown; result?: { attestation?: unknown } } | undefined) ?? {};
  const raw = att.attestation ?? att.result?.attestation;
  try {
    return raw === undefined ? undefined : parseEnvelope(raw);
  } catch {
    return undefined;
  }
}

export function evidenceRows(v: Verdict, response: unknown): EvidenceRow[] {
  const rows: EvidenceRow[] = [];
  const all = allVerdicts(v);
  const add = (label: string, value: unknown) => {
    if (value !== undefined && value !== null && value !== '') rows.push({ label, value: String(value) });
  };
  const env = envelopeOf(response);
  if (env) add('Attestation mode', env.mode);
  const simulated = all.some((x) => x.fields?.simulated === true);
  const snp = all.find((x) => x.kind === 'sev-snp');
  const tdx = all.find((x) => x.kind === 'tdx');
  const evidenceJson = env?.evidence ?? env?.session?.evidence;
  add(
    'TEE kind',
    snp
      ? 'AMD SEV-SNP'
      : tdx
        ? 'Intel TDX'
        : (evidenceJson?.kind ?? all.find((x) => x.fields?.evidenceKind)?.fields?.evidenceKind),
  );
  add(
    'Simulated',
    simulated
      ? 'yes: SIMULATED TEE, proves nothing about hardware'
      : v.ok
        ? 'no (the chain ends at a pinned vendor root)'
        : evidenceJson?.simulated === true
          ? 'yes, as the evidence says (not verified)'
          : 'unknown (not verified)',
  );
  const report = snp?.fields?.report as Record<string, unknown> | undefined;
  if (report) {
    add('Product', report.product);
    add('Measurement', report.measurement);
    add(
      'Guest policy',
      `${String(report.policy)}${report.policyDecoded ? ` ${JSON.stringify(report.policyDecoded)}` : ''}`,
    );
    add('VMPL', report.vmpl);
    add('Current TCB', tcbText(report.currentTcb));
    add('Reported TCB', tcbText(report.reportedTcb));
    add('Committed TCB', tcbText(report.committedTcb));
    add('Launch TCB', tcbText(report.launchTcb));
    add('Chip id', report.chipId);
    add('Host data', report.hostData);
  }
  if (tdx) {
    if (evidenceJson) {
      try {
        const ev = evidenceFromJson(evidenceJson);
        const q = parseTdxQuote(ev.report);
        add('MRTD (measurement)', bytesToHex(q.body.mrTd));
        for (const [i, r] of q.body.rtmr.entries()) add(`RTMR${i}`, bytesToHex(r));
        add('TD attributes', bytesToHex(q.body.tdAttributes));
        add('TEE TCB SVN', bytesToHex(q.body.teeTcbSvn));
      } catch {
        // the verdict says why the quote does not parse
      }
    }
    const pck = tdx.fields?.pck as { fmspc?: string } | undefined;
    add('PCK FMSPC', pck?.fmspc);
    const tcb = tdx.fields?.tcb as { status?: string; tcbDate?: string } | undefined;
    add('TCB status', tcb?.status);
    add('TCB date', tcb?.tcbDate);
  }
  const gpus = all.filter((x) => x.kind.startsWith('nvidia'));
  if (gpus.length > 0)
    add('GPU evidence', gpus.map((g) => `${g.kind}: ${g.ok ? 'verified' : 'FAILED'}`).join('; '));
  add('Session identity', all.find((x) => typeof x.fields?.identity === 'string')?.fields?.identity);
  add(
    'Server build',
    all.find((x) => typeof x.fields?.serverBuildSha256 === 'string')?.fields?.serverBuildSha256,
  );
  add('Issued at', v.fields?.issuedAt);
  return rows;
}
