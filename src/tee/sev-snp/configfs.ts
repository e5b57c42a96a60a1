/**
 * SEV-SNP evidence through the kernel's configfs-tsm interface (Documentation/ABI/testing/configfs-tsm):
 *   mkdir $root/<entry>; check `provider` = sev_guest; write `privlevel` (VMPL) and `inblob` (64 bytes);
 *   read `generation`, `outblob`, `auxblob`, `generation` again; a different generation means another writer
 *   touched the entry in between: retry. The entry is always removed (rmdir).
 * The root and the file-system operations are injectable so tests can run it against a fake kernel.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { certsFromTable, parseCertTable } from '../../formats/index.ts';
import type { CpuEvidence, TeeProvider } from '../types.ts';

export const CONFIGFS_TSM_ROOT = '/sys/kernel/config/tsm/report';

/** The subset of node:fs/promises the provider uses (the seam for the fake kernel in tests). */
export interface TsmFs {
  mkdir(path: string): Promise<unknown>;
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  access(path: string): Promise<void>;
}

const realFs: TsmFs = {
  mkdir: (p) => fsp.mkdir(p),
  rmdir: (p) => fsp.rmdir(p),
  readFile: async (p) => new Uint8Array(await fsp.readFile(p)),
  writeFile: (p, d) => fsp.writeFile(p, d),
  access: (p) => fsp.access(p),
};

export class TeeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'TeeError';
    this.code = code;
  }
}

export interface ConfigfsOptions {
  root?: string;
  /** VMPL to request (privlevel); undefined = leave the kernel default. */
  privlevel?: number;
  /** Retries when the generation changed under us (default 5). */
  retries?: number;
  fs?: TsmFs;
  /** Expected provider name (default 'sev_guest'). */
  expectProvider?: string;
}

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8').trim();

/** Read the `provider` of a fresh entry (probing only; the entry is removed). Undefined if unavailable. */
export async function probeConfigfsProvider(
  root = CONFIGFS_TSM_ROOT,
  fs: TsmFs = realFs,
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

export class ConfigfsTsmProvider implements TeeProvider {
  readonly kind = 'sev-snp' as const;
  readonly simulated = false;
  readonly description: string;
  private readonly root: string;
  private readonly fs: TsmFs;
  private readonly opts: ConfigfsOptions;

  constructor(opts: ConfigfsOptions = {}) {
    this.opts = opts;
    this.root = opts.root ?? CONFIGFS_TSM_ROOT;
    this.fs = opts.fs ?? realFs;
    this.description = `AMD SEV-SNP via configfs-tsm (${this.root})`;
  }

  async getEvidence(reportData: Uint8Array): Promise<CpuEvidence> {
    if (reportData.length !== 64)
      throw new TeeError('TEE_BAD_REPORT_DATA', 'REPORT_DATA must be exactly 64 bytes');
    const retries = this.opts.retries ?? 5;
    let lastGen = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      const got = await this.once(reportData);
      if (got.ok) return got.evidence;
      lastGen = got.why;
      await new Promise((r) => setTimeout(r, 5 * 2 ** attempt));
    }
    throw new TeeError('TEE_CONCURRENT_WRITER', `configfs-tsm entry kept changing under us (${lastGen})`);
  }

  private async once(
    reportData: Uint8Array,
  ): Promise<{ ok: true; evidence: CpuEvidence } | { ok: false; why: string }> {
    const fs = this.fs;
    const dir = join(this.root, `wasmvm-tee-${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      await fs.mkdir(dir);
    } catch (e) {
      throw new TeeError(
        'TEE_UNAVAILABLE',
        `cannot create a configfs-tsm report entry in ${this.root}: ${(e as Error).message}`,
      );
    }
    try {
      const provider = text(await fs.readFile(join(dir, 'provider')));
      const want = this.opts.expectProvider ?? 'sev_guest';
      if (provider !== want)
        throw new TeeError(
          'TEE_WRONG_PROVIDER',
          `configfs-tsm provider is '${provider}', expected '${want}'`,
        );
      let writes = 0;
      if (this.opts.privlevel !== undefined) {
        await fs.writeFile(join(dir, 'privlevel'), `${this.opts.privlevel}\n`);
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
          `reading the report (outblob) failed: ${(e as Error).message}`,
        );
      }
      let auxblob: Uint8Array | undefined;
      try {
        auxblob = await fs.readFile(join(dir, 'auxblob'));
      } catch {
        auxblob = undefined; // no certificates provisioned by the host
      }
      const gen2 = text(await fs.readFile(join(dir, 'generation')));
      if (gen1 !== gen2 || Number(gen1) !== writes)
        return { ok: false, why: `generation ${gen1} → ${gen2}, expected ${writes}` };
      const ev: CpuEvidence = {
        kind: 'sev-snp',
        simulated: false,
        report: outblob,
        provider: 'configfs-tsm',
      };
      if (auxblob && auxblob.length > 0) {
        ev.auxblob = auxblob;
        ev.certs = certsFromTable(parseCertTable(auxblob));
      }
      return { ok: true, evidence: ev };
    } finally {
      await fs.rmdir(dir).catch(() => undefined);
    }
  }
}
