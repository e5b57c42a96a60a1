/**
 * SEV-SNP evidence through the kernel's configfs-tsm interface (Documentation/ABI/testing/configfs-tsm):
 *   mkdir $root/<entry>; check `provider` = sev_guest; write `privlevel` (VMPL) and `inblob` (64 bytes);
 *   read `generation`, `outblob`, `auxblob`, `generation` again; a different generation means another writer
 *   touched the entry in between: retry. The entry is always removed (rmdir). The protocol lives in
 *   ../configfs-tsm.ts (shared with the TDX provider); this file adds the SNP certificate table.
 */
import { certsFromTable, parseCertTable } from '../../formats/index.ts';
import {
  CONFIGFS_TSM_ROOT,
  nodeTsmFs,
  probeTsmProvider,
  readTsmReport,
  type TsmFs,
} from '../configfs-tsm.ts';
import type { CpuEvidence, TeeProvider } from '../types.ts';

export { CONFIGFS_TSM_ROOT, type TsmFs } from '../configfs-tsm.ts';
/** @deprecated Import TeeError from the tee index (src/tee/errors.ts); kept for old imports. */
export { TeeError } from '../errors.ts';

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

/** Read the `provider` of a fresh entry (probing only; the entry is removed). Undefined if unavailable. */
export async function probeConfigfsProvider(
  root = CONFIGFS_TSM_ROOT,
  fs: TsmFs = nodeTsmFs,
): Promise<string | undefined> {
  return probeTsmProvider(root, fs);
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
    this.fs = opts.fs ?? nodeTsmFs;
    this.description = `AMD SEV-SNP via configfs-tsm (${this.root})`;
  }

  async getEvidence(reportData: Uint8Array): Promise<CpuEvidence> {
    const got = await readTsmReport(reportData, {
      root: this.root,
      fs: this.fs,
      provider: this.opts.expectProvider ?? 'sev_guest',
      ...(this.opts.privlevel !== undefined ? { privlevel: this.opts.privlevel } : {}),
      ...(this.opts.retries !== undefined ? { retries: this.opts.retries } : {}),
      auxblob: true,
      outblobHint: 'the SEV-SNP report',
    });
    const ev: CpuEvidence = {
      kind: 'sev-snp',
      simulated: false,
      report: got.outblob,
      provider: 'configfs-tsm',
    };
    if (got.auxblob) {
      ev.auxblob = got.auxblob;
      ev.certs = certsFromTable(parseCertTable(got.auxblob));
    }
    return ev;
  }
}
