/**
 * The production wiring: the engine (src/engine) and the Attester over the detected TEE (src/tee).
 */
import { Engine } from '../engine/index.ts';
import { type DetectOptions, detectTee } from '../tee/index.ts';
import { TeeAttester } from './attester.ts';
import type { Backend } from './backend.ts';

export interface DefaultBackendOptions {
  /** Force a TEE provider ('simulated', 'configfs-tsm', 'sev-guest', 'tdx'); default: detect. */
  teeProvider?: string;
  /** Allow the simulated TEE when no hardware is found (default true). */
  allowSimulated?: boolean;
  /** Simulated TEE state directory. */
  stateDir?: string;
  sessionKeyLifetimeMs?: number;
  /** Options passed to `new Engine()`. */
  engineOptions?: ConstructorParameters<typeof Engine>[0];
}

export async function createDefaultBackend(opts: DefaultBackendOptions = {}): Promise<Backend> {
  const detect: DetectOptions = { allowSimulated: opts.allowSimulated ?? true };
  if (opts.teeProvider) detect.force = opts.teeProvider;
  if (opts.stateDir) detect.stateDir = opts.stateDir;
  const provider = await detectTee(detect);
  const attester = new TeeAttester(
    provider,
    opts.sessionKeyLifetimeMs !== undefined ? { sessionKeyLifetimeMs: opts.sessionKeyLifetimeMs } : {},
  );
  const engine = new Engine(opts.engineOptions);
  return { engine, attester };
}
