/**
 * A saved Execute response against the attested claim: finding the envelope in it, reading it strictly
 * (proto JSON or `exec --server --json` output), and one check per shown field.
 */
import {
  type AttestationEnvelope,
  bytesToHex,
  type EvidenceJson,
  type ExecutionClaim,
  evidenceFromJson,
  fromB64,
  modeFromProtoJson,
  requestedAttestationFromProtoJson,
  valueToString,
  type WasmValue,
} from '../../binding/index.ts';
import { bytesToBase64 } from '../../util/text-codec.ts';
import type { Check } from '../types.ts';
import { fail, invalid, pass, same, skip } from './common.ts';
import { evidenceReportData } from './evidence.ts';
import { b64Field, hexBytes, jsonInt, pick, protoJsonValue, protoObject, U64 } from './proto-json.ts';

/** Find the envelope JSON in a saved response. */
export function attestationFromResponse(resp: unknown): unknown {
  const candidates = [resp, pick(resp, 'result'), pick(pick(resp, 'response'), 'result')];
  for (const c of candidates) {
    const a = pick(c, 'attestation');
    if (a !== undefined && a !== '') return a;
  }
  if (pick(resp, 'format') === 'wasmvm-tee/attestation') return resp;
  if (pick(resp, 'evidence') !== undefined && pick(resp, 'reportData') !== undefined)
    throw invalid(
      'attestation',
      "this is 'wasmvm-tee attest --json' output (raw evidence, no execution claim): verify it with 'wasmvm-tee verify --evidence FILE'",
    );
  if (pick(resp, 'outputs') !== undefined && pick(resp, 'durationMs') !== undefined)
    throw invalid(
      'attestation',
      "this is local 'wasmvm-tee exec --json' output: nothing attested it (run it on a server: 'exec --server … --json')",
    );
  throw invalid('attestation', 'no attestation in the response (expected result.attestation)');
}

// ---------------------------------------------------------------- response ↔ claim

const RESULT_KEYS = [
  'inputs',
  'outputValues',
  'attestation',
  'reportData',
  'status',
  'trapMessage',
  'gasUsed',
  'costTableVersion',
  'bytecodeSha256',
  'mode',
  'attestationMode',
  'claim',
  'claimSignature',
  'evidence',
  'timing',
  'simulated',
  'nonce',
  'exitCode',
  'webgpu',
  'serverBuildSha256',
  'guestAttestations',
];
const EVIDENCE_KEYS = [
  'teeKind',
  'simulated',
  'provider',
  'report',
  'vcek',
  'vlek',
  'ask',
  'ark',
  'sessionPublicKey',
  'reportData',
  'gpuEvidence',
];
/** `wasmvm-tee exec --server --json` output (src/cli/exec-remote.ts). */
const CLI_KEYS = [
  'requestId',
  'status',
  'trapMessage',
  'outputs',
  'inputs',
  'exitCode',
  'gasUsed',
  'costTableVersion',
  'bytecodeSha256',
  'mode',
  'nonce',
  'reportData',
  'attestationMode',
  'attestation',
  'simulated',
  'webgpu',
  'serverBuildSha256',
  'guestAttestations',
  'verified',
  'verdict',
];

export interface ResponseView {
  shape: 'proto' | 'cli';
  /** field name → value as shown (absent proto3 fields: their default). */
  fields: Record<string, unknown>;
  unverified: string[];
}

/** Read a saved response strictly (unknown fields are an error naming the field). */
export function readResponse(resp: unknown): ResponseView | undefined {
  if (!resp || typeof resp !== 'object') throw invalid('response', 'not an object');
  const r = resp as Record<string, unknown>;
  if (r.format === 'wasmvm-tee/attestation') return undefined;
  if (r.result !== undefined || r.response !== undefined) {
    const top = protoObject(r.response ?? r, 'response', ['requestId', 'result']);
    const res = protoObject(top.result, 'response.result', RESULT_KEYS);
    const fields: Record<string, unknown> = { requestId: top.requestId ?? '', ...res };
    const unverified: string[] = [];
    if (res.timing !== undefined)
      for (const k of Object.keys(
        protoObject(res.timing, 'response.result.timing', [
          'totalUs',
          'queueUs',
          'executeUs',
          'attestUs',
          'cacheHit',
        ]),
      ))
        unverified.push(`result.timing.${k}`);
    return { shape: 'proto', fields, unverified };
  }
  const fields = protoObject(r, 'response', CLI_KEYS);
  const unverified = ['verified', 'verdict'].filter((k) => fields[k] !== undefined);
  return { shape: 'cli', fields, unverified };
}

/**
 * Compare every field the response shows with the attested claim and envelope. Each field is a check
 * `response.<field>`; fields that carry no attested meaning are listed in `response.unverified`.
 */
export function responseChecks(
  view: ResponseView,
  env: AttestationEnvelope,
  claim: ExecutionClaim,
  rawAttestation: unknown,
  encoded: Uint8Array,
): Check[] {
  const checks: Check[] = [];
  const f = view.fields;
  const proto = view.shape === 'proto';
  const P = proto ? 'result.' : '';
  const cmp = (id: string, field: string, run: () => string | undefined) => {
    let why: string | undefined;
    try {
      why = run();
    } catch (e) {
      why = (e as Error).message;
    }
    checks.push(
      why === undefined
        ? pass(`response.${id}`, `${field} = attested claim`)
        : fail(`response.${id}`, `${field}: ${why}`),
    );
  };
  const str = (k: string, want: string, dflt = '') => {
    const got = f[k] ?? dflt;
    if (typeof got !== 'string') return 'expected a string';
    return got === want ? undefined : `'${got}' ≠ attested '${want}'`;
  };
  // The response's attestation is the envelope verified: the same text, or (an envelope passed
  // separately, e.g. already parsed by a client) the same JSON.
  if (f.attestation !== undefined && f.attestation !== rawAttestation) {
    let same_ = false;
    try {
      const shown = typeof f.attestation === 'string' ? JSON.parse(f.attestation) : f.attestation;
      const verified = typeof rawAttestation === 'string' ? JSON.parse(rawAttestation) : rawAttestation;
      same_ = JSON.stringify(shown) === JSON.stringify(verified);
    } catch {
      same_ = false;
    }
    if (!same_)
      checks.push(fail('response.attestation', `${P}attestation: not the envelope that was verified`));
  } else if (typeof rawAttestation !== 'string' && typeof f.attestation !== 'object')
    checks.push(fail('response.attestation', 'attestation: expected the envelope JSON string'));
  // Proto3 JSON leaves out empty strings, empty bytes, UNSPECIFIED enums and unset messages: for these
  // fields "not shown" is not a claim about the execution. Every other field is compared as shown (its
  // default included: simulated false, mode interp, no outputs, no nonce, … are statements).
  const shown = (k: string) =>
    f[k] !== undefined && f[k] !== '' && f[k] !== 'ATTESTATION_MODE_UNSPECIFIED' && f[k] !== 0;
  const notShown = (k: string) => proto && !shown(k);
  cmp('request-id', 'requestId', () =>
    notShown('requestId') ? undefined : str('requestId', claim.requestId ?? ''),
  );
  cmp('status', `${P}status`, () => str('status', claim.status));
  cmp('trap-message', `${P}trapMessage`, () => str('trapMessage', claim.trapMessage ?? ''));
  cmp('outputs', proto ? 'result.outputValues' : 'outputs', () => {
    const list = (proto ? f.outputValues : f.outputs) ?? [];
    if (!Array.isArray(list)) return 'expected a list';
    if (list.length !== claim.outputs.length)
      return `${list.length} values ≠ ${claim.outputs.length} attested`;
    for (const [i, v] of list.entries()) {
      const got = protoJsonValue(v, `${proto ? 'result.outputValues' : 'outputs'}[${i}]`);
      const want = claim.outputs[i]!;
      const k = (x: WasmValue) =>
        `${x.type}:${x.type === 'i32' || x.type === 'i64' ? String(x.value) : String(x.bits)}`;
      if (k(got) !== k(want)) return `[${i}] ${k(got)} ≠ attested ${k(want)}`;
    }
    return undefined;
  });
  cmp('inputs', `${P}inputs`, () => {
    const list = f.inputs ?? [];
    if (!proto && f.inputs === undefined) return undefined;
    const want =
      'legacy' in claim.inputs ? [...claim.inputs.legacy] : (claim.inputs as WasmValue[]).map(valueToString);
    return JSON.stringify(list) === JSON.stringify(want)
      ? undefined
      : `${JSON.stringify(list)} ≠ attested ${JSON.stringify(want)}`;
  });
  cmp('gas-used', `${P}gasUsed`, () => {
    const g = f.gasUsed;
    if (g === undefined) return claim.gasUsed === undefined ? undefined : `absent, attested ${claim.gasUsed}`;
    const b = jsonInt(g, `${P}gasUsed`, 0n, U64);
    return claim.gasUsed === b ? undefined : `${b} ≠ attested ${claim.gasUsed ?? '(none)'}`;
  });
  cmp('exit-code', `${P}exitCode`, () => {
    const x = f.exitCode;
    if (x === undefined)
      return claim.exitCode === undefined ? undefined : `absent, attested ${claim.exitCode}`;
    const b = jsonInt(x, `${P}exitCode`, -(2n ** 31n), 2n ** 31n - 1n);
    return claim.exitCode !== undefined && BigInt(claim.exitCode) === b
      ? undefined
      : `${b} ≠ attested ${claim.exitCode ?? '(none)'}`;
  });
  cmp('cost-table-version', `${P}costTableVersion`, () =>
    !proto && f.costTableVersion === undefined && claim.costTableVersion === undefined
      ? undefined
      : str('costTableVersion', claim.costTableVersion ?? ''),
  );
  cmp('bytecode-sha256', `${P}bytecodeSha256`, () =>
    notShown('bytecodeSha256')
      ? undefined
      : !proto && f.bytecodeSha256 === undefined
        ? 'missing'
        : str('bytecodeSha256', claim.bytecodeSha256),
  );
  cmp('mode', `${P}mode`, () => {
    const m = f.mode ?? (proto ? 'WASMVM_MODE_INTERP_UNSPECIFIED' : undefined);
    if (m === undefined) return 'missing';
    const got = modeFromProtoJson(m);
    return got === claim.executedMode
      ? undefined
      : `'${String(m)}' ≠ attested executed mode '${claim.executedMode}'`;
  });
  cmp('attestation-mode', `${P}attestationMode`, () => {
    if (notShown('attestationMode')) return undefined;
    const m = f.attestationMode;
    if (m === undefined) return 'missing';
    const got = requestedAttestationFromProtoJson(m);
    return got === claim.attestationMode ? undefined : `'${String(m)}' ≠ attested '${claim.attestationMode}'`;
  });
  cmp('nonce', `${P}nonce`, () => {
    if (f.nonce === undefined)
      return !proto && claim.nonce !== undefined
        ? 'missing'
        : same(undefined, claim.nonce)
          ? undefined
          : 'absent, the claim has a nonce';
    const got = proto ? b64Field(f.nonce, `${P}nonce`) : hexBytes(f.nonce, 'nonce');
    return same(got, claim.nonce)
      ? undefined
      : `${bytesToHex(got)} ≠ attested ${claim.nonce ? bytesToHex(claim.nonce) : '(none)'}`;
  });
  cmp('report-data', `${P}reportData`, () => {
    if (notShown('reportData')) return undefined;
    const got = f.reportData ?? '';
    return got === env.reportData ? undefined : `'${String(got)}' ≠ recomputed ${env.reportData}`;
  });
  cmp('simulated', `${P}simulated`, () => {
    const got = f.simulated ?? false;
    if (typeof got !== 'boolean') return 'expected true or false';
    return got === claim.simulated ? undefined : `${got} ≠ attested ${claim.simulated}`;
  });
  cmp('server-build', `${P}serverBuildSha256`, () =>
    !proto && f.serverBuildSha256 === undefined && claim.serverBuildSha256 === undefined
      ? undefined
      : str('serverBuildSha256', claim.serverBuildSha256 ?? ''),
  );
  cmp('webgpu', `${P}webgpu`, () => webgpuDiff(f.webgpu, claim.webgpu, `${P}webgpu`, proto));
  checks.push(
    guestAttestationsCheck(f.guestAttestations, claim.guestAttestations, `${P}guestAttestations`, proto),
  );
  if (proto) {
    cmp('claim', 'result.claim', () => {
      if (notShown('claim')) return undefined;
      if (f.claim === bytesToBase64(encoded)) return undefined;
      const got = b64Field(f.claim, 'result.claim');
      return same(got, encoded) ? undefined : 'the claim bytes differ from the envelope claim, encoded';
    });
    cmp('claim-signature', 'result.claimSignature', () => {
      if (notShown('claimSignature')) return undefined;
      if (f.claimSignature === env.signature) return undefined;
      const got = b64Field(f.claimSignature, 'result.claimSignature');
      const want =
        env.signature === undefined ? new Uint8Array(0) : fromB64(env.signature, 'attestation.signature');
      return same(got, want) ? undefined : 'differs from the envelope signature';
    });
    cmp('evidence', 'result.evidence', () =>
      f.evidence === undefined ? undefined : structuredEvidenceDiff(f.evidence, env),
    );
  }
  const unverified = view.unverified;
  checks.push(
    skip(
      'response.unverified',
      unverified.length === 0
        ? 'every response field was compared'
        : `not attested, not checked: ${unverified.join(', ')}`,
    ),
  );
  return checks;
}

const WEBGPU_ADAPTER_KEYS = ['vendor', 'architecture', 'device', 'description', 'backend', 'featureLevel'];
const WEBGPU_COUNTERS = ['calls', 'dispatches', 'workgroups', 'bytesToGpu', 'bytesFromGpu'] as const;

/**
 * The response's WebGPU use vs the claim's, field by field (proto JSON: {adapter: {…}, calls, …, gas,
 * gasTableVersion}, zero values left out; the CLI shape: the claim's JSON view). undefined when equal.
 */
function webgpuDiff(
  got: unknown,
  want: ExecutionClaim['webgpu'],
  where: string,
  proto: boolean,
): string | undefined {
  if (got === undefined || got === null)
    return want === undefined ? undefined : `absent, attested (${want.vendor} ${want.device})`;
  if (want === undefined) return 'present, the claim attests no WebGPU use';
  const diffs: string[] = [];
  let o: Record<string, unknown>;
  let a: Record<string, unknown>;
  if (proto) {
    o = protoObject(got, where, ['adapter', ...WEBGPU_COUNTERS, 'gas', 'gasTableVersion']);
    a = o.adapter === undefined ? {} : protoObject(o.adapter, `${where}.adapter`, WEBGPU_ADAPTER_KEYS);
  } else {
    o = protoObject(got, where, [...WEBGPU_ADAPTER_KEYS, ...WEBGPU_COUNTERS, 'gas', 'gasTableVersion']);
    a = o;
  }
  for (const k of WEBGPU_ADAPTER_KEYS) {
    const g = a[k] ?? '';
    const w = want[k as keyof typeof want];
    if (g !== w) diffs.push(`${k} '${String(g)}' ≠ attested '${String(w)}'`);
  }
  for (const k of WEBGPU_COUNTERS) {
    const g = jsonInt(o[k] ?? (proto ? '0' : undefined), `${where}.${k}`, 0n, U64);
    if (g !== want[k]) diffs.push(`${k} ${g} ≠ attested ${want[k]}`);
  }
  const gas = o.gas === undefined ? undefined : jsonInt(o.gas, `${where}.gas`, 0n, U64);
  if (gas !== want.gas) diffs.push(`gas ${gas ?? '(none)'} ≠ attested ${want.gas ?? '(none)'}`);
  if ((o.gasTableVersion ?? '') !== want.gasTableVersion)
    diffs.push(`gasTableVersion '${String(o.gasTableVersion ?? '')}' ≠ attested '${want.gasTableVersion}'`);
  return diffs.length === 0 ? undefined : diffs.join('; ');
}

const RECEIPT_OPTIONAL = ['teeType', 'simulated', 'dataSha256', 'evidenceSha256'] as const;

/**
 * `response.guest-attestations`: the receipts the response shows vs the claim's (field 20), in order,
 * every field (proto JSON: a list of GuestAttestation, proto3 defaults left out; the CLI shape: the
 * claim's JSON view {receipts, truncated}). Receipts the claim has and the response does not show are
 * fine (the claim is authoritative and the verdict lists them); anything shown must be the claim's.
 */
function guestAttestationsCheck(
  got: unknown,
  want: ExecutionClaim['guestAttestations'],
  where: string,
  proto: boolean,
): Check {
  const id = 'response.guest-attestations';
  let why: string | undefined;
  try {
    why = guestAttestationsDiff(got, want, where, proto);
  } catch (e) {
    why = (e as Error).message;
  }
  if (why !== undefined) return fail(id, `${where}: ${why}`);
  const n = want?.receipts.length ?? 0;
  const shown = proto ? Array.isArray(got) && got.length > 0 : got !== undefined;
  if (!shown)
    return n === 0
      ? pass(id, `${where}: none shown, none attested`)
      : pass(id, `${where}: not shown; the claim attests ${n} receipt(s) (listed in the verdict)`);
  return pass(id, `${where} = attested claim (${n} receipt(s)${want?.truncated ? ', truncated' : ''})`);
}

function guestAttestationsDiff(
  got: unknown,
  want: ExecutionClaim['guestAttestations'],
  where: string,
  proto: boolean,
): string | undefined {
  if (got === undefined || got === null) return undefined;
  let list: unknown;
  if (proto) list = got;
  else {
    const o = protoObject(got, where, ['receipts', 'truncated']);
    if (o.truncated !== undefined && o.truncated !== (want?.truncated ?? false))
      return `truncated ${String(o.truncated)} ≠ attested ${want?.truncated ?? false}`;
    list = o.receipts ?? [];
    where = `${where}.receipts`;
  }
  if (!Array.isArray(list)) return 'expected a list';
  if (list.length === 0 && (proto || want === undefined)) return undefined;
  const receipts = want?.receipts ?? [];
  if (list.length !== receipts.length) return `${list.length} receipts shown ≠ ${receipts.length} attested`;
  const diffs: string[] = [];
  for (const [i, x] of list.entries()) {
    const at = `${where}[${i}]`;
    const o = protoObject(x, at, ['kind', 'gpuIndex', ...RECEIPT_OPTIONAL, 'outcome', 'cached']);
    const w = receipts[i]!;
    const d: string[] = [];
    // proto3 JSON leaves out '' and false for plain fields; the CLI shape shows every field the claim has
    if ((o.kind ?? (proto ? '' : undefined)) !== w.kind)
      d.push(`kind '${String(o.kind)}' ≠ attested '${w.kind}'`);
    if ((o.outcome ?? (proto ? '' : undefined)) !== w.outcome)
      d.push(`outcome '${String(o.outcome)}' ≠ attested '${w.outcome}'`);
    if ((o.cached ?? (proto ? false : undefined)) !== w.cached)
      d.push(`cached ${String(o.cached)} ≠ attested ${w.cached}`);
    const gi = o.gpuIndex === undefined ? undefined : jsonInt(o.gpuIndex, `${at}.gpuIndex`, 0n, 0xffffffffn);
    if (gi !== (w.gpuIndex === undefined ? undefined : BigInt(w.gpuIndex)))
      d.push(`gpuIndex ${gi ?? '(none)'} ≠ attested ${w.gpuIndex ?? '(none)'}`);
    for (const k of RECEIPT_OPTIONAL)
      if (o[k] !== w[k])
        d.push(`${k} ${JSON.stringify(o[k]) ?? '(none)'} ≠ attested ${JSON.stringify(w[k]) ?? '(none)'}`);
    if (d.length > 0) diffs.push(`[${i}] ${d.join(', ')}`);
  }
  return diffs.length === 0 ? undefined : diffs.join('; ');
}

/** The structured `evidence` field vs the envelope's evidence (byte for byte); undefined when equal. */
function structuredEvidenceDiff(ev: unknown, env: AttestationEnvelope): string | undefined {
  const cpu: EvidenceJson | undefined = env.evidence ?? env.session?.evidence;
  const o = ev === undefined ? {} : protoObject(ev, 'result.evidence', EVIDENCE_KEYS);
  const diffs: string[] = [];
  const b = (k: string) => (o[k] === undefined ? new Uint8Array(0) : b64Field(o[k], `result.evidence.${k}`));
  const envB = (s: string | undefined, what: string) =>
    s === undefined ? new Uint8Array(0) : fromB64(s, what);
  // the same canonical base64 text is the same bytes: decode only when the texts differ
  const sameB = (k: string, s: string | undefined, what: string) =>
    (o[k] === undefined && s === undefined) || o[k] === s || same(b(k), envB(s, what));
  if ((o.teeKind ?? '') !== (cpu?.kind ?? '')) diffs.push('teeKind');
  if ((o.simulated ?? false) !== (cpu?.simulated ?? false)) diffs.push('simulated');
  if ((o.provider ?? '') !== (cpu?.provider ?? '')) diffs.push('provider');
  if (!sameB('report', cpu?.report, 'evidence.report')) diffs.push('report');
  for (const k of ['vcek', 'vlek', 'ask', 'ark'] as const)
    if (!sameB(k, cpu?.certs?.[k], `evidence.certs.${k}`)) diffs.push(k);
  if (!sameB('sessionPublicKey', env.session?.spki, 'session.spki')) diffs.push('sessionPublicKey');
  const rd = o.reportData ?? '';
  if (rd !== '') {
    const inEv = cpu ? evidenceReportData(evidenceFromJson(cpu)) : undefined;
    if (!inEv || rd !== bytesToHex(inEv)) diffs.push('reportData');
  }
  const gpu = o.gpuEvidence ?? '';
  const wantGpu = Array.isArray(env.gpu) && env.gpu.length > 0 ? JSON.stringify(env.gpu) : '';
  if (gpu !== wantGpu) diffs.push('gpuEvidence');
  return diffs.length === 0 ? undefined : `differs from the envelope's evidence in ${diffs.join(', ')}`;
}
