import type { Plugin } from 'esbuild';
export declare const platformPlugin: Plugin;
