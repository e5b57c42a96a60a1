/**
 * Shared by the real-browser tests (browser.test.ts) and bench/verify: Debian's chromium driven by
 * playwright-core (no browser download), the browser build into a temporary folder, and values crossing
 * into the page (bytes as tagged base64: page.evaluate takes JSON, and a string expression so that no
 * transpiler helper leaks into the page).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { buildBrowser } from '../scripts/build-browser.mjs';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = new URL('../', import.meta.url).pathname;

/** Why the browser tests cannot run here, or undefined. */
export function noBrowser(): string | undefined {
  return existsSync(CHROMIUM)
    ? undefined
    : `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium; .ci/apt-packages.txt) to run the browser tests`;
}

export async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  // --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
}

/** The browser build into a fresh folder: { dir, page: the one-file playground's file:// URL }. */
export async function buildPage(): Promise<{
  dir: string;
  fileUrl: string;
  sizes: Record<string, { bytes: number; gzip: number }>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmvm-browser-'));
  const sizes = await buildBrowser({ root: ROOT, outDir: dir });
  return { dir, fileUrl: pathToFileURL(join(dir, 'playground', 'wasmvm-tee-playground.html')).href, sizes };
}

/** Open a page and wait until the playground's script ran (window.wasmvmTee is set). */
export async function openPlayground(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  // a locator, not waitForFunction: the served page's CSP forbids the eval a string predicate needs
  await page
    .locator('html[data-ready="true"]')
    .waitFor({ state: 'attached', timeout: 30_000 })
    .catch(() => {
      throw new Error(`the playground did not start: ${errors.join('; ') || 'no page error'}`);
    });
  return page;
}

/** JSON with bytes as {"$b64": "..."} (decoded again in the page by PAGE_DECODE). */
export function toPageJson(x: unknown): string {
  return JSON.stringify(x, (_k, v) => {
    if (v instanceof Uint8Array) return { $b64: Buffer.from(v).toString('base64') };
    if (typeof v === 'bigint') return { $bigint: v.toString() };
    return v;
  });
}

/** A page-side expression: `dec(json)` parses toPageJson's output back (bytes, bigints). */
export const PAGE_DECODE = `const dec = (s) => JSON.parse(s, (k, v) => {
  if (v && typeof v === 'object' && typeof v.$b64 === 'string') return Uint8Array.from(atob(v.$b64), (c) => c.charCodeAt(0));
  if (v && typeof v === 'object' && typeof v.$bigint === 'string') return BigInt(v.$bigint);
  return v;
});`;

/** Call `window.wasmvmTee.verifier[fn](...args)` in the page (dates as ISO strings in `dates` positions). */
export async function verifyInPage(page: Page, fn: string, args: unknown[], body = ''): Promise<unknown> {
  return page.evaluate(`(async () => { ${PAGE_DECODE}
    const args = dec(${JSON.stringify(toPageJson(args))});
    ${body}
    const v = await window.wasmvmTee.verifier[${JSON.stringify(fn)}](...args);
    return JSON.parse(JSON.stringify(v, (k, x) => typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Array.from(x) : x));
  })()`);
}

export interface Shape {
  ok: boolean;
  kind: string;
  checks: [string, string][];
  parts: Shape[];
}

/** What must be equal in Node and in the browser: ok, and every check's id and outcome, in order, with the parts. */
export function shape(v: unknown): Shape {
  const x = v as { ok: boolean; kind: string; checks: { id: string; outcome: string }[]; parts?: unknown[] };
  return {
    ok: x.ok,
    kind: x.kind,
    checks: x.checks.map((c) => [c.id, c.outcome]),
    parts: (x.parts ?? []).map(shape),
  };
}
