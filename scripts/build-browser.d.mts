import type { Plugin } from 'esbuild';
export declare const BROWSER_BUDGET: { verifier: number; playground: number };
export declare function gzipSize(bytes: Uint8Array): number;
export declare function buildBrowser(opts: {
  root: string;
  outDir?: string;
  plugins?: Plugin[];
}): Promise<Record<string, { bytes: number; gzip: number }>>;
