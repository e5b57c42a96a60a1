/**
 * Many replicas behind a load balancer: each replica (server process) has its OWN attested session
 * (P-384 session key + P-256 claim key, bound by that replica's hardware evidence). A response names
 * its session in the envelope; this cache verifies, per response, which replica's attested claim key
 * signed it:
 *  - first response of a session (a miss): the full verification (src/verify's verifyExecution: binding,
 *    claim signature, the session's hardware evidence to pinned roots, policy); when it passes, the
 *    session (its two public keys and epoch) is cached with its evidence verdict;
 *  - later responses of the same session (a hit): the binding checks (checkBinding, fresh nonce) and the
 *    ES256 claim signature with the cached, already attested claim key; the evidence is not verified
 *    again (it binds exactly these keys, which the signature now proves were used);
 *  - an unknown, expired (notAfter) or failed session is never a hit: it is verified in full.
 * Execute is idempotent (a pure function of the request), so `execute` retries transport failures
 * (a replica killed mid-call, a refused connection) with a fresh nonce, up to `retries` times, and
 * reports every failed attempt.
 */
import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { toJson } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import {
  claimFromJson,
  claimSignedBytes,
  encodeClaim,
  fromB64,
  type SessionKeyJson,
} from '../binding/index.ts';
import { WASMVMExecutionRequestSchema, WASMVMExecutionResponseSchema } from '../gen/wasmvm/v1/wasmvm_pb.ts';
import {
  type Check,
  type Verdict,
  type VerifyExecutionOptions,
  verdict,
  verifyExecution,
} from '../verify/index.ts';
import {
  type ExecuteAndVerifyResult,
  type ExecuteInput,
  executeAndVerify,
  type VerifyOptions,
  type WasmvmClient,
} from './client.ts';
import { ClientError } from './errors.ts';

/** One replica's attested session, as the cache knows it. */
export interface ReplicaSession {
  /** SHA-256(spki ‖ claimSpki ‖ u64be epoch), hex: the session's identity. */
  id: string;
  /** A name given with `label` (e.g. the replica's address), else the id's first 12 hex digits. */
  label: string;
  epoch: number;
  notAfter: string;
  simulated: boolean;
  /** Responses verified with this session (the first one included). */
  responses: number;
}

export interface CachedExecuteResult extends ExecuteAndVerifyResult {
  /** The replica session whose attested claim key signed this response (undefined: per-request mode). */
  session?: ReplicaSession;
  /** True when the session's evidence came from the cache (verified on an earlier response). */
  cacheHit: boolean;
  /** Failed attempts before this one (transport errors), each as `code: message`. */
  retried: string[];
}

export interface SessionCacheOptions {
  verify?: VerifyOptions;
  /** Transport retries of an idempotent Execute (default 3). */
  retries?: number;
  /** Delay before retry n is n × backoffMs (default 50). */
  backoffMs?: number;
  /** Sessions kept (oldest dropped first; default 64). */
  maxSessions?: number;
}

interface Entry {
  session: ReplicaSession;
  claimKey: ReturnType<typeof createPublicKey>;
  evidence: Verdict;
  /** The server build digest the session's evidence binds (checked and pinned at full verification). */
  serverBuildSha256: string | undefined;
}

const RETRYABLE = new Set([
  Code.Unavailable,
  Code.Aborted,
  Code.Unknown,
  Code.Internal,
  Code.DeadlineExceeded,
]);

export function sessionId(s: Pick<SessionKeyJson, 'spki' | 'claimSpki' | 'epoch'>): string {
  const epoch = Buffer.alloc(8);
  epoch.writeBigUInt64BE(BigInt(s.epoch));
  return createHash('sha256')
    .update(fromB64(s.spki, 'session.spki'))
    .update(fromB64(s.claimSpki, 'session.claimSpki'))
    .update(epoch)
    .digest('hex');
}

export class SessionCache {
  private readonly entries = new Map<string, Entry>();
  private readonly labels = new Map<string, string>();
  constructor(private readonly opts: SessionCacheOptions = {}) {}

  /** The sessions verified so far (one per replica and key epoch). */
  sessions(): ReplicaSession[] {
    return [...this.entries.values()].map((e) => ({ ...e.session }));
  }

  /** Name a session (e.g. after a call made straight to one replica). */
  label(id: string, name: string): void {
    this.labels.set(id, name);
    const e = this.entries.get(id);
    if (e) e.session.label = name;
  }

  /** Execute with retries; every response verified (see the module comment). */
  async execute(client: WasmvmClient, input: ExecuteInput): Promise<CachedExecuteResult> {
    const retries = this.opts.retries ?? 3;
    const retried: string[] = [];
    for (let attempt = 0; ; attempt++) {
      try {
        // A fresh nonce per attempt (never reuse one across attempts).
        const r = await this.executeOnce(client, { ...input, nonce: undefined } as ExecuteInput);
        return { ...r, retried };
      } catch (e) {
        const ce = ConnectError.from(e);
        if (!RETRYABLE.has(ce.code) || attempt >= retries || input.signal?.aborted) {
          const err = new ClientError(
            'EXECUTE_FAILED',
            `Execute failed after ${attempt + 1} attempt(s): ${Code[ce.code]}: ${ce.rawMessage}` +
              (retried.length ? ` (earlier: ${retried.join('; ')})` : ''),
            { cause: e },
          );
          throw err;
        }
        retried.push(`${Code[ce.code]}: ${ce.rawMessage}`);
        await new Promise((r) => setTimeout(r, (attempt + 1) * (this.opts.backoffMs ?? 50)));
      }
    }
  }

  private async executeOnce(
    client: WasmvmClient,
    input: ExecuteInput,
  ): Promise<Omit<CachedExecuteResult, 'retried'>> {
    const verify = this.opts.verify ?? {};
    // Binding checks (request ↔ claim ↔ response, fresh nonce) always run; evidence is decided here.
    const r = await executeAndVerify(client, input, { ...verify, skipEvidence: true });
    const checks: Check[] = r.verdict.checks.filter((c) => c.id !== 'evidence');
    const env = r.envelope;
    const nonce = r.request.execution?.nonce ?? (r.request as { nonce?: Uint8Array }).nonce;
    const full = async () => {
      const o: VerifyExecutionOptions = {
        request: toJson(WASMVMExecutionRequestSchema, r.request),
        response: toJson(WASMVMExecutionResponseSchema, r.response),
        ...(verify.extra ?? {}),
      };
      if (nonce !== undefined) o.nonce = nonce;
      if (verify.allowSimulated) o.allowSimulated = true;
      if (verify.trustSimulatedRoot !== undefined) o.trustSimulatedRoot = verify.trustSimulatedRoot;
      // The envelope is read from the response itself, so the verifier compares the one shown with the one it checks.
      return verifyExecution(undefined, o);
    };
    if (!env) return { ...r, cacheHit: false, verdict: verdict('execution-response', checks, {}) };
    if (env.mode !== 'session-key' || !env.session) {
      const v = await full();
      return { ...r, cacheHit: false, verdict: verdict('execution-response', checks, { parts: [v] }) };
    }
    const id = sessionId(env.session);
    const cached = this.entries.get(id);
    const now = Date.now();
    if (cached && Date.parse(cached.session.notAfter) > now) {
      let ok = false;
      try {
        const sig = fromB64(env.signature, 'signature');
        // Per-claim: over encodeClaim(claim); batched: over the batch root its inclusion proof leads to.
        const signed = claimSignedBytes(encodeClaim(claimFromJson(env.claim)), env.batch);
        ok =
          signed !== undefined &&
          env.signatureAlg === 'ES256' &&
          // the claim's build = the build bound into the cached session (and pinned when it was verified)
          env.claim.serverBuildSha256 === cached.serverBuildSha256 &&
          env.session.serverBuildSha256 === cached.serverBuildSha256 &&
          verifySignature('sha256', signed.bytes, { key: cached.claimKey, dsaEncoding: 'ieee-p1363' }, sig);
      } catch {
        ok = false;
      }
      checks.push({
        id: 'binding.session-signature',
        outcome: ok ? 'pass' : 'fail',
        detail: ok
          ? `claim signed (ES256) by replica ${cached.session.label}'s attested claim key (session cached, epoch ${cached.session.epoch})`
          : `the claim signature does not verify with the cached attested claim key of session ${cached.session.label}, or the claim's server build is not the session's`,
      });
      if (ok) cached.session.responses++;
      return {
        ...r,
        session: { ...cached.session },
        cacheHit: true,
        verdict: verdict('execution-response', checks, { parts: [cached.evidence] }),
      };
    }
    const v = await full();
    let session: ReplicaSession | undefined;
    if (v.ok) {
      const claimKey = createPublicKey({
        key: Buffer.from(fromB64(env.session.claimSpki, 'claimSpki')),
        format: 'der',
        type: 'spki',
      });
      session = {
        id,
        label: this.labels.get(id) ?? id.slice(0, 12),
        epoch: env.session.epoch,
        notAfter: env.session.notAfter,
        simulated: Boolean(v.fields?.simulated),
        responses: 1,
      };
      this.entries.set(id, {
        session,
        claimKey,
        evidence: v,
        serverBuildSha256: env.session.serverBuildSha256,
      });
      const max = this.opts.maxSessions ?? 64;
      while (this.entries.size > max) this.entries.delete(this.entries.keys().next().value!);
    }
    return {
      ...r,
      ...(session ? { session: { ...session } } : {}),
      cacheHit: false,
      verdict: verdict('execution-response', checks, { parts: [v] }),
    };
  }
}
