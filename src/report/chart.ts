// The report's progress chart: exactly --plot's chart (plotSpec, drawn by Vega to SVG), with one
// addition: each dot carries its experiment as hover text, an SVG <title>, so the browser shows it
// without any script.

import type { TopLevelSpec } from 'vega-lite';
import { specToSvg, plotSpec, type PlotInput } from '../commands/plot.js';
import { experimentOf } from '../engine/duplicates.js';
import { clipText, valueText } from '../engine/history.js';

/** What hovering experiment `index`'s dot says. */
export function tipText(input: PlotInput, index: number): string {
  const r = input.rows[index]!;
  return `#${experimentOf(r, index)} ${r.commit} ${r.status} ${valueText(r)} · ${clipText(r.description, 160)}`;
}

/** plotSpec with a `tip` on every dot, as its description (Vega writes it as the dot's aria-label). */
export function chartSpec(input: PlotInput): TopLevelSpec {
  const spec = plotSpec(input) as TopLevelSpec & { layer: Array<{ mark: { type: string }; data: { values: Array<{ n: number }> }; encoding: Record<string, unknown> }> };
  for (const layer of spec.layer) {
    if (layer.mark.type !== 'circle') continue;
    layer.data.values = layer.data.values.map((p) => ({ ...p, tip: tipText(input, p.n) }));
    layer.encoding['description'] = { field: 'tip' };
  }
  return spec;
}

/**
 * Give every dot a <title> holding its aria-label (already XML-escaped by Vega), and make the ids
 * of this chart its own (`prefix`), so two charts on one page do not share clip paths.
 */
export function addTitles(svg: string, prefix: string): string {
  return svg
    .replace(/<path aria-label="([^"]*)" role="graphics-symbol" aria-roledescription="circle"([^>]*?)\/>/g, '<path aria-label="$1" role="graphics-symbol" aria-roledescription="circle"$2><title>$1</title></path>')
    .replace(/ id="([^"]+)"/g, ` id="${prefix}$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`);
}

export async function chartSvg(input: PlotInput, prefix: string): Promise<string> {
  return addTitles(await specToSvg(chartSpec(input)), prefix);
}
