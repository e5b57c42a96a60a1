/**
 * The kernel's configfs-tsm report interface (Documentation/ABI/testing/configfs-tsm), written once for
 * every provider behind it (sev_guest, tdx_guest):
 *
 *   mkdir $root/<entry>; `provider` must read the expected name; write `privlevel` (optional) and
 *   `inblob` (64 bytes REPORT_DATA); read `generation`, `outblob`, `auxblob` (optional), `generation`
 *   again. The generation must be unchanged and equal to the number of our writes, otherwise another
 *   writer touched the entry: retry with a fresh entry. The entry is always removed (rmdir).
 *
 * The root and the file-system operations are options, so tests run it against a fake tree.
 * Errors: TeeError (TEE_BAD_REPORT_DATA, TEE_UNAVAILABLE, TEE_WRONG_PROVIDER, TEE_FIRMWARE_ERROR,
 * TEE_CONCURRENT_WRITER); `check` may throw its own.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { TeeError } from './errors.ts';

export const CONFIGFS_TSM_ROOT = '/sys/kernel/config/tsm/report';

/** The subset of node:fs/promises used (the seam for a fake kernel in tests). */
export interface TsmFs {
  mkdir(path: string): Promise<unknown>;
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  access(path: string): Promise<void>;
}

export const nodeTsmFs: TsmFs = {
  mkdir: (p) => fsp.mkdir(p),
  rmdir: (p) => fsp.rmdir(p),
  readFile: async (p) => new Uint8Array(await fsp.readFile(p)),
  writeFile: (p, d) => fsp.writeFile(p, d),
  access: (p) => fsp.access(p),
};

export interface TsmReportOptions {
  /** The configfs-tsm report root (default /sys/kernel/config/tsm/report). */
  root?: string;
  fs?: TsmFs;
  /** The provider the entry must report (`sev_guest`, `tdx_guest`). */
  provider: string;
  /** VMPL / privilege level to write to `privlevel`; undefined leaves the kernel default. */
  privlevel?: number;
  /** Also read `auxblob` (missing or unreadable: no auxblob). Default false. */
  auxblob?: boolean;
  /** Retries when the generation changed under us (default 5). */
  retries?: number;
  /** Delay before retry n (ms); default 5·2^n. */
  backoffMs?: (attempt: number) => number;
  /** Entry name prefix (default 'wasmvm-tee'); the pid and random hex follow. */
  entryPrefix?: string;
  /** What to say after "reading outblob failed" (e.g. where the quote comes from). */
  outblobHint?: string;
  /** Look at the outblob before the entry is removed: a string means "retry" (the reason), a throw aborts. */
  check?: (outblob: Uint8Array) => string | undefined;
}

export interface TsmReport {
  outblob: Uint8Array;
  /** Present when asked for and the kernel returned a non-empty one. */
  auxblob?: Uint8Array;
}

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8').trim();

/** Read the `provider` of a fresh entry (probing only; the entry is removed). Undefined if unavailable. */
export async function probeTsmProvider(
  root: string = CONFIGFS_TSM_ROOT,
  fs: TsmFs = nodeTsmFs,
): Promise<string | undefined> {
  try {
    await fs.access(root);
  } catch {
    return undefined;
  }
  const dir = join(root, `wasmvm-tee-probe-${randomBytes(6).toString('hex')}`);
  try {
    await fs.mkdir(dir);
  } catch {
    return undefined;
  }
  try {
    return text(await fs.readFile(join(dir, 'provider')));
  } catch {
    return undefined;
  } finally {
    await fs.rmdir(dir).catch(() => undefined);
  }
}

/** One report through configfs-tsm for `reportData` (64 bytes), retrying on concurrent writers. */
export async function readTsmReport(reportData: Uint8Array, opts: TsmReportOptions): Promise<TsmReport> {
  if (!(reportData instanceof Uint8Array) || reportData.length !== 64)
    throw new TeeError('TEE_BAD_REPORT_DATA', 'REPORT_DATA must be exactly 64 bytes');
  const retries = opts.retries ?? 5;
  const backoff = opts.backoffMs ?? ((n: number) => 5 * 2 ** n);
  let why = '';
  for (let attempt = 0; attempt <= retries; attempt++) {
    const got = await once(reportData, opts);
    if (got.ok) return got.report;
    why = got.why;
    if (attempt < retries) await new Promise((r) => setTimeout(r, backoff(attempt)));
  }
  throw new TeeError(
    'TEE_CONCURRENT_WRITER',
    `configfs-tsm entry kept changing under us after ${retries + 1} attempts (${why})`,
  );
}

async function once(
  reportData: Uint8Array,
  opts: TsmReportOptions,
): Promise<{ ok: true; report: TsmReport } | { ok: false; why: string }> {
  const fs = opts.fs ?? nodeTsmFs;
  const root = opts.root ?? CONFIGFS_TSM_ROOT;
  const dir = join(
    root,
    `${opts.entryPrefix ?? 'wasmvm-tee'}-${process.pid}-${randomBytes(8).toString('hex')}`,
  );
  try {
    await fs.mkdir(dir);
  } catch (e) {
    throw new TeeError(
      'TEE_UNAVAILABLE',
      `cannot create a configfs-tsm report entry in ${root}: ${(e as Error).message}`,
    );
  }
  try {
    const provider = text(await fs.readFile(join(dir, 'provider')));
    if (provider !== opts.provider)
      throw new TeeError(
        'TEE_WRONG_PROVIDER',
        `configfs-tsm provider is '${provider}', expected '${opts.provider}'`,
      );
    let writes = 0;
    if (opts.privlevel !== undefined) {
      await fs.writeFile(join(dir, 'privlevel'), `${opts.privlevel}\n`);
      writes++;
    }
    await fs.writeFile(join(dir, 'inblob'), reportData);
    writes++;
    const gen1 = text(await fs.readFile(join(dir, 'generation')));
    let outblob: Uint8Array;
    try {
      outblob = await fs.readFile(join(dir, 'outblob'));
    } catch (e) {
      throw new TeeError(
        'TEE_FIRMWARE_ERROR',
        `reading outblob failed${opts.outblobHint ? ` (${opts.outblobHint})` : ''}: ${(e as Error).message}`,
      );
    }
    let auxblob: Uint8Array | undefined;
    if (opts.auxblob) {
      try {
        auxblob = await fs.readFile(join(dir, 'auxblob'));
      } catch {
        auxblob = undefined; // no certificates provisioned by the host
      }
    }
    const gen2 = text(await fs.readFile(join(dir, 'generation')));
    if (gen1 !== gen2 || Number(gen1) !== writes)
      return { ok: false, why: `generation ${gen1} → ${gen2}, expected ${writes}` };
    const retry = opts.check?.(outblob);
    if (retry !== undefined) return { ok: false, why: retry };
    const report: TsmReport = { outblob };
    if (auxblob && auxblob.length > 0) report.auxblob = auxblob;
    return { ok: true, report };
  } finally {
    await fs.rmdir(dir).catch(() => undefined);
  }
}
