/**
 * `wasmvm-tee verify-token`: a Microsoft Azure Attestation (MAA) JWT, verified offline against the
 * attestation provider's key set (its `/certs` JSON, signing certificates in `x5c`), with issuer,
 * audience, expiry and the x-ms-isolation-tee / x-ms-runtime claims per policy (docs/azure.md).
 */
import type { JSONWebKeySet } from 'jose';
import { EXIT } from './exit-codes.ts';
import { MAX_JSON_INPUT_BYTES, readFileBounded } from './read-bounded.ts';
import { parseArgs, reportUsage, UsageError } from './usage.ts';

export const summary = 'verify a Microsoft Azure Attestation (MAA) token offline';

export const help = `Usage: wasmvm-tee verify-token --token FILE --jwks FILE --issuer URL [options]

Verifies an MAA JWT (RS256) offline: the signing key by kid from the key set (its x5c certificate chain
and validity), the signature, the issuer, the audience, the expiry, and the claims: x-ms-isolation-tee
(attestation type sevsnpvm/tdxvm, compliance status azure-compliant-cvm, not debuggable) and
x-ms-runtime entries. Prints the SEV-SNP / TDX claims.

Options:
  --token FILE            the JWT (text; '-' reads stdin)
  --jwks FILE             the attestation provider's key set: the JSON of https://<provider>/certs
  --issuer URL            accepted iss (repeatable), e.g. https://sharedeus.eus.attest.azure.net
  --audience AUD          required aud
  --pin-cert FILE         the signing key's x5c chain must contain this certificate (PEM/DER; repeatable)
  --policy FILE           MAA policy JSON: { "issuers": [...], "audience", "attestationTypes",
                          "requireIsolationTee", "complianceStatus", "rejectDebuggable", "runtime": {...} }
                          (--issuer / --audience add to / override it)
  --runtime-nonce TEXT    require x-ms-runtime["client-payload"].nonce = TEXT
  --allow-tvm             accept a token without x-ms-isolation-tee (a trusted-launch VM, not a CVM)
  --now ISO-8601          verification time (default: now)
  --json                  print the verdict as JSON

Exit status: 0 verified, 1 verification failed, 2 usage or input error.
`;

export interface VerifyTokenIo {
  out(s: string): void;
  err(s: string): void;
  readStdin?(): Promise<string>;
}
const defaultIo: VerifyTokenIo = { out: (s) => console.log(s), err: (s) => console.error(s) };

function readText(path: string, what: string, max = MAX_JSON_INPUT_BYTES): string {
  let r: ReturnType<typeof readFileBounded>;
  try {
    r = readFileBounded(path, max);
  } catch (e) {
    throw new UsageError('BAD_INPUT', `${what}: ${(e as Error).message}`);
  }
  if ('tooLarge' in r)
    throw new UsageError('BAD_INPUT', `${what}: ${path} is ${r.tooLarge} bytes (at most ${max})`);
  return Buffer.from(r.bytes).toString('utf8');
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readText(path, what));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError('BAD_INPUT', `${what}: ${path} is not JSON: ${(e as Error).message}`);
  }
}

async function stdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function main(argv: string[], io: VerifyTokenIo = defaultIo): Promise<number> {
  let values: Record<string, unknown>;
  try {
    values = parseArgs(argv, {
      token: { type: 'string' },
      jwks: { type: 'string' },
      issuer: { type: 'string', multiple: true },
      audience: { type: 'string' },
      'pin-cert': { type: 'string', multiple: true },
      policy: { type: 'string' },
      'runtime-nonce': { type: 'string' },
      'allow-tvm': { type: 'boolean' },
      now: { type: 'string' },
      json: { type: 'boolean' },
    }).values as Record<string, unknown>;
  } catch (e) {
    if (e instanceof UsageError) return reportUsage('verify-token', e, io.err, help);
    throw e;
  }
  try {
    if (typeof values.token !== 'string') throw new UsageError('USAGE', '--token FILE is required');
    if (typeof values.jwks !== 'string')
      throw new UsageError('USAGE', '--jwks FILE is required (the provider /certs JSON)');
    const V = await import('../verify/index.ts');
    const base: Record<string, unknown> =
      typeof values.policy === 'string' ? { ...(readJson(values.policy, '--policy') as object) } : {};
    if (Array.isArray(values.issuer))
      base.issuers = [...((base.issuers as string[]) ?? []), ...values.issuer];
    if (typeof values.audience === 'string') base.audience = values.audience;
    if (values['allow-tvm']) base.requireIsolationTee = false;
    if (typeof values['runtime-nonce'] === 'string')
      base.runtime = {
        ...((base.runtime as object) ?? {}),
        'client-payload': { nonce: values['runtime-nonce'] },
      };
    if (base.issuers === undefined)
      throw new UsageError('USAGE', 'give --issuer URL (or "issuers" in --policy)');
    let policy: ReturnType<typeof V.parseMaaPolicy>;
    try {
      policy = V.parseMaaPolicy(base);
    } catch (e) {
      throw new UsageError('BAD_INPUT', (e as Error).message);
    }
    const jwks = readJson(values.jwks, '--jwks') as JSONWebKeySet;
    if (!jwks || typeof jwks !== 'object' || !Array.isArray(jwks.keys))
      throw new UsageError('BAD_INPUT', '--jwks: not a key set ({"keys": [...]})');
    const token = (
      values.token === '-' ? await (io.readStdin ?? stdin)() : readText(values.token, '--token')
    ).trim();
    const o: Parameters<typeof V.verifyMaaToken>[1] = { jwks, policy };
    if (typeof values.now === 'string') {
      o.now = new Date(values.now);
      if (Number.isNaN(o.now.getTime()))
        throw new UsageError('USAGE', `--now: not an ISO-8601 time: ${values.now}`);
    }
    if (Array.isArray(values['pin-cert']))
      o.pinnedCerts = (values['pin-cert'] as string[]).map((f) => {
        const r = readFileBounded(f, MAX_JSON_INPUT_BYTES);
        if ('tooLarge' in r) throw new UsageError('BAD_INPUT', `--pin-cert: ${f} is too large`);
        const t = Buffer.from(r.bytes).toString('latin1');
        return t.includes('-----BEGIN') ? t : r.bytes;
      });
    const v = await V.verifyMaaToken(token, o);
    if (values.json) io.out(JSON.stringify(v, null, 2));
    else {
      io.out(`${v.ok ? 'VERIFIED' : 'FAILED'}: ${v.kind}`);
      for (const c of v.checks) io.out(`  ${c.outcome.toUpperCase().padEnd(4)} ${c.id}: ${c.detail}`);
      const f = v.fields ?? {};
      io.out(
        `  issuer ${String(f.issuer)}, TEE ${String(f.isolationType ?? f.attestationType)}, expires ${String(f.expires)}`,
      );
      if (f.snp) io.out(`  SEV-SNP claims: ${JSON.stringify(f.snp)}`);
      if (f.tdx) io.out(`  TDX claims: ${JSON.stringify(f.tdx)}`);
    }
    return v.ok ? EXIT.OK : EXIT.VERIFICATION_FAILED;
  } catch (e) {
    io.err(`wasmvm-tee verify-token: ${(e as Error).message}`);
    return EXIT.USAGE;
  }
}
