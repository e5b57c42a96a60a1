/**
 * Intel TDX evidence through the kernel's configfs-tsm interface (Documentation/ABI/testing/configfs-tsm)
 * with provider `tdx_guest`: the kernel asks the host's Quote Generation Service (QGS) for a quote.
 *
 *   mkdir $root/<entry>; `provider` must read `tdx_guest`; write `inblob` (64 bytes REPORT_DATA);
 *   read `generation`, `outblob` (the quote), `generation` again — a changed or unexpected generation
 *   means another writer touched the entry: retry with a fresh entry. The entry is always removed.
 *
 * The configfs root and the file-system operations are injectable so tests run it against a fake tree.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { parseTdxQuote } from '../../formats/index.ts';
import { registerTeeDetector } from '../detect.ts';
import type { CpuEvidence, TeeProvider } from '../types.ts';

export const TDX_CONFIGFS_ROOT = '/sys/kernel/config/tsm/report';
export const TDX_PROVIDER_NAME = 'tdx_guest';

/** The subset of node:fs/promises the provider uses. */
export interface TdxTsmFs {
  mkdir(path: string): Promise<unknown>;
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  access(path: string): Promise<void>;
}

export const nodeTsmFs: TdxTsmFs = {
  mkdir: (p) => fsp.mkdir(p),
  rmdir: (p) => fsp.rmdir(p),
  readFile: async (p) => new Uint8Array(await fsp.readFile(p)),
  writeFile: (p, d) => fsp.writeFile(p, d),
  access: (p) => fsp.access(p),
};

export type TdxTeeErrorCode =
  | 'TDX_BAD_REPORT_DATA'
  | 'TDX_UNAVAILABLE'
  | 'TDX_WRONG_PROVIDER'
  | 'TDX_CONCURRENT_WRITER'
  | 'TDX_BAD_QUOTE';

export class TdxTeeError extends Error {
  readonly code: TdxTeeErrorCode;
  constructor(code: TdxTeeErrorCode, message: string) {
    super(message);
    this.name = 'TdxTeeError';
    this.code = code;
  }
}

export interface TdxProviderOptions {
  /** configfs-tsm report root (default /sys/kernel/config/tsm/report). */
  root?: string;
  fs?: TdxTsmFs;
  /** Retries when the generation changed under us (default 5). */
  retries?: number;
  /** Delay before retry n (ms); default 5·2^n. */
  backoffMs?: (attempt: number) => number;
}

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8').trim();

/** True when configfs-tsm is present and a fresh entry's provider is `tdx_guest`. Never throws. */
export async function probeTdx(root = TDX_CONFIGFS_ROOT, fs: TdxTsmFs = nodeTsmFs): Promise<boolean> {
  try {
    await fs.access(root);
  } catch {
    return false;
  }
  const dir = join(root, `wasmvm-tee-probe-${randomBytes(6).toString('hex')}`);
  try {
    await fs.mkdir(dir);
  } catch {
    return false;
  }
  try {
    return text(await fs.readFile(join(dir, 'provider'))) === TDX_PROVIDER_NAME;
  } catch {
    return false;
  } finally {
    await fs.rmdir(dir).catch(() => undefined);
  }
}

export class TdxProvider implements TeeProvider {
  readonly kind = 'tdx' as const;
  readonly simulated = false;
  readonly description: string;
  private readonly root: string;
  private readonly fs: TdxTsmFs;
  private readonly opts: TdxProviderOptions;

  constructor(opts: TdxProviderOptions = {}) {
    this.opts = opts;
    this.root = opts.root ?? TDX_CONFIGFS_ROOT;
    this.fs = opts.fs ?? nodeTsmFs;
    this.description = `Intel TDX via configfs-tsm (${this.root}, provider ${TDX_PROVIDER_NAME})`;
  }

  async getEvidence(reportData: Uint8Array): Promise<CpuEvidence> {
    if (!(reportData instanceof Uint8Array) || reportData.length !== 64)
      throw new TdxTeeError('TDX_BAD_REPORT_DATA', 'REPORT_DATA must be exactly 64 bytes');
    const retries = this.opts.retries ?? 5;
    const backoff = this.opts.backoffMs ?? ((n: number) => 5 * 2 ** n);
    let why = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      const got = await this.once(reportData);
      if (got.ok) return got.evidence;
      why = got.why;
      if (attempt < retries) await new Promise((r) => setTimeout(r, backoff(attempt)));
    }
    throw new TdxTeeError(
      'TDX_CONCURRENT_WRITER',
      `configfs-tsm entry kept changing under us after ${retries + 1} attempts (${why})`,
    );
  }

  private async once(
    reportData: Uint8Array,
  ): Promise<{ ok: true; evidence: CpuEvidence } | { ok: false; why: string }> {
    const fs = this.fs;
    const dir = join(this.root, `wasmvm-tee-tdx-${process.pid}-${randomBytes(8).toString('hex')}`);
    try {
      await fs.mkdir(dir);
    } catch (e) {
      throw new TdxTeeError(
        'TDX_UNAVAILABLE',
        `cannot create a configfs-tsm report entry in ${this.root}: ${(e as Error).message}`,
      );
    }
    try {
      const provider = text(await fs.readFile(join(dir, 'provider')));
      if (provider !== TDX_PROVIDER_NAME)
        throw new TdxTeeError(
          'TDX_WRONG_PROVIDER',
          `configfs-tsm provider is '${provider}', expected '${TDX_PROVIDER_NAME}'`,
        );
      await fs.writeFile(join(dir, 'inblob'), reportData);
      const gen1 = text(await fs.readFile(join(dir, 'generation')));
      let outblob: Uint8Array;
      try {
        outblob = await fs.readFile(join(dir, 'outblob'));
      } catch (e) {
        throw new TdxTeeError(
          'TDX_UNAVAILABLE',
          `reading outblob failed (is the host's QGS reachable?): ${(e as Error).message}`,
        );
      }
      const gen2 = text(await fs.readFile(join(dir, 'generation')));
      if (gen1 !== gen2 || gen1 !== '1')
        return { ok: false, why: `generation ${gen1} → ${gen2}, expected 1` };
      let quote: ReturnType<typeof parseTdxQuote>;
      try {
        quote = parseTdxQuote(outblob);
      } catch (e) {
        throw new TdxTeeError('TDX_BAD_QUOTE', `outblob is not a TDX quote: ${(e as Error).message}`);
      }
      if (Buffer.compare(Buffer.from(quote.body.reportData), Buffer.from(reportData)) !== 0)
        return { ok: false, why: 'outblob REPORT_DATA differs from what we wrote' };
      return {
        ok: true,
        evidence: { kind: 'tdx', simulated: false, report: outblob, provider: 'configfs-tsm' },
      };
    } finally {
      await fs.rmdir(dir).catch(() => undefined);
    }
  }
}

// detectTee(): a configfs-tsm entry whose provider reads `tdx_guest` selects TdxProvider
// (force with WASMVM_TEE_PROVIDER=tdx). WASMVM_TEE_PROVIDER=simulated-tdx forces the SIMULATED TDX provider.
registerTeeDetector('tdx', async (opts) => {
  const root = opts.configfsRoot ?? TDX_CONFIGFS_ROOT;
  const isTdx =
    opts.configfsProvider !== undefined ? opts.configfsProvider === TDX_PROVIDER_NAME : await probeTdx(root);
  return isTdx ? new TdxProvider({ root }) : undefined;
});
registerTeeDetector('simulated-tdx', async (opts) => {
  if (opts.force !== 'simulated-tdx' && process.env.WASMVM_TEE_PROVIDER !== 'simulated-tdx') return undefined;
  const { SimulatedTdxProvider } = await import('./simulated.ts');
  return new SimulatedTdxProvider();
});
