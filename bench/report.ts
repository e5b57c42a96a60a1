/**
 * What every bench writes besides its printed table: bench/results/<name>.json (a summary: the figures,
 * the machine's load, the node version, whether it was a --quick run) and bench/results/<name>.svg (a
 * plain horizontal bar chart of the figures, built by hand: no dependency). bench/results/ is ignored by
 * git except its README and the committed example (bench/results/example/).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

export interface Bar {
  label: string;
  value: number;
  /** Bars of one group share a colour (e.g. 'no cache' / 'warm cache'); a legend lists the groups. */
  group?: string;
}

export interface Chart {
  title: string;
  /** The unit of the values, shown after each (e.g. '× one P-384 verify', 'ms', 'req/s'). */
  unit: string;
  bars: Bar[];
  /** A reference line (e.g. a goal). */
  target?: { value: number; label: string };
}

export interface BenchSummary {
  /** One line on what was measured and how (rounds, medians). */
  title: string;
  /** The headline figures, by name. */
  figures: Record<string, number | string | boolean | null>;
  charts: Chart[];
  /** Anything else worth keeping (raw medians, rows of the printed table). */
  detail?: unknown;
}

const RESULTS = new URL('./results/', import.meta.url);
const COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1'];

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** A stack of horizontal bar charts, one per Chart, as SVG text. */
export function barChartSvg(title: string, charts: Chart[]): string {
  const W = 900;
  const labelW = 380;
  const barMax = W - labelW - 140;
  const row = 20;
  const out: string[] = [];
  let y = 30;
  out.push(`<text x="10" y="20" font-size="15" font-weight="bold">${esc(title)}</text>`);
  for (const c of charts) {
    const groups = [...new Set(c.bars.map((b) => b.group ?? ''))];
    const colour = (g: string | undefined) => COLOURS[groups.indexOf(g ?? '') % COLOURS.length]!;
    y += 18;
    out.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(c.title)}</text>`);
    if (groups.length > 1 || groups[0] !== '') {
      let x = labelW;
      for (const g of groups) {
        out.push(`<rect x="${x}" y="${y - 10}" width="10" height="10" fill="${colour(g)}"/>`);
        out.push(`<text x="${x + 14}" y="${y}" font-size="11">${esc(g)}</text>`);
        x += 20 + g.length * 7;
      }
    }
    y += 8;
    const finite = c.bars.map((b) => b.value).filter((v) => Number.isFinite(v));
    const max = Math.max(...finite, c.target?.value ?? 0, Number.MIN_VALUE);
    const top = y;
    for (const b of c.bars) {
      const w = Number.isFinite(b.value) ? Math.max(0, (b.value / max) * barMax) : 0;
      out.push(
        `<text x="${labelW - 6}" y="${y + 14}" font-size="11" text-anchor="end">${esc(b.label)}</text>`,
        `<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 6}" fill="${colour(b.group)}"/>`,
        `<text x="${(labelW + w + 4).toFixed(1)}" y="${y + 14}" font-size="11">${esc(`${fmt(b.value)} ${c.unit}`)}</text>`,
      );
      y += row;
    }
    if (c.target) {
      const x = labelW + (c.target.value / max) * barMax;
      out.push(
        `<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${y}" stroke="#333" stroke-dasharray="4 3"/>`,
        `<text x="${(x + 3).toFixed(1)}" y="${y + 11}" font-size="10" fill="#333">${esc(c.target.label)}</text>`,
      );
      y += 12;
    }
    y += 6;
  }
  const h = y + 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif">\n<rect width="${W}" height="${h}" fill="#fff"/>\n${out.join('\n')}\n</svg>\n`;
}

/** Write bench/results/<name>.json and .svg; prints where. */
export function writeBenchResult(name: string, s: BenchSummary, opts: { quick?: boolean } = {}): void {
  mkdirSync(RESULTS, { recursive: true });
  const json = {
    bench: name,
    title: s.title,
    at: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadavg: loadavg().map((x) => Number(x.toFixed(2))),
    quick: opts.quick ?? false,
    figures: s.figures,
    charts: s.charts,
    ...(s.detail === undefined ? {} : { detail: s.detail }),
  };
  const base = new URL(`${name}`, RESULTS);
  writeFileSync(`${base.pathname}.json`, `${JSON.stringify(json, null, 2)}\n`);
  const sub = `${s.title}${opts.quick ? ' (--quick: a smoke run, not a measurement)' : ''}`;
  writeFileSync(`${base.pathname}.svg`, barChartSvg(sub, s.charts));
  console.log(`\nwrote bench/results/${name}.json and bench/results/${name}.svg`);
}
