/**
 * Browser (Chromium) ÷ Node: the time of one SEV-SNP verification with the AMD chain cached
 * (verifySnpReport of the Genoa vector with its VCEK), in the browser bundle on WebCrypto in Debian's
 * chromium (test-toolchains/browser-helpers.ts) and in Node on the same sources, rounds interleaved
 * (alternating order) so that load from elsewhere hits both alike; median of the per-round ratios.
 * Skipped, saying why, when /usr/bin/chromium is absent.
 */
import { rmSync } from 'node:fs';
import { verifySnpReport } from '../../src/verify/index.ts';
import {
  buildPage,
  launch,
  noBrowser,
  openPlayground,
  PAGE_DECODE,
  toPageJson,
} from '../../test-toolchains/browser-helpers.ts';

export interface BrowserVsNode {
  skipped?: string;
  /** Median over rounds of (browser ms per verification ÷ Node ms per verification). */
  ratio?: number;
  browserMs?: number;
  nodeMs?: number;
  rounds?: number;
}

export async function browserVsNode(
  report: Uint8Array,
  vek: Uint8Array,
  now: Date,
  opts: { rounds: number; msPerSide: number },
): Promise<BrowserVsNode> {
  const why = noBrowser();
  if (why) return { skipped: why };
  const built = await buildPage();
  const browser = await launch();
  try {
    const page = await openPlayground(browser, built.fileUrl);
    await page.evaluate(`(() => { ${PAGE_DECODE}
      const a = dec(${JSON.stringify(toPageJson([report, vek, now.toISOString()]))});
      window.__bench = { report: a[0], vek: a[1], now: new Date(a[2]) };
    })()`);
    const inPage = (ms: number) =>
      page.evaluate(`(async () => {
        const { report, vek, now } = window.__bench;
        const verify = window.wasmvmTee.verifier.verifySnpReport;
        const end = performance.now() + ${ms};
        let n = 0;
        const t0 = performance.now();
        while (performance.now() < end) {
          const v = await verify(report, { vek, now });
          if (!v.ok) throw new Error('verification failed in the page');
          n++;
        }
        return (performance.now() - t0) / n;
      })()`) as Promise<number>;
    const inNode = async (ms: number) => {
      const end = performance.now() + ms;
      let n = 0;
      const t0 = performance.now();
      while (performance.now() < end) {
        const v = await verifySnpReport(report, { vek, now });
        if (!v.ok) throw new Error('verification failed in Node');
        n++;
      }
      return (performance.now() - t0) / n;
    };
    await inPage(200); // warm up: the chain verified once and cached, the JIT warm
    await inNode(200);
    const ratios: number[] = [];
    const b: number[] = [];
    const nd: number[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      let x: number;
      let y: number;
      if (r % 2 === 0) {
        x = await inPage(opts.msPerSide);
        y = await inNode(opts.msPerSide);
      } else {
        y = await inNode(opts.msPerSide);
        x = await inPage(opts.msPerSide);
      }
      b.push(x);
      nd.push(y);
      ratios.push(x / y);
    }
    const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
    return { ratio: med(ratios), browserMs: med(b), nodeMs: med(nd), rounds: opts.rounds };
  } finally {
    await browser.close();
    rmSync(built.dir, { recursive: true, force: true });
  }
}
