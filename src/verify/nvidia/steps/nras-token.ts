/**
 * One NRAS token (overall or device): ES384 only, a known kid, signature, issuer and exp/nbf at an explicit
 * clock ('<prefix>.signature', '.issuer', '.time').
 */
import { type createLocalJWKSet, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import type { Check } from '../../types.ts';

export interface TokenResult {
  payload?: JWTPayload;
  signature: Check;
  issuer: Check;
  time: Check;
}

export function c(id: string, outcome: Check['outcome'], detail: string): Check {
  return { id, outcome, detail };
}

export async function verifyToken(
  prefix: string,
  token: string,
  keys: ReturnType<typeof createLocalJWKSet> | undefined,
  keyError: string | undefined,
  opts: { issuers: string[]; now: Date; tolerance: number; knownKids: Set<string> },
): Promise<TokenResult> {
  const sig = `${prefix}.signature`;
  const iss = `${prefix}.issuer`;
  const time = `${prefix}.time`;
  const notReached = (why: string) => ({ issuer: c(iss, 'skip', why), time: c(time, 'skip', why) });
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch (e) {
    return {
      signature: c(sig, 'fail', `bad JWS header: ${(e as Error).message}`),
      ...notReached('token not verified'),
    };
  }
  if (header.alg !== 'ES384')
    return {
      signature: c(sig, 'fail', `alg '${String(header.alg)}' not allowed (ES384 only)`),
      ...notReached('token not verified'),
    };
  if (typeof header.kid !== 'string' || header.kid.length === 0)
    return { signature: c(sig, 'fail', 'no kid in the JWS header'), ...notReached('token not verified') };
  if (!keys)
    return { signature: c(sig, 'fail', `no NRAS keys: ${keyError}`), ...notReached('token not verified') };
  if (!opts.knownKids.has(header.kid))
    return {
      signature: c(sig, 'fail', `unknown kid '${header.kid}': not in the NRAS JWKS`),
      ...notReached('token not verified'),
    };
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: ['ES384'],
      issuer: opts.issuers,
      currentDate: opts.now,
      clockTolerance: opts.tolerance,
      requiredClaims: ['exp', 'iss'],
    });
    return {
      payload,
      signature: c(sig, 'pass', `ES384 signature verifies with kid ${header.kid}`),
      issuer: c(iss, 'pass', `iss ${String(payload.iss)}`),
      time: c(
        time,
        'pass',
        `valid at ${opts.now.toISOString()} (nbf ${payload.nbf ?? '-'}, exp ${payload.exp})`,
      ),
    };
  } catch (e) {
    const okSig = c(sig, 'pass', `ES384 signature verifies with kid ${header.kid}`);
    if (e instanceof errors.JWTExpired)
      return {
        payload: e.payload,
        signature: okSig,
        issuer: c(
          iss,
          opts.issuers.includes(String(e.payload.iss)) ? 'pass' : 'fail',
          `iss ${String(e.payload.iss)}`,
        ),
        time: c(
          time,
          'fail',
          `expired: exp ${e.payload.exp} <= ${Math.floor(opts.now.getTime() / 1000)} (${opts.now.toISOString()})`,
        ),
      };
    if (e instanceof errors.JWTClaimValidationFailed) {
      const p = e.payload;
      if (e.claim === 'iss')
        return {
          payload: p,
          signature: okSig,
          issuer: c(iss, 'fail', `iss '${String(p.iss)}' is not ${opts.issuers.join(' or ')}`),
          time: c(time, 'skip', 'not evaluated (issuer rejected first)'),
        };
      if (e.claim === 'nbf')
        return {
          payload: p,
          signature: okSig,
          issuer: c(iss, 'pass', `iss ${String(p.iss)}`),
          time: c(
            time,
            'fail',
            `not yet valid: nbf ${p.nbf} > ${Math.floor(opts.now.getTime() / 1000)} (${opts.now.toISOString()})`,
          ),
        };
      return {
        payload: p,
        signature: okSig,
        issuer: c(iss, 'skip', 'not evaluated'),
        time: c(time, 'fail', `claim '${e.claim}': ${e.message}`),
      };
    }
    if (e instanceof errors.JWSSignatureVerificationFailed)
      return {
        signature: c(sig, 'fail', `ES384 signature does not verify with kid ${header.kid}`),
        ...notReached('token not verified'),
      };
    return {
      signature: c(sig, 'fail', `${(e as Error).name}: ${(e as Error).message}`),
      ...notReached('token not verified'),
    };
  }
}

export function kidOf(token: string): string | undefined {
  try {
    const k = decodeProtectedHeader(token).kid;
    return typeof k === 'string' ? k : undefined;
  } catch {
    return undefined;
  }
}
