/**
 * Intel TDX evidence through the kernel's configfs-tsm interface (Documentation/ABI/testing/configfs-tsm)
 * with provider `tdx_guest`: the kernel asks the host's Quote Generation Service (QGS) for a quote.
 *
 *   mkdir $root/<entry>; `provider` must read `tdx_guest`; write `inblob` (64 bytes REPORT_DATA);
 *   read `generation`, `outblob` (the quote), `generation` again — a changed or unexpected generation
 *   means another writer touched the entry: retry with a fresh entry. The entry is always removed.
 *
 * The protocol (and its generation check, its TeeError codes) lives in ../configfs-tsm.ts, shared with the
 * SEV-SNP provider; this file adds the quote check (outblob parses and carries our REPORT_DATA).
 */
import { parseTdxQuote } from '../../formats/index.ts';
import {
  CONFIGFS_TSM_ROOT,
  nodeTsmFs,
  probeTsmProvider,
  readTsmReport,
  type TsmFs,
} from '../configfs-tsm.ts';
import { registerTeeDetector } from '../detect.ts';
import { TeeError, type TeeErrorCode } from '../errors.ts';
import type { CpuEvidence, TeeProvider } from '../types.ts';

export { nodeTsmFs } from '../configfs-tsm.ts';

export const TDX_CONFIGFS_ROOT = CONFIGFS_TSM_ROOT;
export const TDX_PROVIDER_NAME = 'tdx_guest';

/** The subset of node:fs/promises the provider uses (the configfs-tsm module's TsmFs). */
export type TdxTsmFs = TsmFs;

/** @deprecated The TDX provider throws TeeError (one set of codes with the SEV-SNP providers). */
export type TdxTeeErrorCode = TeeErrorCode;
/** @deprecated Use TeeError: the TDX provider throws it (TEE_* codes). */
export const TdxTeeError = TeeError;
/** @deprecated Use TeeError. */
export type TdxTeeError = TeeError;

export interface TdxProviderOptions {
  /** configfs-tsm report root (default /sys/kernel/config/tsm/report). */
  root?: string;
  fs?: TdxTsmFs;
  /** Retries when the generation changed under us (default 5). */
  retries?: number;
  /** Delay before retry n (ms); default 5·2^n. */
  backoffMs?: (attempt: number) => number;
}

/** True when configfs-tsm is present and a fresh entry's provider is `tdx_guest`. Never throws. */
export async function probeTdx(root = TDX_CONFIGFS_ROOT, fs: TdxTsmFs = nodeTsmFs): Promise<boolean> {
  return (await probeTsmProvider(root, fs)) === TDX_PROVIDER_NAME;
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
    const got = await readTsmReport(reportData, {
      root: this.root,
      fs: this.fs,
      provider: TDX_PROVIDER_NAME,
      entryPrefix: 'wasmvm-tee-tdx',
      outblobHint: "is the host's QGS reachable?",
      ...(this.opts.retries !== undefined ? { retries: this.opts.retries } : {}),
      ...(this.opts.backoffMs !== undefined ? { backoffMs: this.opts.backoffMs } : {}),
      check: (outblob) => {
        let quote: ReturnType<typeof parseTdxQuote>;
        try {
          quote = parseTdxQuote(outblob);
        } catch (e) {
          throw new TeeError('TEE_BAD_EVIDENCE', `outblob is not a TDX quote: ${(e as Error).message}`);
        }
        if (Buffer.compare(Buffer.from(quote.body.reportData), Buffer.from(reportData)) !== 0)
          return 'outblob REPORT_DATA differs from what we wrote';
        return undefined;
      },
    });
    return { kind: 'tdx', simulated: false, report: got.outblob, provider: 'configfs-tsm' };
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
