// `autoresearch results --plot`: the picture researchers draw of such a night. Every experiment a
// dot (kept ones green and labelled), the best-so-far as a step line. An experiment trained more
// than once gets an error bar (± the standard deviation of its runs), and the best-so-far a band of
// ± the pooled noise σ: what a later candidate had to clear. Vega-Lite describes the chart,
// Vega renders it to SVG headless, resvg turns the SVG into a PNG. All three load only when asked,
// so `autoresearch results` itself stays fast.

import fs from 'node:fs';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { pooledNoise, runValues, stdDev } from '../engine/noise.js';
import type { Direction, ResultRow } from '../engine/types.js';
import { directionWords, formatValue } from '../ui/format.js';

export interface PlotInput {
  tag: string;
  metric: string;
  direction: Direction;
  rows: ResultRow[]; // the tag's rows, oldest first
}

/** Above this many kept experiments the labels would overlap into a smear; the dots still show. */
const MAX_LABELS = 40;
const MAX_DISCARD_DOTS = 5000;
const KEEP = '#2a9d3f';
const DISCARD = '#b8b8b8';

interface Point {
  n: number;
  value: number;
  status: 'keep' | 'discard';
  label: string;
}

export function plotSpec(input: PlotInput): TopLevelSpec {
  const { rows, metric, direction } = input;
  const points: Point[] = [];
  const best: { n: number; best: number }[] = [];
  let bestValue: number | null = null;
  let crashes = 0;
  rows.forEach((r, n) => {
    if (r.status === 'crash' || !Number.isFinite(r.value)) {
      crashes++;
      return;
    }
    if (r.status === 'keep') {
      bestValue = r.value;
      best.push({ n, best: r.value });
    }
    const desc = r.description.length > 42 ? `${r.description.slice(0, 41)}…` : r.description;
    points.push({ n, value: r.value, status: r.status, label: desc });
  });
  // Carry the step line on to the last experiment, so a long flat stretch is visible as such.
  const lastN = rows.length - 1;
  if (bestValue !== null && best.length > 0 && best[best.length - 1]!.n < lastN) best.push({ n: lastN, best: bestValue });

  const keeps = points.filter((p) => p.status === 'keep');
  const errorBars = rows.flatMap((r, n) => {
    const values = runValues(r);
    if (r.status === 'crash' || values.length < 2) return [];
    const sd = stdDev(values);
    return [{ n, lo: r.value - sd, hi: r.value + sd }];
  });
  const noise = pooledNoise(rows.map(runValues));
  const band = noise ? best.map((b) => ({ n: b.n, lo: b.best - noise.sigma, hi: b.best + noise.sigma })) : [];
  // Tens of thousands of grey dots are a cloud either way; thinning them keeps the SVG small and
  // the render quick, and every kept experiment is still drawn.
  const allDiscards = points.filter((p) => p.status === 'discard');
  const stride = Math.max(1, Math.ceil(allDiscards.length / MAX_DISCARD_DOTS));
  const discards = stride === 1 ? allDiscards : allDiscards.filter((_, i) => i % stride === 0);
  const baseline = keeps[0]?.value;
  const finalBest = keeps[keeps.length - 1]?.value;
  // Keep the interesting band in view: a wildly bad discard is pinned to the edge (clamped) rather
  // than squashing all the progress into a few pixels.
  let domain: [number, number] | undefined;
  if (baseline !== undefined && finalBest !== undefined && baseline !== finalBest) {
    const gain = Math.abs(baseline - finalBest);
    let lo = Infinity;
    let hi = -Infinity;
    for (const p of points) {
      lo = Math.min(lo, p.value);
      hi = Math.max(hi, p.value);
    }
    const pad = gain * 0.06; // so no dot sits on the frame
    domain = direction === 'min' ? [lo - pad, Math.min(hi, baseline + gain * 1.5) + pad] : [Math.max(lo, baseline - gain * 1.5) - pad, hi + pad];
  }
  const kept = keeps.length;
  const discarded = allDiscards.length;
  const pct = baseline !== undefined && finalBest !== undefined && baseline !== 0 ? ((direction === 'min' ? baseline - finalBest : finalBest - baseline) / Math.abs(baseline)) * 100 : null;
  const subtitle = [
    [
      `${rows.length} experiments: ${kept} kept, ${discarded} discarded, ${crashes} crashed${crashes ? ' (not shown)' : ''}${stride > 1 ? `; 1 in ${stride} discards drawn` : ''}`,
      finalBest !== undefined ? `best ${formatValue(finalBest)}${pct !== null ? ` (${pct.toFixed(2)}% better than baseline)` : ''}` : '',
    ]
      .filter(Boolean)
      .join(' · '),
    // A second line, so the title stays within the chart's width.
    ...(noise ? [`band: best ± noise σ ${formatValue(noise.sigma)}; bars: ± the spread of repeated runs`] : []),
  ];

  // Half an experiment of room at each end, so the first and last dots are whole.
  const xPad = Math.max(0.5, lastN * 0.01);
  const x = {
    field: 'n',
    type: 'quantitative' as const,
    title: 'Experiment #',
    scale: { domain: [-xPad, Math.max(1, lastN) + xPad], nice: false },
    axis: { tickMinStep: 1, format: 'd' },
  };
  // Labels run to the right of their dot, except near the right edge, where they run left.
  const rightEdge = lastN * 0.7;
  const labelled = keeps.length <= MAX_LABELS ? keeps : [];
  const y = {
    type: 'quantitative' as const,
    title: `${metric} (${directionWords(direction)})`,
    scale: { zero: false, ...(domain ? { domain, clamp: true } : {}) },
  };

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 900,
    height: 450,
    background: 'white',
    padding: 12,
    title: { text: `autoresearch · ${input.tag}`, subtitle, anchor: 'start', fontSize: 16, subtitleFontSize: 11 },
    layer: [
      {
        data: { values: band },
        mark: { type: 'area', interpolate: 'step-after', color: KEEP, opacity: 0.12, clip: true },
        encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } },
      },
      {
        data: { values: errorBars },
        mark: { type: 'rule', color: '#777777', strokeWidth: 1, clip: true },
        encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } },
      },
      {
        data: { values: discards },
        mark: { type: 'circle', size: 36, color: DISCARD, opacity: 0.9, clip: true },
        encoding: { x, y: { ...y, field: 'value' } },
      },
      {
        data: { values: best },
        mark: { type: 'line', interpolate: 'step-after', color: KEEP, strokeWidth: 2, clip: true },
        encoding: { x, y: { ...y, field: 'best' } },
      },
      {
        data: { values: keeps },
        mark: { type: 'circle', size: 70, color: KEEP, opacity: 1, stroke: '#1b5e20', strokeWidth: 1, clip: true },
        encoding: { x, y: { ...y, field: 'value' } },
      },
      {
        data: { values: labelled.filter((p) => p.n <= rightEdge) },
        mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 6, dy: -4, fontSize: 10, color: '#1b5e20', clip: true },
        encoding: { x, y: { ...y, field: 'value' }, text: { field: 'label', type: 'nominal' } },
      },
      {
        data: { values: labelled.filter((p) => p.n > rightEdge) },
        mark: { type: 'text', align: 'right', baseline: 'bottom', dx: -6, dy: -4, fontSize: 10, color: '#1b5e20', clip: true },
        encoding: { x, y: { ...y, field: 'value' }, text: { field: 'label', type: 'nominal' } },
      },
    ],
    config: { view: { stroke: '#dddddd' }, axis: { gridColor: '#eeeeee', labelFontSize: 11, titleFontSize: 12 } },
  };
}

export async function renderSvg(input: PlotInput): Promise<string> {
  return specToSvg(plotSpec(input));
}

/** A Vega-Lite spec as an SVG document (the report adds hover text to plotSpec's before drawing it). */
export async function specToSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

export async function renderPng(svg: string): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  // System fonts give the labels their glyphs; DejaVu/Liberation cover most Linux boxes, and resvg
  // falls back to any installed sans-serif face.
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}

/** Render to `file`; the extension picks the format. Returns the absolute path written. */
export async function writePlot(file: string, input: PlotInput): Promise<string> {
  const ext = path.extname(file).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') {
    throw new Error(`--plot ${file}: the file name must end in .svg or .png`);
  }
  const svg = await renderSvg(input);
  const data = ext === '.svg' ? svg : await renderPng(svg);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, data);
  return path.resolve(file);
}
