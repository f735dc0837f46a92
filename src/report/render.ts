// The report's model (model.ts) as one self-contained HTML page: inline style, script and SVG,
// and a Content-Security-Policy that lets the page load nothing at all, so that even a description
// crafted to fetch something could not. Every text from the night goes through escapeHtml.

import type { Status } from '../engine/types.js';
import { directionWords, formatCost, formatDuration, formatValue } from '../ui/format.js';
import { REPORT_CSS, REPORT_JS } from './assets.js';
import { renderDiff } from './diff.js';
import { escapeHtml as esc } from './escape.js';
import type { ExperimentView, NightLine, TagReport } from './model.js';

const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";
const STATUSES: readonly Status[] = ['keep', 'discard', 'crash'];

/** `2026-11-26 22:01 UTC`: the same on every machine that opens the file. */
export function utcMinute(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : '?';
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const runsOf = (runs: number): string => (runs > 1 ? ` (mean of ${runs} runs)` : '');

/** The night's figures, each a short phrase; joined with " · " they are the one line. */
export function nightPhrases(n: NightLine): string[] {
  const sigma = n.noise ? `, noise σ ${formatValue(n.noise.sigma)}` : '';
  const phrases = [
    `<b>${esc(n.tag)}</b>`,
    `${utcMinute(n.from)} → ${utcMinute(n.to)} (${n.hours >= 1 ? `${n.hours.toFixed(1)} h` : `${Math.round(n.hours * 60)} min`})`,
    `${plural(n.experiments, 'experiment')}: <span class="keep">${n.counts.keep} keep</span>, <span class="discard">${n.counts.discard} discard</span>, <span class="crash">${n.counts.crash} crash</span>`,
  ];
  if (n.baseline && n.best) {
    phrases.push(`${esc(n.metric)} ${formatValue(n.baseline.value)}${runsOf(n.baseline.runs)} → <b>${formatValue(n.best.value)}</b>${runsOf(n.best.runs)}${sigma}`);
  } else phrases.push('no baseline measured');
  if (n.improvementPercent !== null) phrases.push(`${Math.abs(n.improvementPercent).toFixed(2)}% ${n.improvementPercent >= 0 ? 'better' : 'worse'}`);
  phrases.push(`${n.gpuHours.toFixed(2)} GPU-hours at most`, `${formatCost(n.costUsd)} API`, `${plural(n.duplicates.refused, 'duplicate')} refused`);
  return phrases;
}

function valueCell(e: ExperimentView): string {
  return e.value === null ? '—' : formatValue(e.value);
}

/** A few words on the verdict for the row: the margin of a keep, the reason of a discard or crash. */
function shortVerdict(e: ExperimentView): string {
  if (e.ref === null) return 'baseline';
  if (e.status === 'crash') return e.crashReason ?? 'crashed';
  return e.verdict ?? (e.status === 'keep' ? 'kept' : 'not better');
}

function gainText(e: ExperimentView, metric: string): string {
  return e.gain === null ? '' : `${e.gain >= 0 ? '+' : '−'}${formatValue(Math.abs(e.gain))} ${esc(metric)}`;
}

function logsHtml(e: ExperimentView): string {
  if (e.logs.length === 0) return '<p class="muted">No run log kept.</p>';
  return e.logs
    .map((l) => `<h4>${esc(l.name)}${l.omitted ? ' (last lines)' : ''}</h4><pre class="log">${esc(l.lines.join('\n'))}</pre>`)
    .join('');
}

function runsText(e: ExperimentView): string {
  if (e.values.length === 0) return e.runs > 0 ? `${plural(e.runs, 'run')}, none measured` : '—';
  const extra = e.runs > e.values.length ? `, then ${e.runs - e.values.length} crashed` : '';
  const spread = e.sd !== null ? `; mean ${formatValue(e.value ?? NaN)}, spread ${formatValue(e.sd)}` : '';
  return `${plural(e.runs, 'run')}: ${e.values.map(formatValue).join(', ')}${extra}${spread}`;
}

function field(name: string, value: string | null): string {
  return value === null || value === '' ? '' : `<dt>${name}</dt><dd>${value}</dd>`;
}

function experimentRow(e: ExperimentView, prefix: string, metric: string): string {
  const attrs = `data-status="${e.status}" data-n="${e.n}" data-value="${e.value ?? ''}" data-runs="${e.runs}" data-seconds="${e.seconds}" data-cost="${e.costUsd}"`;
  const facts = [
    field('runs', esc(runsText(e))),
    field('verdict', e.verdict !== null && e.verdict !== e.crashReason ? esc(e.verdict) : null),
    field('crash reason', e.crashReason !== null ? `<span class="crash">${esc(e.crashReason)}</span>` : null),
    field('near miss', e.nearMiss !== null ? esc(e.nearMiss) : null),
    field('notes', e.notes !== null ? esc(e.notes) : null),
    field('description', esc(e.description)),
    field('files', e.files.length > 0 ? esc(e.files.join(', ')) : null),
    field('code', e.ref !== null ? `<code>git show ${esc(e.ref)}</code>${e.base ? ` (built on ${esc(e.base)})` : ''}` : null),
    field('started', `${esc(e.startedAt || '?')}, took ${formatDuration(e.seconds)}${e.slot ? `, GPU ${esc(e.slot)}` : ''}, API ${formatCost(e.costUsd)}`),
  ].join('');
  let diff: string;
  if (e.ref === null) diff = '';
  else if (e.status === 'keep') diff = `<p><a href="#${prefix}k${e.n}">Its diff is under What the night found.</a></p>`;
  else diff = e.diff !== null ? `<h4>diff</h4>${renderDiff(e.diff)}` : `<p class="muted">git no longer has ${esc(e.ref)}.</p>`;
  return (
    `<details class="exp st-${e.status}" id="${prefix}e${e.n}" ${attrs}>` +
    `<summary class="grid"><span>#${e.n}</span><span class="c-commit">${esc(e.commit)}</span><span class="c-status">${e.status}</span>` +
    `<span class="c-value">${valueCell(e)}${e.sd !== null ? ` ±${formatValue(e.sd)}` : ''}</span><span>${e.runs}</span>` +
    `<span class="c-verdict" title="${esc(shortVerdict(e))}">${e.gain !== null ? gainText(e, metric) : esc(shortVerdict(e))}</span><span class="c-desc">${esc(e.description)}</span></summary>` +
    `<div class="more"><dl>${facts}</dl>${logsHtml(e)}${diff}</div></details>`
  );
}

function experimentsHtml(r: TagReport, prefix: string): string {
  const boxes = STATUSES.map((s) => `<label class="${s}"><input type="checkbox" data-status="${s}" checked> ${s} (${r.night.counts[s]})</label>`).join('');
  const head = [
    ['n', '#'],
    [null, 'commit'],
    ['status', 'status'],
    ['value', esc(r.night.metric)],
    ['runs', 'runs'],
    [null, 'verdict / gain'],
    [null, 'description'],
  ]
    .map(([key, label]) => (key ? `<span><button type="button" data-key="${key}">${label}</button></span>` : `<span>${label}</span>`))
    .join('');
  const rows = r.experiments.map((e) => experimentRow(e, prefix, r.night.metric)).join('\n');
  return (
    `<section class="experiments" id="${prefix}experiments"><h3>Every experiment</h3>` +
    `<div class="bar">Show: ${boxes}<span class="muted"><span class="shown">${r.experiments.length}</span> of ${r.experiments.length} shown · click a row to open it, a heading to sort</span></div>` +
    `<div class="head grid">${head}</div><div class="rows">\n${rows}\n</div></section>`
  );
}

function foundHtml(r: TagReport, prefix: string): string {
  if (r.found.length === 0) return '<h3>What the night found</h3><p class="muted">Nothing kept beyond the baseline.</p>';
  const items = r.found.map((e) => {
    const diff = e.diff !== null ? renderDiff(e.diff) : `<p class="muted">git no longer has ${esc(e.commit)}.</p>`;
    return (
      `<li id="${prefix}k${e.n}"><div><a href="#${prefix}e${e.n}">#${e.n}</a> <code>${esc(e.commit)}</code> · ${esc(r.night.metric)} <b>${valueCell(e)}</b>${runsOf(e.runs)}` +
      ` · <span class="gain">${gainText(e, r.night.metric)}</span>${e.verdict ? ` <span class="muted">(${esc(e.verdict)})</span>` : ''}</div>` +
      `<div><b>${esc(e.description)}</b></div>${e.notes ? `<div class="muted">notes: ${esc(e.notes)}</div>` : ''}${diff}</li>`
    );
  });
  return `<h3>What the night found</h3><ol class="found">${items.join('\n')}</ol>`;
}

function learnedHtml(r: TagReport, prefix: string): string {
  const notes =
    r.notes.length > 0
      ? `<ul class="notes">${r.notes.map((n) => `<li><a href="#${prefix}e${n.n}">#${n.n}</a> ${esc(n.notes)}</li>`).join('')}</ul>`
      : '<p class="muted">The model left no notes.</p>';
  const misses =
    r.nearMisses.length > 0
      ? `<ul class="misses">${r.nearMisses
          .map((e) => `<li><a href="#${prefix}e${e.n}">#${e.n}</a> <code>${esc(e.commit)}</code> ${valueCell(e)}${runsOf(e.runs)}: ${esc(e.description)} <span class="muted">(${esc(e.nearMiss ?? '')}; <code>git show ${esc(e.ref ?? '')}</code>)</span></li>`)
          .join('')}</ul>`
      : '<p class="muted">No near misses: nothing discarded came within the noise of the best.</p>';
  return `<h3>Notes the model left</h3>${notes}<h3>Near misses worth another look</h3>${misses}<p class="muted">Every experiment in full: <code>${esc(r.journalPath)}</code></p>`;
}

function tagSection(r: TagReport, index: number): string {
  const prefix = `t${index}-`;
  return (
    `<section class="tagsec" id="${prefix}tag"><h2>${esc(r.night.tag)} <span class="muted">· ${esc(r.night.metric)}, ${directionWords(r.night.direction)}</span></h2>` +
    `<p class="night">${nightPhrases(r.night).join(' · ')}</p>` +
    `<div class="chart" data-prefix="${prefix}">${r.chartSvg}</div><p class="muted">Hover a dot to see its experiment; click it to open it below.</p>` +
    foundHtml(r, prefix) +
    learnedHtml(r, prefix) +
    experimentsHtml(r, prefix) +
    `</section>`
  );
}

/** Several tags: their nights side by side, one line each, before each tag's section. */
function compareHtml(reports: readonly TagReport[]): string {
  const cells = (n: NightLine): string[] => [
    `<a href="#t${reports.findIndex((r) => r.night === n)}-tag">${esc(n.tag)}</a>`,
    `${utcMinute(n.from)} → ${utcMinute(n.to)}`,
    `${n.experiments}`,
    `${n.counts.keep} / ${n.counts.discard} / ${n.counts.crash}`,
    n.baseline && n.best ? `${formatValue(n.baseline.value)} → ${formatValue(n.best.value)}` : '—',
    n.improvementPercent !== null ? `${n.improvementPercent.toFixed(2)}%` : '—',
    n.gpuHours.toFixed(2),
    formatCost(n.costUsd),
  ];
  const head = ['tag', 'when', 'experiments', 'keep / discard / crash', 'baseline → best', 'better', 'GPU-hours', 'API'];
  return (
    `<table class="compare"><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>` +
    reports.map((r) => `<tr>${cells(r.night).map((c) => `<td>${c}</td>`).join('')}</tr>`).join('') +
    `</table>`
  );
}

export function renderReport(reports: readonly TagReport[], generatedAt: string): string {
  const title = `autoresearch · ${reports.map((r) => r.night.tag).join(', ')}`;
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title><style>${REPORT_CSS}</style></head><body>`,
    `<h1>The night's report <span class="muted">· autoresearch</span></h1>`,
    `<p class="muted">Written ${utcMinute(generatedAt)} from results.tsv, the run logs and git. One file: it loads nothing.</p>`,
    reports.length > 1 ? compareHtml(reports) : '',
    reports.map((r, i) => tagSection(r, i)).join('\n'),
    `<script>${REPORT_JS}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}
