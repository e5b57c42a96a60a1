/** Step 1: parse the quote ('tdx.quote.format'), expose the TD report's fields, check the QE vendor id. */
import { TdxError } from '../errors.ts';
import { isDebugTd, parseTdxQuote, type TdxQuote } from '../layout.ts';
import { hex, INTEL_QE_VENDOR_ID, type StepOutput } from './common.ts';

export function tdReportFields(q: TdxQuote): Record<string, unknown> {
  const b = q.body;
  const f: Record<string, unknown> = {
    version: q.header.version,
    bodyType: q.bodyType ?? 2,
    tdxVersion: b.teeTcbSvn2 ? '1.5' : '1.0',
    attestationKeyType: q.header.attestationKeyType,
    teeType: `0x${q.header.teeType.toString(16)}`,
    qeVendorId: hex(q.header.qeVendorId),
    userData: hex(q.header.userData),
    teeTcbSvn: hex(b.teeTcbSvn),
    mrSeam: hex(b.mrSeam),
    mrSignerSeam: hex(b.mrSignerSeam),
    seamAttributes: hex(b.seamAttributes),
    tdAttributes: hex(b.tdAttributes),
    debugTd: isDebugTd(b),
    xfam: hex(b.xfam),
    mrTd: hex(b.mrTd),
    mrConfigId: hex(b.mrConfigId),
    mrOwner: hex(b.mrOwner),
    mrOwnerConfig: hex(b.mrOwnerConfig),
    rtmr0: hex(b.rtmr[0]),
    rtmr1: hex(b.rtmr[1]),
    rtmr2: hex(b.rtmr[2]),
    rtmr3: hex(b.rtmr[3]),
    reportData: hex(b.reportData),
  };
  if (b.teeTcbSvn2) f.teeTcbSvn2 = hex(b.teeTcbSvn2);
  if (b.mrServiceTd) f.mrServiceTd = hex(b.mrServiceTd);
  return f;
}

/** The parsed quote, or undefined after a failed 'tdx.quote.format' check (verification stops). */
export function checkQuoteStructure(quote: Uint8Array, out: StepOutput): TdxQuote | undefined {
  const { checks, fields } = out;
  let q: TdxQuote;
  try {
    q = parseTdxQuote(quote);
  } catch (e) {
    checks.push({
      id: 'tdx.quote.format',
      outcome: 'fail',
      detail: e instanceof TdxError ? `${e.code}: ${e.message}` : String(e),
    });
    return undefined;
  }
  checks.push({
    id: 'tdx.quote.format',
    outcome: 'pass',
    detail: `quote v${q.header.version}, TD report ${q.body.teeTcbSvn2 ? 'TDX 1.5 (648 bytes)' : 'TDX 1.0 (584 bytes)'}, certification data type ${q.certificationType}${q.qeCert ? `/${q.qeCert.inner.type}` : ''}`,
  });
  Object.assign(fields, { td: tdReportFields(q) });
  const vendor = hex(q.header.qeVendorId);
  checks.push({
    id: 'tdx.quote.qe-vendor',
    outcome: vendor === INTEL_QE_VENDOR_ID ? 'pass' : 'fail',
    detail:
      vendor === INTEL_QE_VENDOR_ID
        ? 'QE vendor id is Intel (939a7233f79c4ca9940a0db3957f0607)'
        : `QE vendor id ${vendor} is not Intel's ${INTEL_QE_VENDOR_ID}`,
  });
  return q;
}
