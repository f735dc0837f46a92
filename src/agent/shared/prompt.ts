// The first user message of an experiment, built fresh each time from what the program knows.
// The model remembers nothing between experiments, so this message carries all the state it needs:
// every experiment of the tag, one line each (engine/history.ts), the notes it left, a plateau's
// near misses (engine/plateau.ts), what is in flight. It is ordered for the prompt cache: first
// what every later experiment sees unchanged (the rules, then the history's settled blocks), then
// what grows or changes (the newest lines, notes, the best, this experiment's task). Every
// free-text field is cut to a fixed length, so each experiment adds at most one line.
// Pure: a function of the ExperimentContext only.

import { clipText, historyText, notesText } from '../../engine/history.js';
import { plateauText } from '../../engine/plateau.js';
import type { ExperimentContext } from '../../engine/types.js';

export interface PromptLimits {
  descriptionChars: number; // per description
  logTailChars: number; // crash log shown to a fix attempt
  editableShown: number; // editable paths listed
}

export const DEFAULT_LIMITS: PromptLimits = { descriptionChars: 160, logTailChars: 4000, editableShown: 20 };

/** Where the model finds the full journal when the context does not say (relative to its working tree). */
export const DEFAULT_JOURNAL = '.autoresearch/journal.md';

/** One line, at most `max` characters, ellipsis when cut (the history's own clipping). */
export const clip = clipText;

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

/**
 * The first message in two parts: `cached`, the same text in every later experiment of the tag
 * until the history folds (a provider may mark it for its prompt cache), and `fresh`, the rest.
 */
export interface PromptParts {
  cached: string;
  fresh: string;
}

export function buildPromptParts(ctx: ExperimentContext, opts: { maxTurns: number; limits?: PromptLimits }): PromptParts {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const goal = ctx.direction === 'min' ? 'minimize' : 'maximize';
  const better = ctx.direction === 'min' ? 'lower' : 'higher';
  const journal = ctx.journal ?? DEFAULT_JOURNAL;
  const { baseline, best } = ctx.standing;
  const editableShown = ctx.editable.slice(0, limits.editableShown).map((p) => clip(p, 200));
  const editableMore = ctx.editable.length > editableShown.length ? ` (and ${ctx.editable.length - editableShown.length} more)` : '';
  const history = historyText(ctx.history, ctx.direction, journal);

  const cached: string[] = [];
  cached.push(
    [
      `Tag "${clip(ctx.tag, 60)}". Objective: ${goal} ${ctx.metric} (${better} is better).`,
      baseline ? `Baseline: ${fmt(baseline.value)} (commit ${baseline.commit}).` : 'Baseline: not measured yet.',
    ].join('\n'),
  );
  cached.push(
    [
      `Editable: ${editableShown.join(', ')}${editableMore}. Every other file is read-only: edits to it are refused or undone.`,
      'Tools: str_replace_based_edit_tool to view and edit files; bash for quick, read-only checks (each command runs in a fresh shell in the repository root with a time limit).',
      'Do not run the training yourself and do not use git to commit, reset or switch branches: after you submit, the program commits your change, trains, measures and keeps or discards it.',
      'Code already measured in this tag (or in flight) is never trained again: a submission identical to an earlier experiment is refused, and you are asked for a different change.',
      `You have at most ${opts.maxTurns} tool calls. When your change is in place, call submit_experiment with a one-line description of what you changed and why, and, when you learned something that should guide later experiments, notes.`,
    ].join('\n'),
  );
  cached.push(
    [
      `History: every experiment of this tag, oldest first: #number commit status ${ctx.metric} verdict | description.`,
      `The full journal (each experiment's runs, verdict, notes, files and the ref to \`git show\` its diff) is ${journal}; read it with your tools when you need more.`,
      ...history.stable,
    ].join('\n'),
  );

  const fresh: string[] = [history.growing];
  const notes = notesText(ctx.history, journal);
  if (notes) fresh.push(notes);
  if (!ctx.fix && !ctx.redo) {
    const plateau = plateauText(ctx.history, ctx.plateau ?? 0, (commit) => `refs/autoresearch/${ctx.tag}/discarded/${commit}`);
    if (plateau) fresh.push(plateau);
  }
  fresh.push(
    [
      best ? `Current best: ${fmt(best.value)} (commit ${best.commit}): ${clip(best.description, limits.descriptionChars)}` : 'Current best: none yet.',
      'The working tree is at the current best commit (HEAD); your change is applied on top of it.',
    ].join('\n'),
  );

  if (ctx.inFlight && ctx.inFlight.length > 0 && !ctx.fix && !ctx.redo) {
    const shown = ctx.inFlight.slice(0, 15);
    fresh.push(
      [
        `In flight right now (${ctx.inFlight.length}: drafted or training, results not in yet). Do not propose any of these again:`,
        ...shown.map((f) => `- #${f.experiment}: ${clip(f.description, limits.descriptionChars)}`),
        ...(ctx.inFlight.length > shown.length ? [`- … and ${ctx.inFlight.length - shown.length} more`] : []),
      ].join('\n'),
    );
  }

  const slot = ctx.slot !== undefined ? ` for GPU ${clip(ctx.slot, 40)}` : '';
  if (ctx.fix) {
    fresh.push(
      [
        `Experiment ${ctx.experiment}${slot}, fix attempt ${ctx.fix.attempt}: the change below crashed. Repair it so that it runs, keeping its idea.`,
        `The crashed change: ${clip(ctx.fix.description, limits.descriptionChars)}`,
        `Why it failed: ${clip(ctx.fix.reason, 300)}`,
        'End of its log:',
        '```',
        tail(ctx.fix.logTail, limits.logTailChars),
        '```',
        'The crashed change is still in the working tree. Fix it with the smallest edit that makes it run; if the idea cannot work, say so in the description and submit the simplest runnable version.',
      ].join('\n'),
    );
  } else if (ctx.redo) {
    fresh.push(
      `Experiment ${ctx.experiment}${slot}: redo your change on the new best. While it waited to train, another experiment improved the code (now commit ${clip(ctx.redo.newBest, 40)}), and your change no longer applies to it. Make the SAME change again on the code as it is now: "${clip(ctx.redo.description, limits.descriptionChars)}".`,
    );
  } else {
    fresh.push(`Experiment ${ctx.experiment}${slot}. Make exactly ONE change that you expect to improve the objective, unlike any listed above.`);
  }

  return { cached: cached.join('\n\n'), fresh: fresh.join('\n\n') };
}

/** The first message as one text (the cached part, then the fresh one). */
export function joinPrompt(parts: PromptParts): string {
  return `${parts.cached}\n\n${parts.fresh}`;
}

export function buildUserPrompt(ctx: ExperimentContext, opts: { maxTurns: number; limits?: PromptLimits }): string {
  return joinPrompt(buildPromptParts(ctx, opts));
}

/** The message that nudges a model which ended its turn without submitting. */
export const NUDGE =
  'You ended your turn without calling submit_experiment. If your change is in place, call submit_experiment now with a one-line description; otherwise make the one change and then submit. Ending the turn again skips this experiment.';
