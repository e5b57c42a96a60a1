/**
 * verifyExecution: one Execute response's attestation envelope, end to end (docs/binding.md
 * "Verification"), as a short driver of named steps: read the envelope → recompute REPORT_DATA → the
 * request → freshness → the claim on its own → the session key → the CPU evidence → the GPU evidence →
 * the response's fields. Each step appends its checks, in this order, to one verdict.
 */
import {
  type AttestationEnvelope,
  type BindingError,
  bytesToHex,
  CLAIM_BATCH_DOMAIN,
  claimFromJson,
  claimSignedBytes,
  type EvidenceJson,
  type ExecutionClaim,
  encodeClaim,
  evidenceFromJson,
  fromB64,
  gpuBindingData,
  gpuEvidenceDigest,
  inputSide,
  outputSide,
  parseEnvelope,
  type SessionKeyData,
  type SessionKeyJson,
  sessionKeyDataFromJson,
  sessionKeyReportData,
} from '../../binding/index.ts';
import { digest } from '../../util/digest.ts';
import { cachedNote, factKey } from '../cache.ts';
import type { Check, Verdict } from '../types.ts';
import { verdict } from '../types.ts';
import {
  eq,
  fail,
  hexNonce,
  pass,
  SKEW_MS,
  same,
  serverBuildCheck,
  skip,
  type VerifyExecutionOptions,
} from './common.ts';
import { type Cpu, evidenceReportData, verifyCpu, verifyGpu } from './evidence.ts';
import { claimInputFromRequest } from './request.ts';
import { attestationFromResponse, type ResponseView, readResponse, responseChecks } from './response.ts';
import { isP256Spki, jwkMatchesSpki, verifyEs256 } from './session-keys.ts';

/** What the steps share: the options, and the verdict being built. */
interface Run {
  opts: VerifyExecutionOptions;
  /** The verification time (ms) and the clock skew allowed, set once the claim is read. */
  nowMs: number;
  skew: number;
  checks: Check[];
  parts: Verdict[];
  fields: Record<string, unknown>;
  /** Ids of this verdict's checks satisfied from `opts.cache` (fields.cached when any). */
  cached: string[];
}

/** The envelope read strictly: the claim, the response view (when given) and the raw attestation. */
interface Envelope {
  env: AttestationEnvelope;
  claim: ExecutionClaim;
  view: ResponseView | undefined;
  rawAttestation: unknown;
}

/** The claim's encodings: REPORT_DATA, encodeClaim bytes, and the input side. */
interface Encoded {
  rd: Uint8Array;
  encoded: Uint8Array;
  claimInput: Uint8Array;
}

/** Step 1: find and parse the envelope and its claim (and read the response). undefined: failed. */
function readEnvelope(envelopeIn: unknown, run: Run): Envelope | undefined {
  const { opts } = run;
  try {
    const rawAttestation =
      envelopeIn === undefined && opts.response !== undefined
        ? attestationFromResponse(opts.response)
        : envelopeIn;
    const view = opts.response !== undefined ? readResponse(opts.response) : undefined;
    const env = parseEnvelope(rawAttestation);
    const claim = claimFromJson(env.claim);
    run.checks.push(pass('binding.envelope', `envelope v${env.v}, claim v3, mode ${env.mode}`));
    return { env, claim, view, rawAttestation };
  } catch (e) {
    const err = e as BindingError;
    run.checks.push(fail('binding.envelope', `${err.code ? `${err.code}: ` : ''}${err.message}`));
    if (err.field) run.fields.errorField = err.field;
    return undefined;
  }
}

/** Step 2a: encode the claim's two sides once (REPORT_DATA and encodeClaim from them). */
function encodeSides(claim: ExecutionClaim, run: Run): Encoded | undefined {
  try {
    const a = inputSide(claim);
    const b = outputSide(claim);
    const rd = new Uint8Array(64);
    rd.set(sha256(a), 0);
    rd.set(sha256(b), 32);
    // encodeClaim(claim) = u32be len ‖ input side ‖ u32be len ‖ output side
    const encoded = new Uint8Array(8 + a.length + b.length);
    const dvw = new DataView(encoded.buffer);
    dvw.setUint32(0, a.length);
    encoded.set(a, 4);
    dvw.setUint32(4 + a.length, b.length);
    encoded.set(b, 8 + a.length);
    return { rd, encoded, claimInput: a };
  } catch (e) {
    run.checks.push(fail('binding.report-data', `cannot encode the claim: ${(e as Error).message}`));
    return undefined;
  }
}

function sha256(b: Uint8Array): Uint8Array {
  return digest('sha256', b);
}

/** Step 2b: the recomputed REPORT_DATA against the envelope's, and the expected claim when given. */
function reportDataChecks(env: AttestationEnvelope, enc: Encoded, run: Run): void {
  const { rd, encoded } = enc;
  run.fields.reportData = bytesToHex(rd);
  run.checks.push(
    env.reportData === bytesToHex(rd)
      ? pass('binding.report-data', 'REPORT_DATA recomputed from the claim = envelope.reportData')
      : fail(
          'binding.report-data',
          `REPORT_DATA recomputed from the claim ${bytesToHex(rd)} ≠ envelope.reportData ${env.reportData}`,
        ),
  );
  if (run.opts.claim) {
    let ok = false;
    try {
      ok = eq(encodeClaim(run.opts.claim), encoded);
    } catch {
      ok = false;
    }
    run.checks.push(
      (ok ? pass : fail)(
        'binding.claim',
        ok ? 'envelope claim = expected claim' : 'envelope claim differs from the expected claim',
      ),
    );
  }
}

/** Step 3: the input side recomputed from the request (when given); the request's nonce, if any. */
function requestCheck(claim: ExecutionClaim, claimInput: Uint8Array, run: Run): Uint8Array | undefined {
  if (run.opts.request === undefined) return undefined;
  let nonce: Uint8Array | undefined;
  try {
    const fromReq = claimInputFromRequest(run.opts.request);
    nonce = fromReq.nonce;
    const ok = eq(inputSide(fromReq), claimInput);
    const diff = (
      [
        ['bytecode', fromReq.bytecodeSha256 !== claim.bytecodeSha256],
        ['function', fromReq.fn !== claim.fn],
        ['mode', fromReq.mode !== claim.mode],
        ['gas limit', fromReq.gasLimit !== claim.gasLimit],
        ['meter', fromReq.meter !== claim.meter],
        ['attestation mode', fromReq.attestationRequested !== claim.attestationRequested],
        ['GPU evidence requested', fromReq.gpuRequested !== claim.gpuRequested],
        [
          'nonce',
          !same(fromReq.nonce, claim.nonce) || (fromReq.nonce === undefined) !== (claim.nonce === undefined),
        ],
      ] as const
    )
      .filter(([, d]) => d)
      .map(([n]) => n);
    const ridOk = fromReq.requestId === undefined || fromReq.requestId === claim.requestId;
    run.checks.push(
      ok && ridOk
        ? pass('binding.request', 'input side recomputed from the request = attested input side')
        : fail(
            'binding.request',
            `request ≠ attested claim (${[...diff, ...(ridOk ? [] : ['request id'])].join(', ') || 'inputs'})`,
          ),
    );
  } catch (e) {
    run.checks.push(fail('binding.request', `cannot read the request: ${(e as Error).message}`));
  }
  return nonce;
}

/** Step 4: freshness: the claim's nonce = the client's (given, or the request's). */
function nonceCheck(claim: ExecutionClaim, requestNonce: Uint8Array | undefined, run: Run): void {
  const { opts } = run;
  const nonceGiven =
    opts.nonce !== undefined
      ? typeof opts.nonce === 'string'
        ? hexNonce(opts.nonce)
        : new Uint8Array(opts.nonce)
      : requestNonce;
  if (nonceGiven !== undefined) {
    const ok = claim.nonce !== undefined && eq(claim.nonce, nonceGiven);
    run.checks.push(
      (ok ? pass : fail)(
        'binding.nonce',
        ok
          ? `claim nonce = the client nonce${opts.nonce === undefined ? ' (from the request)' : ''}: fresh`
          : `claim nonce ${claim.nonce ? bytesToHex(claim.nonce) : '(none)'} ≠ ${bytesToHex(nonceGiven)}`,
      ),
    );
  } else if (opts.freshness === 'skip') {
    run.checks.push(
      skip(
        'binding.nonce',
        'freshness NOT checked (no nonce; skipped on request): this may be a replayed result',
      ),
    );
    run.fields.freshness = 'not checked';
  } else
    run.checks.push(
      fail(
        'binding.nonce',
        'no nonce given: freshness cannot be checked. Give the nonce you sent (--nonce HEX, or a --request that carries it) or skip it explicitly (--no-nonce)',
      ),
    );
}

/** Step 5: the claim on its own (consistency), and when it was issued. */
function claimChecks(env: AttestationEnvelope, claim: ExecutionClaim, run: Run): void {
  const incons: string[] = [];
  if (claim.status === 'ok' && claim.trapMessage !== undefined) incons.push('status ok with a trap message');
  if (claim.status !== 'ok' && claim.outputs.length > 0) incons.push(`status ${claim.status} with outputs`);
  if (claim.executedMode !== claim.mode)
    incons.push(`ran in mode ${claim.executedMode}, the request asked for ${claim.mode}`);
  if (claim.attestationRequested !== 'default' && claim.attestationRequested !== claim.attestationMode)
    incons.push(`attested ${claim.attestationMode}, the request asked for ${claim.attestationRequested}`);
  if (claim.attestationMode !== env.mode)
    incons.push(`claim says ${claim.attestationMode}, envelope is ${env.mode}`);
  if ((claim.gasLimit !== undefined || claim.meter) && claim.gasUsed === undefined)
    incons.push('metered execution without gas used');
  run.checks.push(
    incons.length === 0
      ? pass(
          'binding.claim-consistency',
          'claim consistent: status/trap/outputs, requested = executed mode, attestation mode',
        )
      : fail('binding.claim-consistency', incons.join('; ')),
  );
  run.nowMs = (run.opts.now ?? new Date()).getTime();
  run.skew = run.opts.clockSkewMs ?? SKEW_MS;
  const { nowMs, skew } = run;
  const issuedAt = Number(claim.issuedAt);
  run.fields.issuedAt = new Date(issuedAt).toISOString();
  run.checks.push(
    issuedAt <= nowMs + skew
      ? pass('binding.issued-at', `claim issued ${run.fields.issuedAt}, not after the verification time`)
      : fail(
          'binding.issued-at',
          `claim issued ${run.fields.issuedAt}, after the verification time ${new Date(nowMs).toISOString()}`,
        ),
  );
}

/** What a session's keys tell on their own: a pure function of the session's fields (evidence aside). */
interface SessionKeyFacts {
  data: SessionKeyData;
  /** sessionKeyReportData without a nonce: the session's identity (claim.session). */
  identity: Uint8Array;
  /** The REPORT_DATA the session's CPU evidence must carry (with the session's nonce, if any). */
  expected: Uint8Array;
  /** session.jwk and session.spki are the same key. */
  sameKey: boolean;
  /** The claim key is ECDSA P-256. */
  p256: boolean;
}

/**
 * The session's key facts, from the cache when it has them (`at`: when they were established) — keyed
 * by every field of the session but its evidence, and kept only when both keys check out. Throws for a
 * malformed session (never cached).
 */
async function sessionKeyFacts(s: SessionKeyJson, run: Run): Promise<{ facts: SessionKeyFacts; at?: Date }> {
  const { cache } = run.opts;
  const key = cache ? factKey('session-keys', JSON.stringify({ ...s, evidence: undefined })) : undefined;
  const hit = key ? cache!.get<SessionKeyFacts>(key) : undefined;
  if (hit) {
    run.cached.push('binding.session-signature');
    return { facts: hit.value, at: hit.at };
  }
  const data = sessionKeyDataFromJson(s);
  const identity = sessionKeyReportData(data);
  const expected = s.nonce === '' ? identity : sessionKeyReportData(data, hexNonce(s.nonce));
  const sameKey = await jwkMatchesSpki(s.jwk, data.spki);
  const p256 = await isP256Spki(data.claimSpki);
  const facts = { data, identity, expected, sameKey, p256 };
  if (key && sameKey && p256) cache!.set(key, facts);
  return { facts };
}

/**
 * Step 6 (session-key mode): the claim signature, the session identity, the key's validity and build.
 * Returns the REPORT_DATA the session's CPU evidence must carry and that evidence (undefined: unreadable).
 */
async function sessionChecks(
  env: AttestationEnvelope,
  claim: ExecutionClaim,
  encoded: Uint8Array,
  run: Run,
): Promise<{ expected: Uint8Array; cpuJson: EvidenceJson } | undefined> {
  const { opts } = run;
  const s = env.session!;
  const { nowMs, skew } = run;
  const issuedAt = Number(claim.issuedAt);
  try {
    const { facts, at } = await sessionKeyFacts(s, run);
    const { data, identity, expected, sameKey, p256 } = facts;
    const sig = fromB64(env.signature, 'signature');
    // Per-claim: the key signed encodeClaim(claim). Batched: it signed the batch message of the root
    // this claim's inclusion proof leads to (undefined: the proof leads nowhere, nothing to verify).
    const signed = claimSignedBytes(encoded, env.batch);
    const what = env.batch ? 'claim batch root' : 'claim';
    const sigOk =
      signed !== undefined &&
      sameKey &&
      p256 &&
      sig.length === 64 &&
      (await verifyEs256(data.claimSpki, signed.bytes, sig));
    if (env.batch) {
      const { index, size } = env.batch;
      run.fields.claimBatch = signed?.root ? { index, size, root: bytesToHex(signed.root) } : { index, size };
      run.checks.push(
        signed === undefined
          ? fail(
              'binding.batch-inclusion',
              `the inclusion proof (leaf ${index} of ${size}, ${env.batch.path.length} path nodes) is not a proof for that position: no batch root to verify`,
            )
          : (sigOk ? pass : fail)(
              'binding.batch-inclusion',
              sigOk
                ? `claim is leaf ${index} of a batch of ${size} (RFC 9162 Merkle tree, ${CLAIM_BATCH_DOMAIN}); the root the proof leads to is the one the session claim key signed`
                : `the root recomputed from the claim (leaf ${index} of ${size}) and its path is not the one the session claim key signed`,
            ),
      );
    }
    run.checks.push(
      (sigOk ? pass : fail)(
        'binding.session-signature',
        sigOk
          ? `${what} signed (ES256) by the session claim key (epoch ${s.epoch}, kid ${s.jwk.kid ?? '?'})${at ? cachedNote(at, 'session keys (jwk = spki, P-256 claim key)') : ''}`
          : signed === undefined
            ? 'not checked: the batch inclusion proof leads to no root, so there is no signed message to verify'
            : !sameKey
              ? 'session.jwk and session.spki are different keys'
              : !p256
                ? 'session.claimSpki is not an ECDSA P-256 key'
                : `the ES256 ${what} signature does not verify with the session claim key`,
      ),
    );
    const idOk = claim.session === bytesToHex(identity);
    run.checks.push(
      (idOk ? pass : fail)(
        'binding.session-identity',
        idOk
          ? 'claim.session = this session (keys, epoch, validity, kid)'
          : 'claim.session is not this session: the claim was made for another session or its validity was rewritten',
      ),
    );
    const inWindow = data.notBefore <= issuedAt && issuedAt <= data.notAfter;
    const nowOk =
      opts.checkSessionKeyValidity === false ||
      (data.notBefore - skew <= nowMs && nowMs <= data.notAfter + skew);
    run.checks.push(
      (inWindow && nowOk ? pass : fail)(
        'binding.session-key-validity',
        `session key valid ${s.notBefore} – ${s.notAfter} (attested); claim issued ${run.fields.issuedAt}${inWindow ? '' : ' OUTSIDE the window'}; verification time ${new Date(nowMs).toISOString()}${nowOk ? (opts.checkSessionKeyValidity === false ? ' (not checked against the window)' : '') : ' OUTSIDE the window (5 min skew allowed; --now to verify at another time)'}`,
      ),
    );
    const sessionBuild = data.serverBuild === undefined ? undefined : bytesToHex(data.serverBuild);
    run.checks.push(
      sessionBuild === claim.serverBuildSha256
        ? pass(
            'binding.server-build',
            sessionBuild === undefined
              ? 'neither the session nor the claim reports a server build'
              : 'claim.serverBuildSha256 = the build bound into the session REPORT_DATA',
          )
        : fail(
            'binding.server-build',
            `claim.serverBuildSha256 ${claim.serverBuildSha256 ?? '(none)'} ≠ the session's attested build ${sessionBuild ?? '(none)'}`,
          ),
    );
    return { expected, cpuJson: s.evidence };
  } catch (e) {
    run.checks.push(fail('binding.session-signature', `bad session key: ${(e as Error).message}`));
    return undefined;
  }
}

/** Step 7: the claim's server build (fields, pin check); its WebGPU use and guest attestations (fields). */
function serverBuildChecks(env: AttestationEnvelope, claim: ExecutionClaim, run: Run): void {
  if (claim.serverBuildSha256 !== undefined) run.fields.serverBuildSha256 = claim.serverBuildSha256;
  if (claim.webgpu !== undefined) run.fields.webgpu = env.claim.webgpu;
  if (claim.guestAttestations !== undefined) run.fields.guestAttestations = env.claim.guestAttestations;
  const buildCheck = serverBuildCheck(claim.serverBuildSha256, run.opts, 'the claim');
  if (buildCheck) run.checks.push(buildCheck);
}

/** Step 8: the CPU evidence: its REPORT_DATA = `expected`, its verdict, and its TEE = the claim's. */
async function cpuChecks(
  env: AttestationEnvelope,
  claim: ExecutionClaim,
  cpuJson: EvidenceJson | undefined,
  expected: Uint8Array,
  run: Run,
): Promise<boolean> {
  const { checks, fields } = run;
  if (!cpuJson) {
    checks.push(fail('binding.evidence', 'no CPU evidence'));
    return false;
  }
  let cpu: Cpu;
  try {
    cpu = evidenceFromJson(cpuJson);
  } catch (e) {
    checks.push(fail('binding.evidence', (e as Error).message));
    return false;
  }
  fields.evidenceKind = cpu.kind;
  const inEvidence = evidenceReportData(cpu);
  const bindId = env.mode === 'session-key' ? 'binding.session-key' : 'binding.evidence-report-data';
  checks.push(
    inEvidence && eq(inEvidence, expected)
      ? pass(
          bindId,
          env.mode === 'session-key'
            ? 'evidence REPORT_DATA = SHA-512(domain ‖ session keys ‖ epoch ‖ validity ‖ kid ‖ nonce)'
            : 'evidence REPORT_DATA = SHA-256(input side) ‖ SHA-256(output side) of the claim',
        )
      : fail(
          bindId,
          `evidence REPORT_DATA ${inEvidence ? bytesToHex(inEvidence) : '(unreadable)'} ≠ expected ${bytesToHex(expected)}: the evidence does not attest this ${env.mode === 'session-key' ? 'session' : 'claim'}`,
        ),
  );
  const cpuVerdict = await verifyCpu(cpu, expected, run.opts);
  run.parts.push(cpuVerdict);
  const chainSimulated = cpuVerdict.fields?.simulated === true;
  fields.simulated = chainSimulated || claim.simulated;
  const teeDiffs: string[] = [];
  if (claim.teeKind !== cpu.kind) teeDiffs.push(`claim TEE ${claim.teeKind} ≠ evidence ${cpu.kind}`);
  if (claim.simulated !== cpuJson.simulated)
    teeDiffs.push(`claim simulated ${claim.simulated} ≠ evidence.simulated ${cpuJson.simulated}`);
  if (chainSimulated && !claim.simulated)
    teeDiffs.push('the evidence chains to a SIMULATED root but the claim says simulated: false');
  if (!chainSimulated && cpuVerdict.ok && claim.simulated)
    teeDiffs.push('the claim says simulated but the evidence chains to a vendor root');
  checks.push(
    teeDiffs.length === 0
      ? pass('binding.tee', `claim TEE ${claim.teeKind}, simulated ${claim.simulated} = the evidence`)
      : fail('binding.tee', teeDiffs.join('; ')),
  );
  return true;
}

/** Step 9: GPU evidence: requested ⇒ present; present ⇒ its digest is the claim's, and it verifies. */
async function gpuChecks(env: AttestationEnvelope, claim: ExecutionClaim, run: Run): Promise<void> {
  const gpu = Array.isArray(env.gpu) && env.gpu.length > 0 ? env.gpu : undefined;
  const gpuDiffs: string[] = [];
  if (claim.gpuRequested && !gpu)
    gpuDiffs.push('the request asked for GPU evidence and the envelope has none');
  if (gpu && claim.gpuEvidenceSha256 === undefined)
    gpuDiffs.push('GPU evidence present but the claim attests none');
  if (!gpu && claim.gpuEvidenceSha256 !== undefined)
    gpuDiffs.push('the claim attests GPU evidence the envelope does not carry');
  if (gpu && claim.gpuEvidenceSha256 !== undefined && gpuEvidenceDigest(gpu) !== claim.gpuEvidenceSha256)
    gpuDiffs.push("the GPU evidence is not the claim's (digest differs): swapped or edited");
  if (gpu || claim.gpuRequested || claim.gpuEvidenceSha256 !== undefined)
    run.checks.push(
      gpuDiffs.length === 0
        ? pass('binding.gpu', 'GPU evidence digest = claim.gpuEvidenceSha256')
        : fail('binding.gpu', gpuDiffs.join('; ')),
    );
  if (gpu) run.parts.push(await verifyGpu(gpu, gpuBindingData(claim), run.opts));
  else if (run.opts.requireGpu)
    run.checks.push(fail('gpu.required', 'GPU evidence required but the envelope has none'));
}

/** Step 10: the response's fields against the claim; what nothing attests is listed as unverified. */
function responseFieldChecks(e: Envelope, encoded: Uint8Array, run: Run): void {
  const { env, claim, view, rawAttestation } = e;
  // The provider name (which driver fetched the evidence) is informational: nothing attests it.
  const provider =
    env.mode === 'per-request' ? 'attestation.evidence.provider' : 'attestation.session.evidence.provider';
  if (view) {
    view.unverified.push(provider);
    run.checks.push(...responseChecks(view, env, claim, rawAttestation, encoded));
    run.fields.unverified = view.unverified;
  } else run.fields.unverified = [provider];
}

/**
 * Verify an execution: its attestation envelope, and — when given — the saved response (every field
 * compared with the claim), the request (input side recomputed) and the nonce. Never throws for bad
 * input: it becomes a failed check naming the field.
 */
export async function verifyExecution(
  envelopeIn: unknown,
  opts: VerifyExecutionOptions = {},
): Promise<Verdict> {
  const run: Run = { opts, nowMs: 0, skew: 0, checks: [], parts: [], fields: {}, cached: [] };
  const e = readEnvelope(envelopeIn, run);
  if (!e) return verdict('execution', run.checks, { fields: run.fields });
  const { env, claim } = e;
  run.fields.mode = env.mode;
  run.fields.claim = env.claim;
  const enc = encodeSides(claim, run);
  if (!enc) return verdict('execution', run.checks, { fields: run.fields });
  reportDataChecks(env, enc, run);
  const requestNonce = requestCheck(claim, enc.claimInput, run);
  nonceCheck(claim, requestNonce, run);
  claimChecks(env, claim, run);
  let cpuJson = env.evidence;
  let expected = enc.rd;
  if (env.mode === 'session-key') {
    const bound = await sessionChecks(env, claim, enc.encoded, run);
    if (bound) ({ expected, cpuJson } = bound);
  }
  serverBuildChecks(env, claim, run);
  if (!(await cpuChecks(env, claim, cpuJson, expected, run)))
    return verdict('execution', run.checks, { fields: run.fields, parts: run.parts });
  await gpuChecks(env, claim, run);
  responseFieldChecks(e, enc.encoded, run);
  if (run.cached.length > 0) run.fields.cached = run.cached;
  return verdict('execution', run.checks, { fields: run.fields, parts: run.parts });
}
