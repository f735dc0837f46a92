// The report's pure parts: escaping, the diff renderer, the model's figures and the page's layout.
// The browser tests (browser.test.ts) check the page as a person sees it.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ZERO_USAGE, type ResultRow } from '../../src/engine/types.js';
import { addTitles } from '../../src/report/chart.js';
import { highlightPython, renderDiff } from '../../src/report/diff.js';
import { escapeHtml } from '../../src/report/escape.js';
import { splitShow, tailOf } from '../../src/report/gather.js';
import { buildTagReport, gainOver, nightSpan, type TagInput } from '../../src/report/model.js';
import { nightPhrases, renderReport } from '../../src/report/render.js';

const row = (over: Partial<ResultRow>): ResultRow => ({
  commit: 'aaaaaaa', value: 1, memoryGb: 1, status: 'keep', description: 'baseline', tag: 'night',
  startedAt: '2026-11-26T22:00:00.000Z', seconds: 600, usage: { ...ZERO_USAGE, costUsd: 0.5 }, ...over,
});

/** A night: baseline (3 runs), a keep (3 runs), a near miss, a crash after one measured run, a keep (classic rule), a plain discard. */
const ROWS: ResultRow[] = [
  row({ experiment: 0, commit: 'b000000', value: 1.0, values: [1.001, 1.0, 0.999], runs: 3 }),
  row({ experiment: 1, commit: 'c000001', value: 0.99, values: [0.991, 0.99, 0.989], runs: 3, base: 'b000000', description: 'raise lr', verdict: 'better by 0.010000, noise allows 0.002000 (σ 0.001000, 4 degrees of freedom)', startedAt: '2026-11-26T22:10:00.000Z' }),
  row({ experiment: 2, commit: 'd000002', status: 'discard', value: 0.9895, values: [0.989, 0.99], runs: 2, base: 'c000001', description: 'warmup', verdict: 'within noise: better by 0.000500, noise allows 0.002000', notes: 'warmup barely matters' }),
  row({ experiment: 3, commit: 'e000003', status: 'crash', value: 0, values: [0.98], runs: 2, base: 'c000001', description: 'deeper (OOM)', verdict: 'OOM', usage: { ...ZERO_USAGE, costUsd: 0.25 } }),
  row({ experiment: 4, commit: 'f000004', value: 0.95, base: 'c000001', description: 'bigger batch' }),
  row({ experiment: 5, commit: 'a000005', status: 'discard', value: 0.97, base: 'f000004', description: '<img src=x onerror="alert(1)"> & co', verdict: 'not better', startedAt: '2026-11-27T06:00:00.000Z', seconds: 1800 }),
];

const DIFF_1 = `diff --git a/train.py b/train.py
index 1111111..2222222 100644
--- a/train.py
+++ b/train.py
@@ -10,3 +10,3 @@ import time
 # Hyperparameters
-LR = 0.01  # the old one
+LR = 0.04  # "raised"
 WIDTH = 8
`;

function input(over: Partial<TagInput> = {}): TagInput {
  return {
    tag: 'night',
    metric: 'val_bpb',
    direction: 'min',
    rows: ROWS,
    refusals: [{ experiment: 5, of: 1 }],
    diffs: new Map([
      ['c000001', DIFF_1],
      ['refs/autoresearch/night/discarded/a000005', 'diff --git a/train.py b/train.py\n@@ -1,1 +1,1 @@\n-x = 1\n+x = "<script>"\n'],
    ]),
    logs: new Map([[3, [{ name: '0003-e000003.log', lines: ['step 1', 'torch.OutOfMemoryError: CUDA out of memory'], omitted: false }]]]),
    chartSvg: '<svg id="chart"></svg>',
    journalPath: '.autoresearch/night/journal.md',
    ...over,
  };
}

describe('escapeHtml', () => {
  it('escapes the five characters that can open markup or end an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
    expect(escapeHtml('plain text')).toBe('plain text');
  });
});

describe('the diff renderer', () => {
  it('highlights Python tokens: keywords, strings, numbers, comments, calls', () => {
    expect(highlightPython('def f(x): return x + 0.5  # half')).toBe(
      '<span class="k">def</span> <span class="f">f</span>(x): <span class="k">return</span> x + <span class="n">0.5</span>  <span class="c"># half</span>',
    );
    expect(highlightPython(`s = "a # not a comment"`)).toBe('s = <span class="s">&quot;a # not a comment&quot;</span>');
    expect(highlightPython('x = "<b>"')).toBe('x = <span class="s">&quot;&lt;b&gt;&quot;</span>');
    expect(highlightPython('if_x = 1')).toBe('if_x = <span class="n">1</span>');
  });

  it('renders a unified diff with old and new line numbers, added and removed lines, and the file', () => {
    const html = renderDiff(DIFF_1);
    expect(html).toContain('<tr class="file"><td colspan="3">train.py</td></tr>');
    expect(html).toContain('<tr class="hunk">');
    expect(html).toContain('<tr class="ctx"><td>10</td><td>10</td>');
    expect(html).toContain('<tr class="del"><td>11</td><td></td><td>-LR = <span class="n">0.01</span>  <span class="c"># the old one</span></td></tr>');
    expect(html).toContain('<tr class="add"><td></td><td>11</td><td>+LR = <span class="n">0.04</span>  <span class="c"># &quot;raised&quot;</span></td></tr>');
    expect(html).toContain('<tr class="ctx"><td>12</td><td>12</td>');
    expect(html).not.toContain('index 1111111'); // header lines are summed up by the file row
  });

  it('escapes every line, highlights only Python files, and cuts a long diff saying so', () => {
    const md = renderDiff('diff --git a/notes.md b/notes.md\n@@ -1 +1 @@\n-<old>\n+<script>alert(1)</script>\n');
    expect(md).toContain('+&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(md).not.toContain('<script>');
    expect(md).not.toContain('class="n"');
    const long = `diff --git a/train.py b/train.py\n@@ -1,500 +1,500 @@\n${Array.from({ length: 500 }, (_, i) => `+line ${i}`).join('\n')}\n`;
    const cut = renderDiff(long, { maxLines: 50 });
    expect(cut.match(/<tr class="add">/g)).toHaveLength(48);
    expect(cut).toContain('452 more lines: see git show');
  });
});

describe('reading git show output', () => {
  it('splits several commits, each on its id', () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    const diffs = splitShow(`\0${a}\n\ndiff --git a/x b/x\n+1\n\0${b}\n\ndiff --git a/y b/y\n-2\n`);
    expect([...diffs.keys()]).toEqual([a, b]);
    expect(diffs.get(a)).toBe('diff --git a/x b/x\n+1\n');
    expect(diffs.get(b)).toBe('diff --git a/y b/y\n-2\n');
  });

  it('reads only the end of a long log', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'report-log-')), 'run.log');
    fs.writeFileSync(file, Array.from({ length: 100_000 }, (_, i) => `step ${i}`).join('\n') + '\n');
    expect(tailOf(file, 3)).toEqual({ lines: ['step 99997', 'step 99998', 'step 99999'], omitted: true });
    fs.writeFileSync(file, 'one\ntwo\n');
    expect(tailOf(file, 3)).toEqual({ lines: ['one', 'two'], omitted: false });
  });
});

describe('the report model', () => {
  it('the night in one line: span, counts, baseline and best as means of their runs, noise, cost, refusals', () => {
    const { night } = buildTagReport(input());
    expect(night).toMatchObject({
      tag: 'night',
      from: '2026-11-26T22:00:00.000Z',
      to: '2026-11-27T06:30:00.000Z',
      experiments: 6,
      counts: { keep: 3, discard: 2, crash: 1 },
      baseline: { value: 1.0, runs: 3, commit: 'b000000' },
      best: { value: 0.95, runs: 1, commit: 'f000004', description: 'bigger batch' },
      costUsd: 2.75,
      duplicates: { refused: 1, runsSaved: 3 },
    });
    expect(night.hours).toBeCloseTo(8.5);
    expect(night.gpuHours).toBeCloseTo((5 * 600 + 1800) / 3600);
    expect(night.improvementPercent).toBeCloseTo(5);
    // Pooled over the baseline's, #1's and #2's runs (a crash's one measured run has no spread).
    expect(night.noise!.df).toBe(5);
    const phrases = nightPhrases(night).join(' · ');
    expect(phrases).toContain('2026-11-26 22:00 UTC → 2026-11-27 06:30 UTC (8.5 h)');
    expect(phrases).toContain('val_bpb 1.000000 (mean of 3 runs) → <b>0.950000</b>');
    expect(phrases).toContain('5.00% better');
    expect(phrases).toContain('$2.75 API');
    expect(phrases).toContain('1 duplicate refused');
  });

  it('what the night found: each keep after the baseline, in order, with its gain over the best before it and its diff', () => {
    const r = buildTagReport(input());
    expect(r.found.map((e) => [e.n, e.gain !== null ? Number(e.gain.toFixed(6)) : null])).toEqual([
      [1, 0.01],
      [4, 0.04],
    ]);
    expect(r.found[0]!.diff).toBe(DIFF_1);
    expect(r.found[1]!.diff).toBeNull(); // git no longer has it: the page says so
    expect(gainOver(0.5, 0.6, 'max')).toBeCloseTo(0.1);
  });

  it('each experiment: its runs, spread, crash reason, near miss, ref, logs; notes oldest first', () => {
    const r = buildTagReport(input());
    const [base, , miss, crash, , last] = r.experiments;
    expect(base).toMatchObject({ n: 0, ref: null, runs: 3, gain: null });
    expect(base!.sd).toBeCloseTo(0.001);
    expect(miss).toMatchObject({ n: 2, ref: 'refs/autoresearch/night/discarded/d000002', nearMiss: 'better than the best of its time, but within the noise', notes: 'warmup barely matters' });
    expect(crash).toMatchObject({ n: 3, value: null, values: [0.98], runs: 2, crashReason: 'OOM', sd: null });
    expect(crash!.logs[0]!.lines).toContain('torch.OutOfMemoryError: CUDA out of memory');
    expect(last!.diff).toContain('<script>');
    expect(r.nearMisses.map((e) => e.n)).toEqual([2]);
    expect(r.notes).toEqual([{ n: 2, commit: 'd000002', notes: 'warmup barely matters' }]);
  });

  it('a night span ignores rows with no time; none at all is no span', () => {
    expect(nightSpan([row({ startedAt: '' })])).toEqual({ from: null, to: null, hours: 0 });
  });
});

describe('the page', () => {
  const html = renderReport([buildTagReport(input())], '2026-11-27T07:00:00.000Z');

  it('is one file that may load nothing, with one row per experiment', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
    expect(html).not.toMatch(/<(link|img|iframe)\b|\bsrc=["']?https?:/i);
    expect(html.match(/<details class="exp /g)).toHaveLength(ROWS.length);
    for (const n of [0, 1, 2, 3, 4, 5]) expect(html).toContain(`id="t0-e${n}"`);
    expect(html).toContain('<svg id="chart"></svg>');
  });

  it('escapes every text from the night: a description or a diff can never become markup', () => {
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; co');
    expect(html.match(/<script>/g)).toHaveLength(1); // the page's own
  });

  it('keeps each tag apart when there are several: its own ids, and a line per tag side by side', () => {
    const two = renderReport([buildTagReport(input()), buildTagReport(input({ tag: 'second' }))], '2026-11-27T07:00:00.000Z');
    expect(two).toContain('<table class="compare">');
    expect(two).toContain('id="t1-e5"');
    expect(two).toContain('<a href="#t1-tag">second</a>');
    expect(html).not.toContain('<table class="compare">');
  });

  it("the chart's dots get their experiment as hover text, and its ids a prefix of their own", () => {
    const svg = '<svg><clipPath id="clip3"><rect/></clipPath><g clip-path="url(#clip3)"><path aria-label="#2 d000002 discard 0.989500 · a &lt;b&gt;" role="graphics-symbol" aria-roledescription="circle" transform="translate(1,2)" d="M0"/></g></svg>';
    expect(addTitles(svg, 't1-')).toBe(
      '<svg><clipPath id="t1-clip3"><rect/></clipPath><g clip-path="url(#t1-clip3)"><path aria-label="#2 d000002 discard 0.989500 · a &lt;b&gt;" role="graphics-symbol" aria-roledescription="circle" transform="translate(1,2)" d="M0"><title>#2 d000002 discard 0.989500 · a &lt;b&gt;</title></path></g></svg>',
    );
  });
});
