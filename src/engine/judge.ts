// prepare.py is the judge: it scores val_bpb itself and hands the number to the program through a
// file, so what train.py prints cannot decide a keep. Pure functions here; the loop does the I/O.
//
// The contract with prepare.py (which the model may not edit):
// - the program puts AUTORESEARCH_RESULT_FILE=<path> in the run's environment;
// - evaluate_bpb writes {"val_bpb": x} there, or {"error": "<why it refused to score>"} and raises;
// - prepare.py declares TIME_BUDGET and OVERHEAD_ALLOWANCE as plain integers: no run may take
//   longer than their sum, whatever train.py's own clock says.

import { nonFinite, type Outcome } from './decide.js';

export const RESULT_FILE_ENV = 'AUTORESEARCH_RESULT_FILE';
/** The metric prepare.py scores; with any other --metric the log is the only source. */
export const JUDGED_METRIC = 'val_bpb';

export interface JudgeRules {
  /** The run must leave prepare.py's verdict: a val_bpb found only in the log does not count. */
  required: boolean;
  /** Longest a run may take, start to exit, in seconds; null when prepare.py sets no budget. */
  maxWallSec: number | null;
}

function integerConstant(source: string, name: string): number | null {
  const m = new RegExp(`^${name}\\s*=\\s*(\\d+)\\b`, 'm').exec(source);
  return m ? Number(m[1]) : null;
}

/**
 * What prepare.py's source commits the program to check. An older prepare.py that does not know
 * the result file leaves the log as the source of the metric, as before.
 */
export function judgeRules(prepareSource: string | null, metric: string): JudgeRules {
  if (prepareSource === null || metric !== JUDGED_METRIC || !prepareSource.includes(RESULT_FILE_ENV)) {
    return { required: false, maxWallSec: null };
  }
  const budget = integerConstant(prepareSource, 'TIME_BUDGET');
  const allowance = integerConstant(prepareSource, 'OVERHEAD_ALLOWANCE');
  return { required: true, maxWallSec: budget !== null && allowance !== null ? budget + allowance : null };
}

export type Verdict =
  | { kind: 'absent' }
  | { kind: 'scored'; value: number }
  | { kind: 'refused'; reason: string }
  | { kind: 'unreadable'; detail: string };

/** Read the result file's text (null when the file does not exist). */
export function parseVerdict(text: string | null): Verdict {
  if (text === null) return { kind: 'absent' };
  // Python's json writes a NaN or infinite float as a bare word, which is not JSON: a diverged model.
  const bare = new RegExp(`"${JUDGED_METRIC}"\\s*:\\s*(-?)(NaN|Infinity)`).exec(text);
  if (bare) return { kind: 'scored', value: bare[2] === 'NaN' ? Number.NaN : bare[1] === '-' ? -Infinity : Infinity };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { kind: 'unreadable', detail: 'not JSON' };
  }
  if (typeof data !== 'object' || data === null) return { kind: 'unreadable', detail: 'not a JSON object' };
  const { error, val_bpb: value } = data as Record<string, unknown>;
  if (typeof error === 'string' && error.trim() !== '') return { kind: 'refused', reason: error.trim().split('\n')[0]! };
  if (typeof value === 'number') return { kind: 'scored', value };
  return { kind: 'unreadable', detail: `no ${JUDGED_METRIC} in it` };
}

export interface FinishedRun {
  exitCode: number | null;
  wallSec: number;
  memoryGb: number; // peak memory the log reports, kept when the judge's number replaces the log's
}

/**
 * The outcome once prepare.py's verdict and the time budget are applied to what the log said.
 * An interrupted or timed-out run stays so; the judge's refusal outranks a bare exit code; a clean
 * run is scored with the judge's number, never the printed one.
 */
export function applyJudge(fromLog: Outcome, verdict: Verdict, run: FinishedRun, rules: JudgeRules): Outcome {
  const crash = (reason: string): Outcome => ({ kind: 'crash', reason, memoryGb: 0 });
  if (fromLog.kind === 'crash' && (fromLog.reason === 'interrupted' || fromLog.reason === 'timeout')) return fromLog;
  if (verdict.kind === 'refused') return crash(`refused by prepare.py: ${verdict.reason}`);
  if (run.exitCode !== 0) return fromLog;
  if (rules.maxWallSec !== null && run.wallSec > rules.maxWallSec) {
    return crash(`over the time budget: ran ${Math.round(run.wallSec)}s, prepare.py allows ${rules.maxWallSec}s`);
  }
  if (verdict.kind === 'unreadable') return rules.required ? crash(`prepare.py's result file is unreadable (${verdict.detail})`) : fromLog;
  if (verdict.kind === 'absent') {
    return rules.required ? crash(`no ${JUDGED_METRIC} from prepare.py: train.py must score with prepare.evaluate_bpb`) : fromLog;
  }
  if (!Number.isFinite(verdict.value)) return crash(nonFinite(verdict.value));
  return { kind: 'measured', value: verdict.value, memoryGb: run.memoryGb };
}
