/**
 * The server's own build digest: SHA-256 over the code this process runs, so that a verifier can pin
 * the exact server build. A confidential VM's launch measurement covers firmware, kernel and initrd,
 * not a container image or the files in it; this digest, once inside the attested session data,
 * covers the server's code (docs/deployment.md).
 *
 * Definition (version 1): the files of the directory this module was loaded from (dist/ for the
 * built package, src/ when run from the sources through tsx), those ending in `.js` (dist) or `.ts`
 * (src) and not `.d.ts`, sorted by their '/'-separated relative path (byte order of UTF-8), then
 *   SHA-256( "wasmvm-tee build digest v1" ‖ 0x00 ‖ package.json's bytes length-prefixed ‖
 *            for each file: u32be(len(path)) ‖ path ‖ u64be(len(contents)) ‖ contents ).
 * Source maps and declarations are not code and are left out. Dependencies (node_modules) and the
 * Node.js binary are not covered: pin them through the image (its digest) and the lock file.
 *
 * Recompute it from an unpacked package or image with `node scripts/build-digest.mjs DIR`.
 * Bound into the attested data: createDefaultBackend passes it to the Attester, which puts it into the
 * session REPORT_DATA and every claim (field 19); verifiers pin it (docs/deployment.md).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUILD_DIGEST_DOMAIN = 'wasmvm-tee build digest v1';

export interface BuildDigest {
  /** 'sha256:' + 64 hex digits. */
  digest: string;
  /** 'dist' (compiled package) or 'src' (TypeScript sources through tsx). */
  kind: 'dist' | 'src';
  files: number;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) out.push(...(await listFiles(p)));
    else if (ent.isFile()) out.push(p);
  }
  return out;
}

/** The digest of the code under `codeDir` (default: this module's directory) with `packageJson`. */
export async function computeBuildDigest(
  codeDir = dirname(fileURLToPath(import.meta.url)),
  packageJson = join(codeDir, '..', 'package.json'),
): Promise<BuildDigest> {
  const all = await listFiles(codeDir);
  const kind: 'dist' | 'src' = all.some((p) => p.endsWith('.ts') && !p.endsWith('.d.ts')) ? 'src' : 'dist';
  const ext = kind === 'src' ? '.ts' : '.js';
  const files = all
    .filter((p) => p.endsWith(ext) && !p.endsWith('.d.ts'))
    .map((p) => ({ p, rel: Buffer.from(relative(codeDir, p).split(sep).join('/'), 'utf8') }))
    .sort((a, b) => Buffer.compare(a.rel, b.rel));
  const h = createHash('sha256');
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const u64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  };
  h.update(BUILD_DIGEST_DOMAIN).update(Buffer.from([0]));
  const pkg = await readFile(packageJson);
  h.update(u64(pkg.length)).update(pkg);
  for (const f of files) {
    const data = await readFile(f.p);
    h.update(u32(f.rel.length)).update(f.rel).update(u64(data.length)).update(data);
  }
  return { digest: `sha256:${h.digest('hex')}`, kind, files: files.length };
}

let cached: Promise<BuildDigest> | undefined;
/** This process's build digest (computed once). */
export function buildDigest(): Promise<BuildDigest> {
  cached ??= computeBuildDigest();
  return cached;
}
