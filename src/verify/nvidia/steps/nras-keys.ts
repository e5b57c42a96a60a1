/**
 * The NRAS signing keys: NVIDIA's pinned keys plus any added ones (one refetch of an added source on an
 * unknown kid), each usable only when its x5c reaches a pinned NRAS CA ('nvidia.nras.keys').
 */
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { Check } from '../../types.ts';
import { isJwks, type JwksSource, pinnedJwks } from '../jwks.ts';
import type { ParsedNrasResponse, VerifyNrasOptions } from '../nras.ts';
import { NRAS_PINNED_CA_SPKI_SHA256, NRAS_PINNED_JWKS, NRAS_PINNED_JWKS_DATE } from '../nras-pinned-jwks.ts';
import { c, kidOf } from './nras-token.ts';
import { checkJwkX5c } from './nras-x5c.ts';

export interface NrasKeys {
  keys: ReturnType<typeof createLocalJWKSet> | undefined;
  keyError: string | undefined;
  knownKids: Set<string>;
  /** The merged key set; undefined when no keys could be had. */
  keySet: JSONWebKeySet | undefined;
  /** The x5c verdict for the key of `token` (undefined when it has no key in the set). */
  keyTrust: (token: string) => Promise<{ outcome: Check['outcome']; detail: string } | undefined>;
}

export async function loadNrasKeys(
  parsed: ParsedNrasResponse,
  opts: VerifyNrasOptions,
  now: Date,
  checks: Check[],
): Promise<NrasKeys> {
  const pinnedSet: JSONWebKeySet = opts.pinnedKeys === false ? { keys: [] } : NRAS_PINNED_JWKS;
  const source: JwksSource | undefined =
    opts.jwks === undefined
      ? undefined
      : isJwks(opts.jwks)
        ? pinnedJwks(opts.jwks)
        : (opts.jwks as JwksSource);
  const pins = opts.pinnedNrasCaSpkiSha256 ?? [...NRAS_PINNED_CA_SPKI_SHA256];
  const caPins = opts.requireNrasCa === false ? undefined : pins;
  let keys: ReturnType<typeof createLocalJWKSet> | undefined;
  let keyError: string | undefined;
  const knownKids = new Set<string>();
  let keySet: JSONWebKeySet | undefined;
  const kidsOf = (s: JSONWebKeySet) =>
    new Set(s.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string'));
  const merge = (added: JSONWebKeySet): { set: JSONWebKeySet; ignored: number } => {
    const have = kidsOf(pinnedSet);
    const extra = added.keys.filter((k) => typeof k.kid !== 'string' || !have.has(k.kid));
    return { set: { keys: [...pinnedSet.keys, ...extra] }, ignored: added.keys.length - extra.length };
  };
  let ignored = 0;
  let addedCount = 0;
  try {
    let added = source ? await source.get() : { keys: [] };
    const kids = [parsed.overall, ...Object.values(parsed.devices)]
      .map(kidOf)
      .filter((k): k is string => !!k);
    if (source?.refresh && kids.some((k) => !kidsOf(merge(added).set).has(k))) added = await source.refresh();
    const m = merge(added);
    ignored = m.ignored;
    addedCount = added.keys.length - m.ignored;
    for (const k of kidsOf(m.set)) knownKids.add(k);
    keys = createLocalJWKSet(m.set);
    keySet = m.set;
  } catch (e) {
    keyError = (e as Error).message;
  }
  checks.push(
    c(
      'nvidia.nras.keys',
      keySet ? 'pass' : 'fail',
      keySet
        ? `${pinnedSet.keys.length} pinned NVIDIA key(s) (JWKS of ${NRAS_PINNED_JWKS_DATE})${source ? ` + ${addedCount} added from ${source.description}` : ''}${ignored ? ` (${ignored} added key(s) ignored: kid already pinned)` : ''}; signing keys must chain to ${caPins ? `a pinned NRAS CA (${caPins.map((h) => `${h.slice(0, 12)}…`).join(', ')})` : 'nothing (requireNrasCa=false)'}`
        : `no NRAS keys: ${keyError}`,
    ),
  );
  // One x5c verdict per key and verification: the overall token and every device token usually share a key.
  const trusted = new Map<Record<string, unknown>, ReturnType<typeof checkJwkX5c>>();
  const keyTrust = async (token: string) => {
    const kid = kidOf(token);
    const jwk = keySet?.keys.find((k) => k.kid === kid) as Record<string, unknown> | undefined;
    if (!jwk) return undefined;
    let r = trusted.get(jwk);
    if (!r) {
      r = checkJwkX5c(jwk, now, caPins);
      trusted.set(jwk, r);
    }
    return await r;
  };
  return { keys, keyError, knownKids, keySet, keyTrust };
}
