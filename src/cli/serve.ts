/**
 * `wasmvm-tee serve`: the gRPC / gRPC-Web / Connect server (docs/server.md).
 */
import { readFileSync } from 'node:fs';
// Constants only at load time (the rooms' defaults.ts entries): `serve --help` and argument errors load
// no server, engine or TEE code. serve() loads the server when it runs.
import { SEAL_SUITE_NAMES } from '../binding/defaults.ts';
import { DEFAULT_LIMITS, MAX_LIMITS } from '../engine/defaults.ts';
import type { Limits } from '../engine/index.ts';
import type { WebGpuBackend } from '../host/index.ts';
import { type ConnectionLimits, DEFAULTS, defaultConnectionLimits, LOG_LEVELS } from '../server/defaults.ts';
import type { ServerOptions } from '../server/index.ts';
import { loadCollateralBundleFile } from './collateral-file.ts';
import { EXIT, EXIT_TABLE } from './exit-codes.ts';
import { intOption, parseArgs, reportUsage, UsageError } from './usage.ts';

export const summary = 'serve the WASMVMTeeService API (gRPC, gRPC-Web, Connect) on one port';

export const help = `Usage: wasmvm-tee serve [options]

Serves wasm.WASMVMTeeService (Execute, GetAttestation, GetServerInfo, Echo), grpc.health.v1 and
gRPC server reflection (v1, v1alpha) on ONE port: gRPC over HTTP/2 (h2c, or TLS), gRPC-Web and
Connect (JSON or binary) over HTTP/1.1 or HTTP/2; Prometheus metrics at GET /metrics; the playground
page at GET / (run and verify in the browser; docs/browser.md).

Options:
  --port N                 TCP port (default ${DEFAULTS.port}; 0 = any free port)
  --host ADDR              bind address (default ${DEFAULTS.host})
  --tls-cert FILE          TLS certificate chain (PEM); with --tls-key, serve TLS (h2 and http/1.1 by ALPN)
  --tls-key FILE           TLS private key (PEM); its SPKI hash is bound into the session attestation
                           (origin operator-supplied: whoever supplied the file holds the key too)
  --tls-attested           serve TLS with a key pair made inside the TEE at start (ECDSA P-256, self-signed
                           certificate); its SPKI hash is bound into the session attestation, and clients
                           pin it after verifying the evidence (exec --attested-tls; docs/sealed-execution.md)
  --attestation MODE       default attestation mode: session-key (default) | per-request
                           (clients can choose per request: runtime_config.attestation_mode)
  --tee PROVIDER           auto (default) | simulated | simulated-tdx | configfs-tsm | sev-guest | tdx | azure-vtpm
  --require-hardware       refuse to start on the simulated TEE
  --max-concurrency N      executions at once (default ${DEFAULTS.maxConcurrency})
  --max-queue N            executions waiting for a slot before RESOURCE_EXHAUSTED (default ${DEFAULTS.maxQueue})
  --max-message-bytes N    largest request message (default ${DEFAULTS.maxMessageBytes})
  --max-bytecode-bytes N   largest bytecode (default ${DEFAULTS.maxBytecodeBytes})
  --timeout-ms N           server-side execution deadline (default ${DEFAULTS.timeoutMs})
  --max-memory-pages N     guest linear memory limit, 64 KiB pages (default: the engine's)
  --session-key-lifetime S session key lifetime, seconds (default 3600); the sealing key rotates with it
  --claim-signing MODE     session-key claims: per-claim (default: one ES256 signature per claim) | batched
                           (claims finished together are leaves of a Merkle tree whose root is signed once;
                           each response carries its inclusion proof; docs/binding.md "Batched claim signing")
  --claim-batch-window-ms N  batched: how long a batch stays open, ms (default 0 = one event-loop turn; ≤ 1000)
  --claim-batch-max N      batched: most claims per batch (default 256; 1..4096)
  --seal-suite SUITE       sealing key suite (docs/sealed-execution.md): x25519-sha256-chacha20poly1305
                           (default) | x25519-sha256-aes256gcm | xwing-sha256-chacha20poly1305 | none
  --sealed-replay-window-ms N  ExecuteSealed replay window, ± ms of the server clock (default 300000)
  --shutdown-timeout-ms N  drain time on SIGTERM before in-flight calls are cut (default ${DEFAULTS.shutdownTimeoutMs})
  --log-level LEVEL        debug | info (default) | warn | error | silent  (JSON lines on stderr)
  --no-playground          do not serve the playground page at / (docs/browser.md)
  --webgpu                 offer WebGPU compute to guests (wasmvm_webgpu imports; off by default; docs/webgpu.md)
  --webgpu-backend B       auto (default) | default | opengles | vulkan | metal | d3d12
  --collateral FILE        an offline collateral bundle ('wasmvm-tee collateral fetch') for the guests'
                           attest_gpu: the revocation of the GPU device chain (nvidia.chain.revocation) and
                           of the policy's RIM signing chains (nvidia.rim.chain.revocation) from its
                           nvidia-ocsp items, at each call's time, with no network; a missing, expired,
                           badly signed, revoked or unknown response FAILS the check (COLLATERAL_MISSING_ITEM,
                           COLLATERAL_EXPIRED, COLLATERAL_SIGNATURE_INVALID, OCSP_REVOKED, OCSP_UNKNOWN).
                           Without it both are "not checked" (docs/reference-values.md). Read at start: a
                           file that is not a bundle refuses to start (exit 2)
Hostile-input limits (docs/server.md, "Limits"):
  --limit NAME=N           an engine limit, repeatable (e.g. --limit maxTables=10 --limit maxCompileCost=8000000;
                           names: ${Object.keys(DEFAULT_LIMITS).join(', ')})
  --conn NAME=N            a connection limit, repeatable (names: ${Object.keys(defaultConnectionLimits(1)).join(', ')})
  --client-max-concurrency N  executions one client address may run at once (default: half of --max-concurrency)
  --client-max-queue N     executions one client address may have waiting (default 16)
  --executor-memory-mb N   RSS cap of each executor process (default: from workers and limits)
  -h, --help               this help

Every option can also be set by environment variable: WASMVM_TEE_<OPTION> (e.g. WASMVM_TEE_PORT,
WASMVM_TEE_MAX_CONCURRENCY; --tee is WASMVM_TEE_PROVIDER); the command line wins (docs/server.md,
"Configuration"). OpenTelemetry traces: set OTEL_EXPORTER_OTLP_ENDPOINT (the standard OTEL_* variables).

Without a hardware TEE the server runs on the SIMULATED TEE (evidence in the real formats, signed by a
local key chain that verifiers reject unless told to trust it) and says so loudly.
SIGTERM/SIGINT: stop accepting, health NOT_SERVING, drain in-flight calls, close the engine;
a second signal exits 130 at once.

${EXIT_TABLE}`;

function webgpuBackend(v: string | undefined): WebGpuBackend {
  const all = ['auto', 'default', 'opengles', 'vulkan', 'metal', 'd3d12'];
  if (v === undefined) return 'auto';
  if (!all.includes(v)) throw new UsageError('USAGE', `--webgpu-backend: ${all.join(' | ')}, got '${v}'`);
  return v as WebGpuBackend;
}

export async function main(argv: string[]): Promise<number> {
  let parsed: Awaited<ReturnType<typeof parseCommandLine>>;
  try {
    parsed = await parseCommandLine(argv);
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('serve', e, (s) => process.stderr.write(`${s}\n`));
    throw e;
  }
  if (parsed === 'help') {
    console.log(help);
    return 0;
  }
  return serve(parsed);
}

/** serve's options (also settable by environment variable: SERVE_ENV; the command line wins). */
export const SERVE_OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-attested': { type: 'boolean' },
  attestation: { type: 'string' },
  tee: { type: 'string' },
  'require-hardware': { type: 'boolean' },
  webgpu: { type: 'boolean' },
  'webgpu-backend': { type: 'string' },
  collateral: { type: 'string' },
  'max-concurrency': { type: 'string' },
  'max-queue': { type: 'string' },
  'max-message-bytes': { type: 'string' },
  'max-bytecode-bytes': { type: 'string' },
  'timeout-ms': { type: 'string' },
  'max-memory-pages': { type: 'string' },
  'session-key-lifetime': { type: 'string' },
  'claim-signing': { type: 'string' },
  'claim-batch-window-ms': { type: 'string' },
  'claim-batch-max': { type: 'string' },
  'seal-suite': { type: 'string' },
  'sealed-replay-window-ms': { type: 'string' },
  'shutdown-timeout-ms': { type: 'string' },
  'log-level': { type: 'string' },
  limit: { type: 'string', multiple: true },
  conn: { type: 'string', multiple: true },
  'client-max-concurrency': { type: 'string' },
  'client-max-queue': { type: 'string' },
  'executor-memory-mb': { type: 'string' },
  'no-playground': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * The environment variable of each option: WASMVM_TEE_<OPTION> (upper case, '-' → '_'); `--tee` is
 * WASMVM_TEE_PROVIDER, the name the TEE detection already reads. docs/server.md "Configuration" lists them.
 */
export const SERVE_ENV: Readonly<Record<string, string>> = Object.fromEntries(
  Object.keys(SERVE_OPTIONS)
    .filter((k) => k !== 'help')
    .map((k) => [
      k,
      k === 'tee' ? 'WASMVM_TEE_PROVIDER' : `WASMVM_TEE_${k.toUpperCase().replace(/-/g, '_')}`,
    ]),
);

/**
 * The command line with the options set by environment variables added (those not on the command line):
 * booleans take 1/true/yes or 0/false/no, repeatable options a comma-separated list.
 */
export function withEnv(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): { argv: string[]; fromEnv: Map<string, string> } {
  const given = new Set(argv.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]));
  const extra: string[] = [];
  const fromEnv = new Map<string, string>();
  for (const [name, variable] of Object.entries(SERVE_ENV)) {
    const v = env[variable];
    if (v === undefined || v === '' || given.has(name)) continue;
    const o = SERVE_OPTIONS[name as keyof typeof SERVE_OPTIONS] as { type: string; multiple?: boolean };
    fromEnv.set(name, variable);
    if (o.type === 'boolean') {
      if (/^(?:1|true|yes)$/i.test(v)) extra.push(`--${name}`);
      else if (!/^(?:0|false|no)$/i.test(v))
        throw new UsageError('USAGE', `${variable}: expected 1/true/yes or 0/false/no, got '${v}'`);
    } else if (o.multiple)
      for (const item of v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean))
        extra.push(`--${name}=${item}`);
    else extra.push(`--${name}=${v}`);
  }
  return { argv: [...argv, ...extra], fromEnv };
}

/** Everything on the command line and in the environment, checked before anything starts (no TEE, no engine, no socket). */
async function parseCommandLine(argv: string[]) {
  const { argv: all, fromEnv } = withEnv(argv);
  try {
    return await checkOptions(all);
  } catch (e) {
    // an option set by environment variable: say which variable
    const m = e instanceof UsageError ? /^--([a-z-]+)/.exec(e.message) : null;
    const variable = m ? fromEnv.get(m[1]!) : undefined;
    if (e instanceof UsageError && variable)
      throw new UsageError(e.code, `${e.message} (set by ${variable})`);
    throw e;
  }
}

async function checkOptions(argv: string[]) {
  const { values } = parseArgs(argv, SERVE_OPTIONS);
  if (values.help) return 'help' as const;
  const attestation = values.attestation ?? DEFAULTS.attestationMode;
  if (attestation !== 'session-key' && attestation !== 'per-request')
    throw new UsageError('USAGE', `--attestation: expected session-key or per-request, got '${attestation}'`);
  const logLevel = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel))
    throw new UsageError('USAGE', `--log-level: unknown level '${logLevel}'`);
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key']))
    throw new UsageError('USAGE', '--tls-cert and --tls-key go together');
  if (values['tls-attested'] && values['tls-cert'])
    throw new UsageError(
      'USAGE',
      '--tls-attested makes its own key inside the TEE: drop --tls-cert/--tls-key (or drop --tls-attested)',
    );
  const tee = values.tee ?? 'auto';
  webgpuBackend(values['webgpu-backend']); // checked now; used with --webgpu
  const lifetime = intOption(values['session-key-lifetime'], '--session-key-lifetime', 1);
  const sealSuite = values['seal-suite'];
  if (sealSuite !== undefined && sealSuite !== 'none' && !SEAL_SUITE_NAMES.includes(sealSuite))
    throw new UsageError(
      'USAGE',
      `--seal-suite: ${[...SEAL_SUITE_NAMES, 'none'].join(' | ')}, got '${sealSuite}'`,
    );

  const claimSigning = values['claim-signing'] ?? 'per-claim';
  if (claimSigning !== 'per-claim' && claimSigning !== 'batched')
    throw new UsageError('USAGE', `--claim-signing: expected per-claim or batched, got '${claimSigning}'`);
  const claimBatch: { windowMs?: number; maxSize?: number } = {};
  const windowMs = intOption(values['claim-batch-window-ms'], '--claim-batch-window-ms', 0, 1000);
  const maxSize = intOption(values['claim-batch-max'], '--claim-batch-max', 1, 4096);
  if (windowMs !== undefined) claimBatch.windowMs = windowMs;
  if (maxSize !== undefined) claimBatch.maxSize = maxSize;
  if (claimSigning !== 'batched' && (windowMs !== undefined || maxSize !== undefined))
    throw new UsageError(
      'USAGE',
      '--claim-batch-window-ms and --claim-batch-max go with --claim-signing batched',
    );

  const tlsCert = values['tls-cert'];
  const tlsKey = values['tls-key'];
  const opts: Omit<ServerOptions, 'backend'> = {
    logLevel: logLevel as (typeof LOG_LEVELS)[number],
    attestationMode: attestation,
  };
  const port = intOption(values.port, '--port', 0, 65535);
  if (port !== undefined) opts.port = port;
  if (values.host) opts.host = values.host;
  if (values['no-playground']) opts.playground = false;
  if (tlsCert && tlsKey) {
    try {
      opts.tls = { cert: readFileSync(tlsCert), key: readFileSync(tlsKey) };
    } catch (e) {
      throw new UsageError('BAD_INPUT', `--tls-cert/--tls-key: ${(e as Error).message}`);
    }
  }
  const n = (k: string, min = 0) =>
    intOption((values as Record<string, string | undefined>)[k], `--${k}`, min);
  const set = <K extends keyof typeof opts>(k: K, v: (typeof opts)[K] | undefined) => {
    if (v !== undefined) opts[k] = v;
  };
  set('maxConcurrency', n('max-concurrency', 1));
  set('maxQueue', n('max-queue'));
  set('maxMessageBytes', n('max-message-bytes', 1024));
  set('maxBytecodeBytes', n('max-bytecode-bytes', 8));
  set('timeoutMs', n('timeout-ms', 1));
  set('maxMemoryPages', n('max-memory-pages', 1));
  set('shutdownTimeoutMs', n('shutdown-timeout-ms'));
  set('sealedReplayWindowMs', n('sealed-replay-window-ms', 1000));

  // The engine refuses per-request limits above its ceilings: refuse them here, at startup.
  for (const [flag, v, max] of [
    ['--max-bytecode-bytes', opts.maxBytecodeBytes, MAX_LIMITS.maxBytecodeBytes],
    ['--timeout-ms', opts.timeoutMs, MAX_LIMITS.timeoutMs],
    ['--max-memory-pages', opts.maxMemoryPages, MAX_LIMITS.maxMemoryPages],
  ] as const) {
    if (v !== undefined && v > max)
      throw new UsageError('USAGE', `${flag}: ${v} is above the engine's ceiling ${max}`);
  }
  // hostile-input limits (issue 14): engine limits, per-client quotas, connection limits
  const limits = nameValues(values.limit, '--limit', MAX_LIMITS) as Partial<Limits>;
  const connections = nameValues(
    values.conn,
    '--conn',
    defaultConnectionLimits(1),
  ) as Partial<ConnectionLimits>;
  if (Object.keys(connections).length > 0) opts.connections = connections;
  const perClient = { maxConcurrency: n('client-max-concurrency', 1), maxQueue: n('client-max-queue') };
  if (perClient.maxConcurrency !== undefined || perClient.maxQueue !== undefined) {
    opts.perClient = {};
    if (perClient.maxConcurrency !== undefined) opts.perClient.maxConcurrency = perClient.maxConcurrency;
    if (perClient.maxQueue !== undefined) opts.perClient.maxQueue = perClient.maxQueue;
  }
  const executorMemoryMb = n('executor-memory-mb', 64);
  // the guests' GPU revocation checks: the bundle is read and parsed now, before anything starts
  if (values.collateral === '') throw new UsageError('USAGE', '--collateral wants a bundle file');
  const gpuCollateral =
    values.collateral !== undefined ? await loadCollateralBundleFile(values.collateral) : undefined;
  return {
    values,
    opts,
    tee,
    lifetime,
    attestation,
    limits,
    executorMemoryMb,
    sealSuite,
    claimSigning: claimSigning as 'per-claim' | 'batched',
    claimBatch,
    gpuCollateral,
  };
}

async function serve({
  values,
  opts,
  tee,
  lifetime,
  attestation,
  limits,
  executorMemoryMb,
  sealSuite,
  claimSigning,
  claimBatch,
  gpuCollateral,
}: Exclude<Awaited<ReturnType<typeof parseCommandLine>>, 'help'>): Promise<number> {
  const {
    createDefaultBackend,
    createLogger,
    generateAttestedTlsCredentials,
    operatorTlsBinding,
    startServer,
    startTracing,
  } = await import('../server/index.ts');
  // Attested TLS: the key pair is made here, in the server process inside the TEE, before the first
  // session, so every session's REPORT_DATA binds its SPKI hash. An operator's key is bound as such.
  let tlsKey:
    | Awaited<ReturnType<typeof generateAttestedTlsCredentials>>
    | ReturnType<typeof operatorTlsBinding>
    | undefined;
  if (values['tls-attested']) {
    const host = opts.host;
    const named = host && host !== '0.0.0.0' && host !== '::' ? host : undefined;
    const isIp = named !== undefined && /^[\d.]+$|:/.test(named);
    const creds = await generateAttestedTlsCredentials({
      dnsNames: ['localhost', ...(named && !isIp ? [named] : [])],
      ipAddresses: [
        '127.0.0.1',
        '::1',
        ...(named && isIp && named !== '127.0.0.1' && named !== '::1' ? [named] : []),
      ],
    });
    opts.tls = { cert: creds.cert, key: creds.key };
    tlsKey = creds;
  } else if (opts.tls) {
    try {
      tlsKey = operatorTlsBinding(String(opts.tls.cert), String(opts.tls.key));
    } catch (e) {
      return reportUsage(
        'serve',
        new UsageError('BAD_INPUT', `--tls-cert/--tls-key: ${(e as Error).message}`),
        (m) => process.stderr.write(`${m}\n`),
      );
    }
  }
  const logger = createLogger(opts.logLevel ?? 'info');
  // OpenTelemetry traces when the standard OTEL_* variables ask for them (docs/server.md).
  const tracing = await startTracing(logger);
  const { buildDigest } = await import('../version-digest.ts');
  const backend = await createDefaultBackend({
    engineOptions: { limits, ...(executorMemoryMb !== undefined ? { executorMemoryMb } : {}) },
    ...(tee === 'auto' ? {} : { teeProvider: tee }),
    allowSimulated: !values['require-hardware'],
    ...(lifetime !== undefined ? { sessionKeyLifetimeMs: lifetime * 1000 } : {}),
    ...(sealSuite !== undefined ? { sealSuite: sealSuite === 'none' ? (false as const) : sealSuite } : {}),
    ...(tlsKey ? { tlsKey: { spkiSha256: tlsKey.spkiSha256, origin: tlsKey.origin } } : {}),
    ...(claimSigning === 'batched' ? { claimSigning, claimBatch } : {}),
    ...(values.webgpu ? { webgpu: { backend: webgpuBackend(values['webgpu-backend']) } } : {}),
    ...(gpuCollateral ? { gpuCollateral } : {}),
  });
  if (values.webgpu) {
    const g = backend.webgpu;
    process.stderr.write(
      g?.available
        ? `wasmvm-tee serve: WebGPU on ${g.adapter.device || g.adapter.description} (${g.adapter.backend})\n`
        : `wasmvm-tee serve: WebGPU requested but unavailable: ${g?.reason ?? 'unknown'}\n`,
    );
  }
  // Make the session key and its evidence now, not on the first request.
  const t0 = Date.now();
  await backend.attester.warmUp?.();
  const server = await startServer({ ...opts, logger, backend });
  server.logger.log('info', 'session key ready', { ms: Date.now() - t0 });
  const tee_ = backend.attester.tee;
  if (tee_.simulated) {
    const bar = '!'.repeat(78);
    process.stderr.write(
      `${bar}\n!! SIMULATED TEE: no hardware TEE (SEV-SNP / TDX) was found on this machine.\n` +
        '!! Attestations are produced by a LOCAL simulated key chain, not by AMD/Intel hardware.\n' +
        '!! Verifiers reject them unless explicitly told to trust the simulated root.\n' +
        `!! Do not use this server for anything that needs confidentiality or integrity.\n${bar}\n`,
    );
  }
  const bound = server.address.includes(':')
    ? `[${server.address}]:${server.port}`
    : `${server.address}:${server.port}`;
  const build = await buildDigest();
  server.logger.log('info', 'listening', {
    address: bound,
    buildDigest: build.digest,
    url: server.url,
    tls: Boolean(opts.tls),
    ...(tlsKey
      ? { tlsKeyOrigin: tlsKey.origin, tlsSpkiSha256: Buffer.from(tlsKey.spkiSha256).toString('hex') }
      : {}),
    tee: tee_.kind,
    teeDescription: tee_.description,
    simulated: tee_.simulated,
    attestation,
    claimSigning,
    ...(gpuCollateral
      ? {
          gpuCollateral: {
            file: values.collateral,
            createdAt: gpuCollateral.createdAt,
            nvidiaOcspItems: gpuCollateral.items.filter((i) => i.kind === 'nvidia-ocsp').length,
          },
        }
      : {}),
    maxConcurrency: opts.maxConcurrency ?? DEFAULTS.maxConcurrency,
    maxMessageBytes: server.config.maxMessageBytes,
  });
  const wildcard = server.address === '0.0.0.0' || server.address === '::';
  process.stderr.write(
    `wasmvm-tee listening on ${bound}${wildcard ? ' (all interfaces)' : ''}, serving on ${server.url}` +
      ` (gRPC, gRPC-Web, Connect; metrics ${server.url}/metrics${opts.playground === false ? '' : `; playground ${server.url}/`})` +
      `${tee_.simulated ? ' [SIMULATED TEE]' : ''}\n`,
  );

  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        server.logger.log('warn', `second ${sig}: exiting now`);
        process.exit(EXIT.SECOND_SIGNAL);
      }
      server.logger.log('info', `${sig}: graceful shutdown`);
      server
        .close()
        .then(() => tracing?.shutdown())
        .then(
          () => resolve(EXIT.OK),
          (e: unknown) => {
            server.logger.log('error', 'shutdown failed', { error: String(e) });
            resolve(EXIT.INTERNAL);
          },
        );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** Parse repeated NAME=N flags against the known names (and, for engine limits, their ceilings). */
function nameValues(
  items: string[] | undefined,
  flag: string,
  known: Readonly<object>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items ?? []) {
    const m = /^([A-Za-z]+)=([0-9]+)$/.exec(item);
    if (!m) throw new UsageError('USAGE', `${flag}: expected NAME=N, got '${item}'`);
    const [, name, v] = m as unknown as [string, string, string];
    if (!Object.hasOwn(known, name)) throw new UsageError('USAGE', `${flag}: unknown name '${name}'`);
    const value = Number(v);
    const ceiling = flag === '--limit' ? (known as Record<string, number>)[name]! : Number.MAX_SAFE_INTEGER;
    if (value < 1 || value > ceiling)
      throw new UsageError('USAGE', `${flag} ${name}: ${value} is outside 1..${ceiling}`);
    out[name] = value;
  }
  return out;
}
