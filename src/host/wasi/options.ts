/** The WASI module's options: JSON-serializable, they travel to the worker in hostOptions.wasi. */

export interface PreopenOption {
  /** Name the guest sees (e.g. '/data' or '.'). */
  guest: string;
  /** Host directory. */
  host: string;
  /** Read-write when true; read-only by default. */
  writable?: boolean;
}

/** Options of the WASI module (JSON-serializable: they travel to the worker in hostOptions.wasi). */
export interface WasiOptions {
  args?: string[];
  env?: Record<string, string>;
  preopens?: PreopenOption[];
  /** Virtual clock + seeded random: runs are reproducible (attested runs). */
  deterministic?: boolean;
  /** Virtual realtime clock start, ns since the epoch (decimal string). Default 1704067200000000000 (2024-01-01). */
  clockStartNs?: string;
  /** Virtual clock step per clock_time_get, ns. Default 1000. */
  clockStepNs?: number;
  /** Seed for random_get in deterministic mode (any string). Default 'wasmvm-tee'. */
  seed?: string;
  /**
   * 'capture' (default): stdout/stderr kept (bounded) for collect(). Also, as they are written:
   * 'inherit': to this process's fds 1/2; 'bridge': to the parent through the host bridge (method
   * 'stdio', answered only when the handler was created with a `stdio` sink: the local runner).
   */
  stdio?: 'capture' | 'inherit' | 'bridge';
  /**
   * 'empty' (default): stdin is at EOF; 'inherit': read from the host's stdin; `{ data }`: these bytes,
   * then EOF (the local runner's opened sealed input: it never touches a host file or pipe).
   */
  stdin?: 'empty' | 'inherit' | { data: Uint8Array };
  /** Bound of each captured stream, bytes (default 1 MiB). Bytes past it are dropped and counted. */
  maxOutputBytes?: number;
}

/** Where written output also goes, as it is written. */
export type StdioForward = (fd: 1 | 2, data: Uint8Array) => void;
