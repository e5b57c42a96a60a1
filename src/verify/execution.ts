/**
 * verifyExecution: one Execute response's attestation envelope, end to end (docs/binding.md "Verification"):
 * binding (claim ↔ REPORT_DATA ↔ request ↔ response ↔ nonce), the session-key signature, the CPU evidence
 * (SEV-SNP here, TDX via src/verify/tdx) and GPU evidence (src/verify/nvidia).
 */
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import {
  type AttestationEnvelope,
  BindingError,
  bytesToHex,
  type ClaimInputs,
  claimFromJson,
  type ExecutionClaim,
  encodeClaim,
  evidenceFromJson,
  fromB64,
  inputSide,
  parseEnvelope,
  reportDataFor,
  type SessionKeyJson,
  sessionKeyReportData,
} from '../binding/index.ts';
import type { ExecutionMode, WasmValue } from '../engine/index.ts';
import {
  type GpuReferenceValues,
  gpuNonceFor,
  type VerifyGpuEvidenceOptions,
  verifyGpuEvidenceList,
} from './nvidia/index.ts';
import type { KdsOptions } from './sev-snp/kds.ts';
import type { SnpPolicy } from './sev-snp/policy.ts';
import { parseReport } from './sev-snp/report.ts';
import { verifySnpReport } from './sev-snp/verify.ts';
import {
  parseTdxPolicy,
  parseTdxQuote,
  type TdxCollateral,
  type VerifyTdxOptions,
  verifyTdxQuote,
} from './tdx/index.ts';
import type { Check, Verdict } from './types.ts';
import { verdict } from './types.ts';

export interface VerifyExecutionOptions {
  /** The claim the caller expects (e.g. rebuilt from its own records): must equal the envelope's exactly. */
  claim?: ExecutionClaim;
  /** The saved Execute response (Connect/proto JSON, or `wasmvm-tee exec --server --json` output). */
  response?: unknown;
  /** The request that was sent (Connect/proto JSON of WASMVMExecutionRequest, or a ClaimRequest-like object). */
  request?: unknown;
  /** The nonce the client sent (hex or bytes): the claim must carry exactly it. */
  nonce?: Uint8Array | string;
  /** Trust these simulated roots (PEM/DER): the CPU's (`wasmvm-tee attest --print-simulated-root`) and/or a GPU's. */
  trustSimulatedRoot?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Accept any simulated root, CPU and GPU (testing only; loudly marked in the verdict). */
  allowSimulated?: boolean;
  /** Policy file contents: `{ snp?: SnpPolicy, tdx?: (parseTdxPolicy input), gpuReferenceValues?: ... }`. */
  policy?: { snp?: SnpPolicy; tdx?: unknown; gpuReferenceValues?: GpuReferenceValues; nvidia?: unknown };
  now?: Date;
  kds?: KdsOptions;
  crl?: Uint8Array | 'fetch';
  /** TDX collateral (passed through to verifyTdxQuote). */
  tdxCollateral?: TdxCollateral;
  /** Require GPU evidence (a host could strip it otherwise): fails `gpu.required` when absent. */
  requireGpu?: boolean;
  /** Reject session-key envelopes whose key is past notAfter (default true). */
  checkSessionKeyValidity?: boolean;
}

const pass = (id: string, detail: string): Check => ({ id, outcome: 'pass', detail });
const fail = (id: string, detail: string): Check => ({ id, outcome: 'fail', detail });
const skip = (id: string, detail: string): Check => ({ id, outcome: 'skip', detail });
const eq = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

type Cpu = ReturnType<typeof evidenceFromJson>;

async function verifyCpu(
  cpu: Cpu,
  expectedReportData: Uint8Array,
  opts: VerifyExecutionOptions,
): Promise<Verdict> {
  if (cpu.kind === 'sev-snp') {
    const roots = opts.trustSimulatedRoot;
    const list = roots === undefined ? [] : Array.isArray(roots) ? roots : [roots as string | Uint8Array];
    const o: Parameters<typeof verifySnpReport>[1] = { expectedReportData, trustSimulatedRoots: list };
    if (cpu.certs) o.certs = cpu.certs;
    if (cpu.auxblob) o.auxblob = cpu.auxblob;
    if (opts.now) o.now = opts.now;
    if (opts.policy?.snp) o.policy = opts.policy.snp;
    if (opts.allowSimulated) o.allowSimulated = true;
    if (opts.kds) o.kds = opts.kds;
    if (opts.crl) o.crl = opts.crl;
    return verifySnpReport(cpu.report, o);
  }
  if (cpu.kind === 'tdx') {
    const roots = opts.trustSimulatedRoot;
    const list = roots === undefined ? [] : Array.isArray(roots) ? roots : [roots as string | Uint8Array];
    const o: VerifyTdxOptions = { expectedReportData, trustSimulatedRoots: list };
    if (opts.allowSimulated) o.allowSimulated = true;
    if (opts.now) o.now = opts.now;
    if (opts.tdxCollateral) o.collateral = opts.tdxCollateral;
    if (opts.policy?.tdx !== undefined) {
      try {
        o.policy = parseTdxPolicy(opts.policy.tdx);
      } catch (e) {
        return verdict('tdx', [fail('tdx.policy', `bad TDX policy: ${(e as Error).message}`)]);
      }
    }
    const v = await verifyTdxQuote(cpu.report, o);
    if (cpu.simulated) return { ...v, fields: { ...(v.fields ?? {}), simulated: true } };
    return v;
  }
  return verdict('unknown', [
    fail('cpu.kind', `unknown evidence kind '${String((cpu as { kind: unknown }).kind)}'`),
  ]);
}

/** REPORT_DATA inside the CPU evidence (64 bytes), without verifying it. */
function evidenceReportData(cpu: Cpu): Uint8Array | undefined {
  try {
    if (cpu.kind === 'sev-snp') return parseReport(cpu.report).reportData;
    return parseTdxQuote(cpu.report).body.reportData;
  } catch {
    return undefined;
  }
}

async function verifyGpu(
  gpu: unknown[],
  cpuReportData: Uint8Array,
  opts: VerifyExecutionOptions,
): Promise<Verdict> {
  // One GPU nonce per request, derived from the REPORT_DATA the CPU evidence signs (src/verify/nvidia/nonce.ts).
  const o: VerifyGpuEvidenceOptions = { nonce: gpuNonceFor(cpuReportData) };
  if (opts.now) o.now = opts.now;
  if (opts.policy?.gpuReferenceValues) o.referenceValues = opts.policy.gpuReferenceValues;
  // Simulated roots (tests): the same list as for the CPU (a GPU root among them is used), or any
  // SIMULATED-named self-signed root with allowSimulated.
  if (opts.trustSimulatedRoot !== undefined) o.trustSimulatedRoot = opts.trustSimulatedRoot;
  if (opts.allowSimulated) o.allowSimulated = true;
  return verifyGpuEvidenceList(gpu as Parameters<typeof verifyGpuEvidenceList>[0], o);
}

// ---------------------------------------------------------------- request / response JSON

function pick(o: unknown, ...keys: string[]): unknown {
  if (!o || typeof o !== 'object') return undefined;
  const r = o as Record<string, unknown>;
  for (const k of keys) if (r[k] !== undefined) return r[k];
  return undefined;
}

const f32 = new DataView(new ArrayBuffer(8));

/** A `wasm.Value` in proto JSON → WasmValue (bits win when present). */
export function protoJsonValue(v: unknown, where: string): WasmValue {
  const t = pick(v, 'type');
  const bits = pick(v, 'bits');
  const typeName =
    t === 'VALUE_TYPE_INT32' || t === 1 || pick(v, 'int32Value', 'int32_value') !== undefined
      ? 'i32'
      : t === 'VALUE_TYPE_INT64' || t === 2 || pick(v, 'int64Value', 'int64_value') !== undefined
        ? 'i64'
        : t === 'VALUE_TYPE_FLOAT32' || t === 3 || pick(v, 'float32Value', 'float32_value') !== undefined
          ? 'f32'
          : t === 'VALUE_TYPE_FLOAT64' || t === 4 || pick(v, 'float64Value', 'float64_value') !== undefined
            ? 'f64'
            : undefined;
  if (!typeName) throw new BindingError('INVALID_REQUEST', `${where}: unknown value type`);
  const b = bits !== undefined ? BigInt(String(bits)) : undefined;
  const num = (k1: string, k2: string) => {
    const x = pick(v, k1, k2);
    if (x === undefined) return undefined;
    return x;
  };
  switch (typeName) {
    case 'i32': {
      if (b !== undefined) return { type: 'i32', value: Number(BigInt.asIntN(32, b)) };
      return { type: 'i32', value: Number(num('int32Value', 'int32_value') ?? 0) | 0 };
    }
    case 'i64': {
      if (b !== undefined) return { type: 'i64', value: BigInt.asIntN(64, b) };
      return {
        type: 'i64',
        value: BigInt.asIntN(64, BigInt(String(num('int64Value', 'int64_value') ?? '0'))),
      };
    }
    case 'f32': {
      if (b !== undefined) return { type: 'f32', bits: Number(BigInt.asUintN(32, b)) };
      f32.setFloat32(0, Number(num('float32Value', 'float32_value') ?? 0));
      return { type: 'f32', bits: f32.getUint32(0) };
    }
    default: {
      if (b !== undefined) return { type: 'f64', bits: BigInt.asUintN(64, b) };
      f32.setFloat64(0, Number(num('float64Value', 'float64_value') ?? 0));
      return { type: 'f64', bits: f32.getBigUint64(0) };
    }
  }
}

const MODE_NAMES: Record<string, ExecutionMode> = {
  WASMVM_MODE_INTERP_UNSPECIFIED: 'interp',
  WASMVM_MODE_SINGLEPASS: 'singlepass',
  WASMVM_MODE_MULTIPASS: 'multipass',
  '0': 'interp',
  '1': 'singlepass',
  '2': 'multipass',
  interp: 'interp',
  singlepass: 'singlepass',
  multipass: 'multipass',
};

function b64Field(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string') throw new BindingError('INVALID_REQUEST', `${what}: expected base64`);
  return fromB64(v.replace(/-/g, '+').replace(/_/g, '/'), what);
}

/** The input side of a request, from proto JSON (WASMVMExecutionRequest) — mirrors the server's parsing. */
export function claimInputFromRequest(
  req: unknown,
): Pick<ExecutionClaim, 'bytecodeSha256' | 'fn' | 'inputs' | 'mode' | 'gasLimit' | 'nonce'> {
  const ex = pick(req, 'execution') ?? req;
  const rc = pick(req, 'runtimeConfig', 'runtime_config');
  let bytecodeSha256 = pick(ex, 'bytecodeSha256') as string | undefined;
  if (!bytecodeSha256) {
    const b = pick(ex, 'bytecodeRaw', 'bytecode_raw') ?? pick(ex, 'bytecode');
    if (b === undefined) throw new BindingError('INVALID_REQUEST', 'request: no bytecode');
    bytecodeSha256 = createHash('sha256').update(b64Field(b, 'bytecode')).digest('hex');
  }
  const fn = pick(ex, 'fnName', 'fn_name', 'fn');
  if (typeof fn !== 'string') throw new BindingError('INVALID_REQUEST', 'request: no fn_name');
  const typed = pick(ex, 'typedInputs', 'typed_inputs') as unknown[] | undefined;
  const legacy = pick(ex, 'inputs') as unknown;
  let inputs: ClaimInputs;
  if (Array.isArray(typed) && typed.length > 0)
    inputs = typed.map((v, i) => protoJsonValue(v, `typed_inputs[${i}]`));
  else if (Array.isArray(legacy) && legacy.every((x) => typeof x === 'string')) inputs = { legacy };
  else if (legacy && typeof legacy === 'object' && 'legacy' in legacy) inputs = legacy as ClaimInputs;
  else inputs = { legacy: [] };
  const modeRaw = pick(rc, 'mode') ?? pick(ex, 'mode') ?? 'WASMVM_MODE_INTERP_UNSPECIFIED';
  const mode = MODE_NAMES[String(modeRaw)];
  if (!mode) throw new BindingError('INVALID_REQUEST', `request: unknown mode ${String(modeRaw)}`);
  const out: ReturnType<typeof claimInputFromRequest> = { bytecodeSha256, fn, inputs, mode };
  const gl = pick(rc, 'gasLimit', 'gas_limit');
  if (gl && pick(gl, 'useGasLimit', 'use_gas_limit') === true)
    out.gasLimit = BigInt(String(pick(gl, 'limit') ?? '0'));
  else if (typeof gl === 'string' || typeof gl === 'bigint') out.gasLimit = BigInt(gl);
  const nonce = pick(ex, 'nonce');
  if (typeof nonce === 'string' && nonce.length > 0) out.nonce = b64Field(nonce, 'nonce');
  return out;
}

/** Find the envelope JSON in a saved response. */
export function attestationFromResponse(resp: unknown): unknown {
  const candidates = [
    resp,
    pick(resp, 'result'),
    pick(pick(resp, 'response'), 'result'),
    pick(resp, 'response'),
  ];
  for (const c of candidates) {
    const a = pick(c, 'attestation');
    if (a !== undefined && a !== '') return a;
  }
  if (pick(resp, 'format') === 'wasmvm-tee/attestation') return resp;
  throw new BindingError('INVALID_RESPONSE', 'no attestation in the response (expected result.attestation)');
}

/** Compare the response's visible results with the attested claim. */
function responseChecks(resp: unknown, claim: ExecutionClaim): Check[] {
  const res = pick(resp, 'result') ?? pick(pick(resp, 'response'), 'result') ?? resp;
  const diffs: string[] = [];
  const compared: string[] = [];
  const outs = pick(res, 'outputValues', 'output_values', 'outputs');
  if (Array.isArray(outs)) {
    compared.push('outputs');
    try {
      const got = outs.map((v, i) =>
        pick(
          v,
          'int32Value',
          'int32_value',
          'int64Value',
          'int64_value',
          'float32Value',
          'float32_value',
          'float64Value',
          'float64_value',
          'bits',
        ) !== undefined
          ? protoJsonValue(v, `output_values[${i}]`)
          : (v as WasmValue),
      );
      const a = JSON.stringify(
        got.map((v) => ({
          ...v,
          value: String((v as { value?: unknown }).value),
          bits: String((v as { bits?: unknown }).bits),
        })),
      );
      const b = JSON.stringify(
        claim.outputs.map((v) => ({
          ...v,
          value: String((v as { value?: unknown }).value),
          bits: String((v as { bits?: unknown }).bits),
        })),
      );
      if (a !== b) diffs.push('outputs differ from the attested outputs');
    } catch (e) {
      diffs.push(`outputs unreadable: ${(e as Error).message}`);
    }
  }
  const status = pick(res, 'status');
  if (typeof status === 'string' && status !== '') {
    compared.push('status');
    if (status !== claim.status) diffs.push(`status '${status}' ≠ attested '${claim.status}'`);
  }
  const gas = pick(res, 'gasUsed', 'gas_used');
  if (gas !== undefined && gas !== null) {
    compared.push('gas used');
    if (claim.gasUsed === undefined || BigInt(String(gas)) !== claim.gasUsed)
      diffs.push(`gas used ${String(gas)} ≠ attested ${claim.gasUsed ?? '(none)'}`);
  }
  const rdShown = pick(res, 'reportData', 'report_data');
  if (typeof rdShown === 'string' && rdShown !== '') {
    compared.push('report data');
    const attested = bytesToHex(reportDataFor(claim));
    if (rdShown.toLowerCase() !== attested) diffs.push(`report_data ${rdShown} ≠ attested ${attested}`);
  }
  const rid = pick(resp, 'requestId', 'request_id');
  if (typeof rid === 'string' && rid !== '' && claim.requestId !== undefined) {
    compared.push('request id');
    if (rid !== claim.requestId) diffs.push(`request id '${rid}' ≠ attested '${claim.requestId}'`);
  }
  if (compared.length === 0)
    return [skip('binding.response', 'the response has no result fields to compare')];
  return [
    diffs.length === 0
      ? pass('binding.response', `response ${compared.join(', ')} = attested claim`)
      : fail('binding.response', diffs.join('; ')),
  ];
}

// ---------------------------------------------------------------- main entry

/** Verify an execution's attestation envelope. Never throws for bad input: it becomes a failed check. */
export async function verifyExecution(
  envelopeIn: unknown,
  opts: VerifyExecutionOptions = {},
): Promise<Verdict> {
  const checks: Check[] = [];
  const parts: Verdict[] = [];
  const fields: Record<string, unknown> = {};
  let env: AttestationEnvelope;
  let claim: ExecutionClaim;
  try {
    const raw =
      envelopeIn === undefined && opts.response !== undefined
        ? attestationFromResponse(opts.response)
        : envelopeIn;
    env = parseEnvelope(raw);
    claim = claimFromJson(env.claim);
    checks.push(pass('binding.envelope', `envelope v${env.v}, mode ${env.mode}`));
  } catch (e) {
    checks.push(fail('binding.envelope', `${(e as Error).message}`));
    return verdict('execution', checks);
  }
  fields.mode = env.mode;
  fields.claim = env.claim;
  let rd: Uint8Array;
  try {
    rd = reportDataFor(claim);
  } catch (e) {
    checks.push(fail('binding.report-data', `cannot encode the claim: ${(e as Error).message}`));
    return verdict('execution', checks, { fields });
  }
  fields.reportData = bytesToHex(rd);
  checks.push(
    env.reportData === bytesToHex(rd)
      ? pass('binding.report-data', 'REPORT_DATA recomputed from the claim = envelope.reportData')
      : fail(
          'binding.report-data',
          `REPORT_DATA recomputed from the claim ${bytesToHex(rd)} ≠ envelope.reportData ${env.reportData}`,
        ),
  );
  if (opts.claim) {
    let same = false;
    try {
      same = eq(encodeClaim(opts.claim), encodeClaim(claim));
    } catch {
      same = false;
    }
    checks.push(
      (same ? pass : fail)(
        'binding.claim',
        same ? 'envelope claim = expected claim' : 'envelope claim differs from the expected claim',
      ),
    );
  }
  if (opts.request !== undefined) {
    try {
      const fromReq = claimInputFromRequest(opts.request);
      const a = inputSide({ ...claim, ...fromReq, nonce: fromReq.nonce } as ExecutionClaim);
      const same = eq(a, inputSide(claim));
      const detail = [
        fromReq.bytecodeSha256 !== claim.bytecodeSha256 ? 'bytecode' : '',
        fromReq.fn !== claim.fn ? 'function' : '',
        fromReq.mode !== claim.mode ? 'mode' : '',
        fromReq.gasLimit !== claim.gasLimit ? 'gas limit' : '',
      ]
        .filter(Boolean)
        .join(', ');
      checks.push(
        (same ? pass : fail)(
          'binding.request',
          same
            ? 'input side recomputed from the request = attested input side'
            : `request ≠ attested input side${detail ? ` (${detail})` : ' (inputs or nonce)'}`,
        ),
      );
    } catch (e) {
      checks.push(fail('binding.request', `cannot read the request: ${(e as Error).message}`));
    }
  }
  if (opts.nonce !== undefined) {
    const want = typeof opts.nonce === 'string' ? Buffer.from(opts.nonce, 'hex') : Buffer.from(opts.nonce);
    const ok = claim.nonce !== undefined && eq(claim.nonce, want);
    checks.push(
      (ok ? pass : fail)(
        'binding.nonce',
        ok
          ? 'claim nonce = the client nonce'
          : `claim nonce ${claim.nonce ? bytesToHex(claim.nonce) : '(none)'} ≠ ${want.toString('hex')}`,
      ),
    );
  } else checks.push(skip('binding.nonce', 'no nonce given: freshness not checked (replay possible)'));
  if (opts.response !== undefined) checks.push(...responseChecks(opts.response, claim));

  // ---- CPU evidence, and what its REPORT_DATA must be
  let cpuJson = env.evidence;
  let expected = rd;
  if (env.mode === 'session-key') {
    const s = env.session!;
    try {
      const spki = fromB64(s.spki, 'session.spki');
      const claimSpki = fromB64(s.claimSpki, 'session.claimSpki');
      const nonce = s.nonce ? Buffer.from(s.nonce, 'hex') : new Uint8Array(0);
      // Both keys are bound by the evidence (checked below against this REPORT_DATA).
      expected = sessionKeyReportData(spki, claimSpki, s.epoch, nonce);
      const jwkKey = createPublicKey({ key: s.jwk as never, format: 'jwk' });
      const sameKey = eq(new Uint8Array(jwkKey.export({ format: 'der', type: 'spki' })), spki);
      const claimKey = createPublicKey({ key: Buffer.from(claimSpki), format: 'der', type: 'spki' });
      const p256 =
        claimKey.asymmetricKeyType === 'ec' && claimKey.asymmetricKeyDetails?.namedCurve === 'prime256v1';
      const sig = fromB64(env.signature, 'signature');
      // ES256 (parseEnvelope accepts no other signatureAlg): P-256/SHA-256, IEEE P1363 r‖s.
      const sigOk =
        sameKey &&
        p256 &&
        env.signatureAlg === 'ES256' &&
        sig.length === 64 &&
        cryptoVerify('sha256', encodeClaim(claim), { key: claimKey, dsaEncoding: 'ieee-p1363' }, sig);
      checks.push(
        (sigOk ? pass : fail)(
          'binding.session-signature',
          sigOk
            ? `claim signed (ES256) by the session claim key (epoch ${s.epoch}, kid ${s.jwk.kid ?? '?'})`
            : !sameKey
              ? 'session.jwk and session.spki are different keys'
              : !p256
                ? 'session.claimSpki is not an ECDSA P-256 key'
                : 'the ES256 claim signature does not verify with the session claim key',
        ),
      );
      if (opts.checkSessionKeyValidity !== false) {
        const t = (opts.now ?? new Date()).getTime();
        const nb = Date.parse(s.notBefore);
        const na = Date.parse(s.notAfter);
        const ok = Number.isFinite(nb) && Number.isFinite(na) && nb - 300_000 <= t && t <= na + 300_000;
        checks.push(
          (ok ? pass : fail)(
            'binding.session-key-validity',
            `session key valid ${s.notBefore} – ${s.notAfter} (5 min skew allowed)`,
          ),
        );
      }
      cpuJson = s.evidence;
    } catch (e) {
      checks.push(fail('binding.session-signature', `bad session key: ${(e as Error).message}`));
    }
  }
  if (!cpuJson) {
    checks.push(fail('binding.evidence', 'no CPU evidence'));
    return verdict('execution', checks, { fields, parts });
  }
  let cpu: Cpu;
  try {
    cpu = evidenceFromJson(cpuJson);
  } catch (e) {
    checks.push(fail('binding.evidence', (e as Error).message));
    return verdict('execution', checks, { fields, parts });
  }
  fields.evidenceKind = cpu.kind;
  fields.simulated = cpu.simulated;
  const inEvidence = evidenceReportData(cpu);
  const bindId = env.mode === 'session-key' ? 'binding.session-key' : 'binding.evidence-report-data';
  checks.push(
    inEvidence && eq(inEvidence, expected)
      ? pass(
          bindId,
          env.mode === 'session-key'
            ? 'evidence REPORT_DATA = SHA-512(domain ‖ session key ‖ claim key ‖ epoch ‖ nonce)'
            : 'evidence REPORT_DATA = SHA-256(input side) ‖ SHA-256(output side) of the claim',
        )
      : fail(
          bindId,
          `evidence REPORT_DATA ${inEvidence ? bytesToHex(inEvidence) : '(unreadable)'} ≠ expected ${bytesToHex(expected)}: the evidence does not attest this ${env.mode === 'session-key' ? 'session key and claim key' : 'claim'}`,
        ),
  );
  const cpuVerdict = await verifyCpu(cpu, expected, opts);
  parts.push(cpuVerdict);
  if (cpuVerdict.fields?.simulated) fields.simulated = true;

  // ---- GPU evidence
  if (Array.isArray(env.gpu) && env.gpu.length > 0) parts.push(await verifyGpu(env.gpu, expected, opts));
  else if (opts.requireGpu)
    checks.push(fail('gpu.required', 'GPU evidence required but the envelope has none'));
  return verdict('execution', checks, { fields, parts });
}

export function isBindingError(e: unknown): e is BindingError {
  return e instanceof BindingError;
}

/**
 * Verify a session key's attestation (the `GetAttestation` answer: `SessionKeyJson` or its JSON string):
 * its evidence REPORT_DATA must be sessionKeyReportData(spki, claimSpki, epoch, nonce) with the client's
 * nonce, and the evidence must verify. On success the P-256 claim key (`fields.claimSpki`) may be used to
 * check session-key envelopes (ES256) and the P-384 key (`fields.jwk`) ES384 tokens (attest_vm) signed by it.
 */
export async function verifySessionAttestation(
  sessionIn: unknown,
  opts: Omit<VerifyExecutionOptions, 'claim' | 'response' | 'request'> & { nonce: Uint8Array | string },
): Promise<Verdict> {
  const checks: Check[] = [];
  const fields: Record<string, unknown> = {};
  let s: SessionKeyJson;
  try {
    s = (typeof sessionIn === 'string' ? JSON.parse(sessionIn) : sessionIn) as SessionKeyJson;
    if (
      !s ||
      typeof s !== 'object' ||
      typeof s.spki !== 'string' ||
      typeof s.claimSpki !== 'string' ||
      !s.evidence ||
      !s.jwk
    )
      throw new Error('expected { jwk, spki, claimSpki, epoch, nonce, evidence }');
  } catch (e) {
    return verdict('session-key', [fail('session.parse', (e as Error).message)]);
  }
  const want = typeof opts.nonce === 'string' ? Buffer.from(opts.nonce, 'hex') : Buffer.from(opts.nonce);
  const nonceOk = want.length > 0 && s.nonce === want.toString('hex');
  checks.push(
    (nonceOk ? pass : fail)(
      'binding.nonce',
      nonceOk ? 'evidence made for our nonce' : `session nonce '${s.nonce}' ≠ ${want.toString('hex')}`,
    ),
  );
  let expected: Uint8Array;
  let cpu: Cpu;
  try {
    const spki = fromB64(s.spki, 'session.spki');
    const jwkKey = createPublicKey({ key: s.jwk as never, format: 'jwk' });
    const same = eq(new Uint8Array(jwkKey.export({ format: 'der', type: 'spki' })), spki);
    checks.push(
      (same ? pass : fail)(
        'binding.session-jwk',
        same ? 'jwk = spki' : 'session.jwk and session.spki are different keys',
      ),
    );
    const claimSpki = fromB64(s.claimSpki, 'session.claimSpki');
    const claimKey = createPublicKey({ key: Buffer.from(claimSpki), format: 'der', type: 'spki' });
    const p256 =
      claimKey.asymmetricKeyType === 'ec' && claimKey.asymmetricKeyDetails?.namedCurve === 'prime256v1';
    checks.push(
      (p256 ? pass : fail)(
        'binding.session-claim-key',
        p256 ? 'claimSpki is an ECDSA P-256 key' : 'session.claimSpki is not an ECDSA P-256 key',
      ),
    );
    expected = sessionKeyReportData(spki, claimSpki, s.epoch, want);
    cpu = evidenceFromJson(s.evidence);
  } catch (e) {
    checks.push(fail('binding.session-key', (e as Error).message));
    return verdict('session-key', checks, { fields });
  }
  const inEvidence = evidenceReportData(cpu);
  checks.push(
    inEvidence && eq(inEvidence, expected)
      ? pass(
          'binding.session-key',
          'evidence REPORT_DATA = SHA-512(domain ‖ session key ‖ claim key ‖ epoch ‖ nonce)',
        )
      : fail('binding.session-key', 'the evidence does not bind these session keys and nonce'),
  );
  Object.assign(fields, {
    jwk: s.jwk,
    claimSpki: s.claimSpki,
    epoch: s.epoch,
    notBefore: s.notBefore,
    notAfter: s.notAfter,
    simulated: cpu.simulated,
  });
  const part = await verifyCpu(cpu, expected, opts);
  if (part.fields?.simulated) fields.simulated = true;
  const parts = [part];
  const gpu = (s as { gpu?: unknown }).gpu;
  if (Array.isArray(gpu) && gpu.length > 0) parts.push(await verifyGpu(gpu, expected, opts));
  return verdict('session-key', checks, { fields, parts });
}
