/**
 * Node only: the on-disk cache of AMD KDS answers (`KdsCache` for kds.ts), one file per URL named by the
 * SHA-256 of the URL, under `$WASMVM_TEE_KDS_CACHE` or ~/.cache/wasmvm-tee/kds; and `pruneKdsCache`, which
 * `wasmvm-tee collateral prune` runs. The browser build never loads this module (src/verify/browser.ts).
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { digestHex } from '../../util/digest.ts';
import { type KdsCache, kdsBodyExpiry } from './kds.ts';

export function defaultKdsCacheDir(): string {
  return process.env.WASMVM_TEE_KDS_CACHE || join(homedir(), '.cache', 'wasmvm-tee', 'kds');
}

/**
 * A KDS cache in `dir` (default `defaultKdsCacheDir()`, read when first used): a missing or unreadable file
 * is a miss; a write goes to a temporary file renamed into place, so a reader never sees half an answer.
 */
export function fileKdsCache(dir?: string): KdsCache {
  const where = () => dir ?? defaultKdsCacheDir();
  const file = (url: string) => join(where(), digestHex('sha256', url));
  return {
    async get(url) {
      try {
        return new Uint8Array(await readFile(file(url)));
      } catch {
        return undefined;
      }
    },
    async set(url, body) {
      await mkdir(where(), { recursive: true });
      const f = file(url);
      const tmp = `${f}.${process.pid}.tmp`;
      await writeFile(tmp, body);
      await rename(tmp, f);
    },
  };
}

/** Delete the cached KDS answers past their expiry at `now` (and unreadable ones). */
export function pruneKdsCache(
  dir: string = defaultKdsCacheDir(),
  now: Date = new Date(),
): { removed: string[]; kept: number } {
  const removed: string[] = [];
  let kept = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { removed, kept };
  }
  for (const n of names) {
    if (!/^[0-9a-f]{64}$/.test(n)) continue;
    const p = join(dir, n);
    let exp: Date | undefined;
    try {
      exp = kdsBodyExpiry(new Uint8Array(readFileSync(p)));
    } catch {
      exp = undefined;
    }
    if (exp === undefined || exp.getTime() < now.getTime()) {
      rmSync(p, { force: true });
      removed.push(`KDS ${n.slice(0, 16)}… (${exp ? `expired ${exp.toISOString()}` : 'unreadable'})`);
    } else kept++;
  }
  return { removed, kept };
}
