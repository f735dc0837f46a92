// Finishing what a killed run (kill -9, power loss) left in flight, from the state files alone:
// runs that outlived it are stopped, a measured row that never reached results.tsv is written, an
// experiment commit without a row is logged as an interrupted crash, uncommitted edits are kept
// under a ref, worktrees are removed, and the main checkout goes back to the best commit.

import fs from 'node:fs';
import path from 'node:path';
import { GitRepo, short } from '../git/repo.js';
import { appendResult } from '../ledger/results.js';
import { clearExperimentState, clearInFlight, tagDir, writeExperimentState, type InFlight } from '../ledger/state.js';
import { discardedRef, RUN_LOG, type Lab } from './lab.js';
import { ZERO_USAGE } from './types.js';

export async function recover(lab: Lab, states: InFlight[], earlier: string[]): Promise<void> {
  const { tag } = lab;
  const notes: string[] = [...earlier];
  // Runs that outlived their killed parent would still hold the GPUs: stop them first.
  for (const s of states) {
    for (const r of [s, ...(s.aside ?? [])]) {
      if (r.runPid === undefined && r.jobId === undefined) continue;
      const ref = { executor: lab.executor.name, ...(r.runPid !== undefined ? { pid: r.runPid } : {}), ...(r.runId ? { runId: r.runId } : {}), ...(r.jobId ? { jobId: r.jobId } : {}) };
      if (await lab.executor.stopLost(ref)) notes.push(`stopped the orphaned training run of experiment ${s.experiment} (${r.jobId ? `job ${r.jobId}` : `process group ${r.runPid}`})`);
    }
  }
  // A git command killed with us leaves its index lock; we hold the run lock, so it is stale.
  if (await lab.repo.removeStaleIndexLock()) notes.push('removed a stale .git/index.lock');

  for (const s of states) {
    const tree = s.worktree && fs.existsSync(s.worktree) ? await openTree(lab.repo, s.worktree) : null;
    const logPath = path.join(tree?.dir ?? lab.dir, RUN_LOG);
    // A run measured and decided whose row never reached results.tsv (a full disk, a read-only
    // file): write the row it earned, not an "interrupted" crash; a kept one becomes the best.
    const pending = s.row;
    if (pending && !lab.rows.some((r) => r.commit === pending.commit && r.startedAt === pending.startedAt)) {
      appendResult(lab.resultsPath, lab.config.metric, pending);
      lab.rows.push(pending);
      lab.keepLog(s.experiment, pending.commit, logPath);
      notes.push(`experiment ${s.experiment} (${pending.commit}) was measured before the stop: its row is written now (${pending.status})`);
    }
    // Edits not yet committed: kept reachable. (In the older layout they were in the main checkout.)
    const edits = await (tree ?? (s.worktree ? null : lab.repo))?.snapshotWorkingTree();
    if (edits) {
      const ref = `refs/autoresearch/${tag}/interrupted/${short(edits)}`;
      await lab.repo.keepRef(ref, edits);
      notes.push(`uncommitted edits of experiment ${s.experiment} saved as ${ref}`);
    }
    const commit = s.worktree ? s.commit : await legacyCommit(lab, s);
    if (commit && s.phase !== 'baseline' && !lab.rows.some((r) => r.commit === short(commit))) {
      const description = s.description ?? (await lab.repo.subject(commit));
      const row = lab.logRow(s.experiment, {
        commit,
        outcome: { kind: 'crash', reason: 'interrupted', memoryGb: 0 },
        status: 'crash',
        description,
        startedAt: s.startedAt,
        usage: ZERO_USAGE,
        base: s.base,
        ...(s.slot !== undefined ? { slot: s.slot } : {}),
        ...(s.values && s.values.length > 0 ? { values: s.values } : {}), // the runs measured before the stop
        ...(s.notes ? { notes: s.notes } : {}),
        code: await lab.codeOf(commit),
      });
      notes.push(`experiment ${s.experiment} (${row.commit}) was interrupted: logged as crash`);
    }
    if (commit && !lab.rows.some((r) => r.commit === short(commit) && r.status === 'keep')) await lab.repo.keepRef(discardedRef(tag, commit), commit);
    if (s.worktree) await lab.repo.removeWorktree(s.worktree);
    if (s.phase === 'baseline' && !pending) {
      // The baseline goes on from its measured runs (loop.ts): its state stays, minus the stopped run.
      writeExperimentState(lab.dir, tag, { experiment: s.experiment, phase: s.phase, base: s.base, commit: s.commit, description: s.description, startedAt: s.startedAt, ...(s.runs !== undefined ? { runs: s.runs } : {}), ...(s.values ? { values: s.values } : {}) }); // no runs aside: all stopped above
      if (s.values && s.values.length > 0) notes.push(`the baseline was stopped after ${s.values.length} measured run${s.values.length === 1 ? '' : 's'}: it goes on from ${s.values.length === 1 ? 'it' : 'them'}`);
    } else {
      clearExperimentState(lab.dir, tag, s.experiment);
    }
  }
  clearInFlight(lab.dir, tag);
  // Worktrees whose state file never got written (killed between the two), and git's records of removed ones.
  for (const dir of await lab.repo.worktrees()) {
    if (path.resolve(dir).startsWith(path.resolve(tagDir(lab.dir, tag), 'worktrees') + path.sep)) await lab.repo.removeWorktree(dir);
  }
  await lab.repo.pruneWorktrees();

  const best = lab.best;
  const target = best ? await lab.repo.resolve(best.commit) : (states[0]?.base ?? null);
  if (target) await lab.repo.resetHard(target);
  lab.emit({
    type: 'recovered',
    at: Date.now(),
    message: `Recovered from an interrupted run${notes.length ? `: ${notes.join('; ')}` : ''}. Tree reset to ${target ? short(target) : 'HEAD'}.`,
  });
}

async function openTree(repo: GitRepo, dir: string): Promise<GitRepo | null> {
  try {
    return await repo.openWorktree(dir);
  } catch {
    return null; // a half-made worktree: nothing in it worth keeping
  }
}

/** The older layout committed in the main checkout: a head that is not the best was the experiment's commit. */
async function legacyCommit(lab: Lab, s: InFlight): Promise<string | null> {
  const best = lab.best;
  const head = await lab.repo.head();
  const target = best ? await lab.repo.resolve(best.commit) : s.base;
  return best && target && head !== target ? head : null;
}
