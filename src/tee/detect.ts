/**
 * detectTee(): configfs-tsm (sev_guest) → /dev/sev-guest → extra detectors (TDX: engineer F registers one)
 * → the SIMULATED TEE, with a loud warning on stderr. Never silently trusted: simulated evidence is marked
 * and the verifier rejects it unless told otherwise.
 */
import { access } from 'node:fs/promises';
import { TeeError } from './errors.ts';
import { CONFIGFS_TSM_ROOT, ConfigfsTsmProvider, probeConfigfsProvider } from './sev-snp/configfs.ts';
import { SEV_GUEST_DEVICE, SevGuestIoctlProvider } from './sev-snp/ioctl.ts';
import { SimulatedSevSnpProvider } from './simulated.ts';
import type { TeeProvider } from './types.ts';

export interface DetectOptions {
  configfsRoot?: string;
  sevGuestDevice?: string;
  /** Allow the simulated fallback (default true; false → throws when no hardware TEE is found). */
  allowSimulated?: boolean;
  /** Force a provider: 'configfs-tsm' | 'sev-guest' | 'simulated' | a registered detector's name. */
  force?: string;
  /** Options for the simulated provider. */
  stateDir?: string;
}

/** Extra detectors, tried after the SEV-SNP ones (e.g. TDX). Return undefined when not present. */
export type TeeDetector = (
  opts: DetectOptions & { configfsProvider?: string },
) => Promise<TeeProvider | undefined>;
const detectors: Array<{ name: string; detect: TeeDetector }> = [];

export function registerTeeDetector(name: string, detect: TeeDetector): void {
  if (!detectors.some((d) => d.name === name)) detectors.push({ name, detect });
}

export async function detectTee(opts: DetectOptions = {}): Promise<TeeProvider> {
  const root = opts.configfsRoot ?? CONFIGFS_TSM_ROOT;
  const dev = opts.sevGuestDevice ?? SEV_GUEST_DEVICE;
  const force = opts.force ?? process.env.WASMVM_TEE_PROVIDER;
  const simulated = () => new SimulatedSevSnpProvider(opts.stateDir ? { stateDir: opts.stateDir } : {});
  if (force === 'simulated') return simulated();
  if (force === 'configfs-tsm') return new ConfigfsTsmProvider({ root });
  if (force === 'sev-guest') return new SevGuestIoctlProvider({ device: dev });

  const configfsProvider = await probeConfigfsProvider(root);
  if (!force && configfsProvider === 'sev_guest') return new ConfigfsTsmProvider({ root });
  if (!force) {
    try {
      await access(dev);
      return new SevGuestIoctlProvider({ device: dev });
    } catch {
      // no /dev/sev-guest
    }
  }
  for (const d of detectors) {
    if (force && d.name !== force) continue;
    const p = await d.detect({ ...opts, ...(configfsProvider ? { configfsProvider } : {}) });
    if (p) return p;
  }
  if (force) throw new TeeError('TEE_UNAVAILABLE', `TEE provider '${force}' is not available here`);
  if (opts.allowSimulated === false)
    throw new TeeError(
      'TEE_UNAVAILABLE',
      'no hardware TEE found (configfs-tsm, /dev/sev-guest) and simulation is disabled',
    );
  return simulated();
}
