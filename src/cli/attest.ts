/**
 * `wasmvm-tee attest`: fresh local evidence from the detected TEE (or the simulated one), and the simulated
 * root for `verify --trust-simulated-root`.
 */
import { writeFileSync } from 'node:fs';
import { EXIT, EXIT_TABLE } from './exit-codes.ts';
import { parseArgs, reportUsage, UsageError } from './usage.ts';

export const summary = 'print fresh local attestation evidence (or the simulated root)';

export const help = `Usage: wasmvm-tee attest [--nonce HEX | --report-data HEX] [--json] [--out-report F] [--out-certs F]
       wasmvm-tee attest --print-simulated-root

Gets a fresh report from this machine's TEE: configfs-tsm, /dev/sev-guest, TDX, the Azure vTPM (azure-vtpm),
or (when none is present) the SIMULATED TEE, with a warning. REPORT_DATA is --report-data (64 bytes), or --nonce (up to 64 bytes)
zero-padded to 64 bytes, or zeros.

Options:
  --nonce HEX               bind this nonce (≤ 64 bytes, zero-padded) into REPORT_DATA
  --report-data HEX         exact REPORT_DATA (64 bytes)
  --provider NAME           force configfs-tsm | sev-guest | tdx | azure-vtpm | simulated
  --state-dir DIR           the simulated TEE's key chain (default $WASMVM_TEE_STATE_DIR or ~/.wasmvm-tee/simulated)
  --out-report FILE         write the raw report (1184 bytes for SEV-SNP) to FILE
  --out-certs FILE          write the certificate table (auxblob) to FILE
  --json                    print the evidence as JSON (binary fields base64, as in the attestation envelope)
  --print-simulated-root    print the simulated ARK certificate (PEM) to trust with
                            'wasmvm-tee verify --trust-simulated-root FILE', and exit

${EXIT_TABLE}
`;

export async function main(argv: string[]): Promise<number> {
  let values: Record<string, unknown>;
  try {
    values = parseArgs(argv, {
      nonce: { type: 'string' },
      'report-data': { type: 'string' },
      provider: { type: 'string' },
      'state-dir': { type: 'string' },
      'out-report': { type: 'string' },
      'out-certs': { type: 'string' },
      json: { type: 'boolean' },
      'print-simulated-root': { type: 'boolean' },
    }).values;
    const hex = (values['report-data'] ?? values.nonce) as string | undefined;
    if (hex !== undefined && !/^([0-9a-fA-F]{2})+$/.test(hex))
      throw new UsageError('USAGE', '--nonce/--report-data must be hex');
    if (hex !== undefined) {
      const n = hex.length / 2;
      if (values['report-data'] !== undefined ? n !== 64 : n > 64)
        throw new UsageError('USAGE', '--report-data must be 64 bytes, --nonce at most 64');
    }
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('attest', e, console.error, help);
    throw e;
  }
  // The TEE providers and the report parser load only when the verb runs (--help stays fast).
  const { detectTee, SimulatedSevSnpProvider } = await import('../tee/index.ts');
  const { evidenceToJson } = await import('../binding/index.ts');
  const { describeReport, parseReport } = await import('../verify/index.ts');
  const stateDir = values['state-dir'] as string | undefined;
  if (values['print-simulated-root']) {
    const sim = new SimulatedSevSnpProvider({ ...(stateDir ? { stateDir } : {}), warn: false });
    process.stdout.write(await sim.rootPem());
    return EXIT.OK;
  }
  const rd = new Uint8Array(64);
  const hexArg = (values['report-data'] ?? values.nonce) as string | undefined;
  if (hexArg !== undefined) rd.set(Buffer.from(hexArg, 'hex'));
  let provider: Awaited<ReturnType<typeof detectTee>>;
  try {
    provider = await detectTee({
      ...(typeof values.provider === 'string' ? { force: values.provider } : {}),
      ...(stateDir ? { stateDir } : {}),
    });
  } catch (e) {
    // a forced provider that is not here: the command line asked for it
    if (typeof values.provider !== 'string') throw e;
    return reportUsage(
      'attest',
      new UsageError('BAD_INPUT', `--provider: ${(e as Error).message}`),
      console.error,
    );
  }
  const ev = await provider.getEvidence(rd);
  if (typeof values['out-report'] === 'string') writeFileSync(values['out-report'], ev.report);
  if (typeof values['out-certs'] === 'string' && ev.auxblob) writeFileSync(values['out-certs'], ev.auxblob);
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          provider: provider.description,
          reportData: Buffer.from(rd).toString('hex'),
          evidence: evidenceToJson(ev, { includeAuxblob: true }),
        },
        null,
        2,
      ),
    );
    return EXIT.OK;
  }
  console.log(
    `provider: ${provider.description}${ev.simulated ? '  *** SIMULATED: proves nothing ***' : ''}`,
  );
  if (ev.kind === 'sev-snp') {
    const d = describeReport(parseReport(ev.report));
    for (const k of [
      'version',
      'product',
      'vmpl',
      'policy',
      'measurement',
      'reportData',
      'chipId',
      'reportedTcb',
    ])
      console.log(`${k}: ${typeof d[k] === 'object' ? JSON.stringify(d[k]) : String(d[k])}`);
  } else {
    console.log(`${ev.kind} evidence: ${ev.report.length} bytes`);
  }
  console.log(`certificates: ${Object.keys(ev.certs ?? {}).join(', ') || '(none)'}`);
  return EXIT.OK;
}
