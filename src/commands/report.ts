// `autoresearch results --html FILE`: the morning report. For each tag: read what lies beside its
// rows (diffs from git, log tails, refusals), draw --plot's chart, build the model, and write the
// whole page as one file. Loaded only when asked, like the plot.

import fs from 'node:fs';
import path from 'node:path';
import type { Direction, ResultRow } from '../engine/types.js';
import { journalPath } from '../ledger/journal.js';
import { chartSvg } from '../report/chart.js';
import { readDiffs, readLogTails } from '../report/gather.js';
import { buildTagReport, type TagReport } from '../report/model.js';
import { renderReport } from '../report/render.js';
import { readDuplicates } from './results.js';

export interface ReportTagInput {
  tag: string;
  metric: string;
  direction: Direction;
  rows: ResultRow[];
}

export async function tagReport(cwd: string, t: ReportTagInput, index: number): Promise<TagReport> {
  const [diffs, svg] = await Promise.all([readDiffs(cwd, t.tag, t.rows), chartSvg(t, `t${index}-`)]);
  return buildTagReport({
    ...t,
    refusals: readDuplicates(cwd, t.tag),
    diffs,
    logs: readLogTails(cwd, t.tag),
    chartSvg: svg,
    journalPath: path.relative(cwd, journalPath(cwd, t.tag)),
  });
}

/** Write the report of `tags` (one section each, in this order) to `file`; returns its absolute path and size. */
export async function writeReport(file: string, cwd: string, tags: readonly ReportTagInput[]): Promise<{ path: string; bytes: number }> {
  const reports: TagReport[] = [];
  for (const [i, t] of tags.entries()) reports.push(await tagReport(cwd, t, i));
  const html = renderReport(reports, new Date().toISOString());
  const target = path.resolve(cwd, file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, html);
  return { path: target, bytes: Buffer.byteLength(html) };
}
