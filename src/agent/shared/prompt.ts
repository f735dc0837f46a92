// The first user message of an experiment, built fresh each time from what the program knows.
// The model remembers nothing between experiments, so this message carries all the state it needs,
// and it is bounded: the most recent rows verbatim, one line for everything older, and every
// free-text field cut to a fixed length. Experiment 500's prompt is no bigger than experiment 50's.
// Pure: a function of the ExperimentContext only.

import type { ExperimentContext, ResultRow } from '../../engine/types.js';

export interface PromptLimits {
  recentRows: number; // history rows shown verbatim
  descriptionChars: number; // per description
  logTailChars: number; // crash log shown to a fix attempt
  editableShown: number; // editable paths listed
}

export const DEFAULT_LIMITS: PromptLimits = { recentRows: 15, descriptionChars: 160, logTailChars: 4000, editableShown: 20 };

/** One line, at most `max` characters, ellipsis when cut. */
export function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, Math.max(0, max - 1))}…`;
}

/** The last `max` characters of a text, cut at a line boundary when possible. */
export function tail(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(text.length - max);
  const nl = cut.indexOf('\n');
  return `[… ${text.length - max + Math.max(0, nl + 1)} earlier characters omitted]\n${nl >= 0 && nl < max / 2 ? cut.slice(nl + 1) : cut}`;
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toFixed(6);
}

function better(a: number, b: number, direction: 'min' | 'max'): boolean {
  return direction === 'min' ? a < b : a > b;
}

/** One line summing up rows too old to show: counts by status and the best value among them. */
export function summarizeOlder(rows: ResultRow[], direction: 'min' | 'max'): string {
  const count = { keep: 0, discard: 0, crash: 0 };
  let best: ResultRow | null = null;
  for (const row of rows) {
    count[row.status]++;
    if (row.status !== 'crash' && Number.isFinite(row.value) && (best === null || better(row.value, best.value, direction))) best = row;
  }
  const bestText = best ? `; best among them ${fmt(best.value)} (${best.commit})` : '';
  return `${rows.length} earlier experiments not listed: ${count.keep} kept, ${count.discard} discarded, ${count.crash} crashed${bestText}.`;
}

function historyTable(rows: ResultRow[], metric: string, limits: PromptLimits): string {
  const header = `commit   ${metric.padEnd(10)} mem_gb  status   description`;
  const lines = rows.map((r) => {
    const value = r.status === 'crash' ? '-' : fmt(r.value);
    return `${r.commit.padEnd(8)} ${value.padEnd(10)} ${r.memoryGb.toFixed(1).padStart(6)}  ${r.status.padEnd(8)} ${clip(r.description, limits.descriptionChars)}`;
  });
  return [header, ...lines].join('\n');
}

export function buildUserPrompt(ctx: ExperimentContext, opts: { maxTurns: number; limits?: PromptLimits }): string {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const goal = ctx.direction === 'min' ? 'minimize' : 'maximize';
  const better = ctx.direction === 'min' ? 'lower' : 'higher';
  const { baseline, best } = ctx.standing;
  const editableShown = ctx.editable.slice(0, limits.editableShown).map((p) => clip(p, 200));
  const editableMore = ctx.editable.length > editableShown.length ? ` (and ${ctx.editable.length - editableShown.length} more)` : '';
  const parts: string[] = [];

  const slot = ctx.slot !== undefined ? ` for GPU ${clip(ctx.slot, 40)}` : '';
  parts.push(
    ctx.fix
      ? `Experiment ${ctx.experiment} (tag "${clip(ctx.tag, 60)}")${slot}, fix attempt ${ctx.fix.attempt}: the change below crashed. Repair it so that it runs, keeping its idea.`
      : ctx.redo
        ? `Experiment ${ctx.experiment} (tag "${clip(ctx.tag, 60)}")${slot}: redo your change on the new best. While it waited to train, another experiment improved the code (now commit ${clip(ctx.redo.newBest, 40)}), and your change no longer applies to it. Make the SAME change again on the code as it is now: "${clip(ctx.redo.description, limits.descriptionChars)}".`
        : `Experiment ${ctx.experiment} (tag "${clip(ctx.tag, 60)}")${slot}. Make exactly ONE change that you expect to improve the objective.`,
  );

  parts.push(
    [
      `Objective: ${goal} ${ctx.metric} (${better} is better).`,
      baseline ? `Baseline: ${fmt(baseline.value)} (commit ${baseline.commit}).` : 'Baseline: not measured yet.',
      best
        ? `Current best: ${fmt(best.value)} (commit ${best.commit}): ${clip(best.description, limits.descriptionChars)}`
        : 'Current best: none yet.',
      'The working tree is at the current best commit (HEAD); your change is applied on top of it.',
    ].join('\n'),
  );

  if (ctx.history.length === 0) {
    parts.push('History: no experiments yet.');
  } else {
    const recent = ctx.history.slice(-limits.recentRows);
    const older = ctx.history.slice(0, ctx.history.length - recent.length);
    const lines = [`History (${ctx.history.length} rows, oldest first):`];
    if (older.length > 0) lines.push(summarizeOlder(older, ctx.direction));
    lines.push(historyTable(recent, ctx.metric, limits));
    parts.push(lines.join('\n'));
  }

  if (ctx.inFlight && ctx.inFlight.length > 0 && !ctx.fix && !ctx.redo) {
    const shown = ctx.inFlight.slice(0, limits.recentRows);
    parts.push(
      [
        `In flight right now (${ctx.inFlight.length}: drafted or training, results not in yet). Do not propose any of these again:`,
        ...shown.map((f) => `- #${f.experiment}: ${clip(f.description, limits.descriptionChars)}`),
        ...(ctx.inFlight.length > shown.length ? [`- … and ${ctx.inFlight.length - shown.length} more`] : []),
      ].join('\n'),
    );
  }

  if (ctx.fix) {
    parts.push(
      [
        `The crashed change: ${clip(ctx.fix.description, limits.descriptionChars)}`,
        `Why it failed: ${clip(ctx.fix.reason, 300)}`,
        'End of its log:',
        '```',
        tail(ctx.fix.logTail, limits.logTailChars),
        '```',
        'The crashed change is still in the working tree. Fix it with the smallest edit that makes it run; if the idea cannot work, say so in the description and submit the simplest runnable version.',
      ].join('\n'),
    );
  }

  parts.push(
    [
      `Editable: ${editableShown.join(', ')}${editableMore}. Every other file is read-only: edits to it are refused or undone.`,
      'Tools: str_replace_based_edit_tool to view and edit files; bash for quick, read-only checks (each command runs in a fresh shell in the repository root with a time limit).',
      'Do not run the training yourself and do not use git to commit, reset or switch branches: after you submit, the program commits your change, trains, measures and keeps or discards it.',
      `You have at most ${opts.maxTurns} tool calls. When your change is in place, call submit_experiment with a one-line description of what you changed and why.`,
    ].join('\n'),
  );

  return parts.join('\n\n');
}

/** The message that nudges a model which ended its turn without submitting. */
export const NUDGE =
  'You ended your turn without calling submit_experiment. If your change is in place, call submit_experiment now with a one-line description; otherwise make the one change and then submit. Ending the turn again skips this experiment.';
