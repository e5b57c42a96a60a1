/**
 * `wasmvm-tee seal`: the data owner's half of `run --sealed-input` (docs/sealed-execution.md §10).
 * Verifies a run's key request (evidence, policy, the module it names) and only then seals a file to it.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { EXIT, EXIT_TABLE } from './exit-codes.ts';
import { parseArgs, reportUsage, UsageError } from './usage.ts';

export const summary = "seal a file to a run's attested key (the data owner's side of run --sealed-input)";

export const help = `Usage: wasmvm-tee seal --key-request REQ --in DATA --out SEALED (--wasm FILE | --module-sha256 HEX) [options]

Reads the key request a 'wasmvm-tee run --sealed-input … --key-request REQ' wrote, verifies it — the
evidence (chain to the pinned roots, your policy, simulated or not) binds this key, the module you name,
the run configuration and your nonce, and the run is still waiting — and only then seals DATA to the key
(HPKE, the same protocol as ExecuteSealed). Nothing is written unless the request verifies.

Options:
  --key-request FILE       the run's key request (JSON)
  --in FILE                the data to seal ('-' = stdin)
  --out FILE               the sealed input to write (the run waits for this path)
  --wasm FILE              the module the data is for (its SHA-256 must be the request's)
  --module-sha256 HEX      … or its SHA-256
  --nonce HEX              the nonce you gave the run (--nonce on run): the request must carry it
  --run-config JSON        require exactly this run configuration text (else it is shown, not checked)
  --policy FILE            a reference-value file (docs/reference-values.md) or a verify policy JSON
  --tee-kind KIND          require this TEE kind (sev-snp | tdx)
  --allow-simulated        accept evidence from the simulated TEE (testing)
  --trust-simulated-root F trust this simulated TEE root certificate (testing)
  --json                   print the verdict as JSON
  -h, --help               this help

Exits 0 when sealed, 1 when the request did not verify (nothing written), 2 on usage or input errors.

${EXIT_TABLE}`;

export async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs(argv, {
      'key-request': { type: 'string' },
      in: { type: 'string' },
      out: { type: 'string' },
      wasm: { type: 'string' },
      'module-sha256': { type: 'string' },
      nonce: { type: 'string' },
      'run-config': { type: 'string' },
      policy: { type: 'string' },
      'tee-kind': { type: 'string' },
      'allow-simulated': { type: 'boolean' },
      'trust-simulated-root': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    }));
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('seal', e, console.error, help);
    throw e;
  }
  if (values.help) {
    console.log(help);
    return EXIT.OK;
  }
  const usage = (m: string, code: 'USAGE' | 'BAD_INPUT' = 'USAGE') =>
    reportUsage('seal', new UsageError(code, m), console.error);
  const reqPath = values['key-request'] as string | undefined;
  const inPath = values.in as string | undefined;
  const outPath = values.out as string | undefined;
  if (!reqPath || !inPath || !outPath) return usage('--key-request, --in and --out are required');
  if (Boolean(values.wasm) === Boolean(values['module-sha256']))
    return usage('name the module the data is for: --wasm FILE or --module-sha256 HEX (one of them)');
  const teeKind = values['tee-kind'] as string | undefined;
  if (teeKind !== undefined && teeKind !== 'sev-snp' && teeKind !== 'tdx')
    return usage('--tee-kind: sev-snp or tdx');
  if (
    values['module-sha256'] !== undefined &&
    !/^(?:sha256:)?[0-9a-fA-F]{64}$/.test(values['module-sha256'] as string)
  )
    return usage('--module-sha256: 64 hex digits');
  if (values.nonce !== undefined && !/^(?:[0-9a-fA-F]{2}){1,64}$/.test(values.nonce as string))
    return usage('--nonce: 1..64 bytes of hex');

  const binding = await import('../binding/index.ts');
  const verify = await import('../verify/index.ts');
  let request: unknown;
  let data: Uint8Array;
  let moduleSha256: string;
  let policy: Record<string, unknown> | undefined;
  let policyAllowsSimulated = false;
  let simulatedRoot: Uint8Array | undefined;
  try {
    request = JSON.parse(readFileSync(reqPath, 'utf8'));
    data = new Uint8Array(readFileSync(inPath === '-' ? 0 : inPath));
    moduleSha256 = values.wasm
      ? binding.moduleSha256Hex(new Uint8Array(readFileSync(values.wasm as string)))
      : (values['module-sha256'] as string);
    if (values.policy !== undefined) {
      let file = JSON.parse(readFileSync(values.policy as string, 'utf8')) as Record<string, unknown>;
      if (verify.isReferenceValuesFile(file)) {
        const rv = verify.parseReferenceValues(file);
        file = verify.toVerifierPolicy(rv) as Record<string, unknown>;
        policyAllowsSimulated = rv.allowSimulated === true;
      }
      policy = file;
    }
    if (values['trust-simulated-root'])
      simulatedRoot = new Uint8Array(readFileSync(values['trust-simulated-root'] as string));
  } catch (e) {
    return usage((e as Error).message, 'BAD_INPUT');
  }
  const v = await verify.verifySealedInputKeyRequest(request, {
    moduleSha256,
    ...(values.nonce !== undefined ? { nonce: values.nonce as string } : {}),
    ...(values['run-config'] !== undefined ? { run: values['run-config'] as string } : {}),
    ...(policy ? { policy: policy as never } : {}),
    ...(values['allow-simulated'] || policyAllowsSimulated ? { allowSimulated: true } : {}),
    ...(simulatedRoot ? { trustSimulatedRoot: simulatedRoot } : {}),
  });
  const kindOk = teeKind === undefined || v.fields?.teeKind === teeKind;
  if (!v.ok || !kindOk) {
    data.fill(0);
    const failing: string[] = [];
    const walk = (x: typeof v) => {
      for (const c of x.checks) if (c.outcome === 'fail') failing.push(`${c.id}: ${c.detail}`);
      for (const p of x.parts ?? []) walk(p);
    };
    walk(v);
    if (!kindOk) failing.push(`tee-kind: the request's TEE is ${String(v.fields?.teeKind)}, not ${teeKind}`);
    if (values.json) console.log(JSON.stringify({ sealed: false, verdict: v, failing }, null, 2));
    else console.error(`wasmvm-tee seal: refusing to seal: ${failing.slice(0, 6).join('; ')}`);
    return EXIT.VERIFICATION_FAILED;
  }
  const req = binding.parseSealedInputKeyRequest(request);
  const sealed = await binding.sealInput(req, data);
  data.fill(0);
  // Atomically: the waiting run must never read half a file.
  const tmp = `${outPath}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${JSON.stringify(sealed)}\n`);
    renameSync(tmp, outPath);
  } catch (e) {
    return usage(`--out: ${(e as Error).message}`, 'BAD_INPUT');
  }
  if (values.json)
    console.log(
      JSON.stringify(
        {
          sealed: true,
          out: outPath,
          keyId: req.keyId,
          moduleSha256: req.moduleSha256,
          run: req.run,
          verdict: v,
        },
        null,
        2,
      ),
    );
  else
    console.log(
      `sealed ${inPath} to run key ${req.keyId} (module ${req.moduleSha256}${v.fields?.simulated ? ', SIMULATED TEE' : ''}; run ${req.run}) → ${outPath}`,
    );
  return EXIT.OK;
}
