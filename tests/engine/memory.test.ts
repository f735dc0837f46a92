// The research memory's pure parts, with tables: which code counts as measured, how a duplicate is
// found and answered, the history's verdicts, folding and cache blocks, plateaus and near misses,
// and the journal. The fingerprint is checked against real git, which computes the same blob ids.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { duplicateAnswer } from '../../src/agent/shared/tools.js';
import { countsAsMeasured, crashReason, findDuplicate, fingerprint, fingerprintOfFiles, gitBlobId } from '../../src/engine/duplicates.js';
import { CHUNK, foldedCount, historyLine, historyText, notesText, shortVerdict } from '../../src/engine/history.js';
import { nearMisses, plateauText, sinceLastKeep } from '../../src/engine/plateau.js';
import { codeRef, renderJournal } from '../../src/ledger/journal.js';
import { GitRepo } from '../../src/git/repo.js';
import { readAsGitSees } from '../../src/proc/untrusted-file.js';
import { ZERO_USAGE, type ResultRow } from '../../src/engine/types.js';
import { git, makeWorkspace } from '../helpers/workspace.js';

function row(i: number, over: Partial<ResultRow> = {}): ResultRow {
  return {
    commit: (0xa000000 + i).toString(16).slice(0, 7),
    value: 1 - i / 1000,
    memoryGb: 40,
    status: 'discard',
    description: `idea ${i}`,
    tag: 't',
    startedAt: '2026-12-04T00:00:00.000Z',
    seconds: 300,
    usage: ZERO_USAGE,
    experiment: i,
    ...over,
  };
}

describe('the code fingerprint', () => {
  it("computes git's own blob ids, so a working tree and a commit of the same files agree", async () => {
    const dir = makeWorkspace();
    const text = Buffer.from(fs.readFileSync(path.join(dir, 'train.py')));
    expect(gitBlobId(text)).toBe(git(dir, 'hash-object', 'train.py'));
    const repo = new GitRepo(dir);
    const blobs = await repo.lsTree('HEAD', ['train.py', 'missing.py']);
    expect(blobs.get('train.py')).toBe(gitBlobId(text));
    const fromTree = fingerprint([['train.py', blobs.get('train.py') ?? null], ['missing.py', null]]);
    const fromFiles = fingerprintOfFiles(new Map([['missing.py', null], ['train.py', text]]));
    expect(fromFiles).toBe(fromTree); // path order does not matter
    expect(fingerprintOfFiles(new Map([['train.py', Buffer.concat([text, Buffer.from('\n')])]]))).not.toBe(fingerprintOfFiles(new Map([['train.py', text]])));
    // A symlink is read as git records it (its target's name), never followed: both sides agree on it too.
    fs.symlinkSync('train.py', path.join(dir, 'link.py'));
    git(dir, 'add', 'link.py');
    git(dir, 'commit', '-qm', 'link');
    const linked = await repo.lsTree('HEAD', ['train.py', 'link.py']);
    expect(fingerprintOfFiles(readAsGitSees(dir, ['train.py', 'link.py']))).toBe(fingerprint([['train.py', linked.get('train.py') ?? null], ['link.py', linked.get('link.py') ?? null]]));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('what counts as measured', () => {
  it.each([
    [{ status: 'keep' }, true],
    [{ status: 'discard' }, true],
    [{ status: 'crash', verdict: 'OOM' }, true],
    [{ status: 'crash', verdict: 'timeout' }, true],
    [{ status: 'crash', verdict: 'exit 1' }, true],
    [{ status: 'crash', verdict: 'no val_bpb in log' }, true],
    [{ status: 'crash', verdict: 'interrupted' }, false],
    [{ status: 'crash', verdict: 'no space left on device' }, false],
    [{ status: 'crash', verdict: 'node failure (NODE_FAIL)' }, false],
    [{ status: 'crash', verdict: 'preempted' }, false],
    [{ status: 'crash', verdict: 'cancelled outside autoresearch (scancel)' }, false],
    [{ status: 'crash', verdict: 'sbatch refused the job: invalid partition' }, false],
    // Rows written before verdicts were recorded: the reason is the description's last parenthesis.
    [{ status: 'crash', description: 'bigger batch (OOM)' }, true],
    [{ status: 'crash', description: 'bigger batch (interrupted)' }, false],
  ] as const)('%o → %s', (over, measured) => {
    expect(countsAsMeasured(row(1, over as Partial<ResultRow>))).toBe(measured);
  });

  it('reads the crash reason from the verdict, else the description', () => {
    expect(crashReason(row(1, { status: 'crash', verdict: 'OOM', description: 'x (exit 1)' }))).toBe('OOM');
    expect(crashReason(row(1, { status: 'crash', description: 'x (exit 1)' }))).toBe('exit 1');
    expect(crashReason(row(1))).toBeNull();
  });
});

describe('finding a duplicate', () => {
  const rows = [row(0, { code: 'c0', status: 'keep' }), row(1, { code: 'c1' }), row(2, { code: 'c2', status: 'crash', verdict: 'interrupted' }), row(3, { code: 'c1', description: 'idea 1 again' })];

  it('names the latest measured experiment with the same code, else one in flight', () => {
    expect(findDuplicate('c1', rows)).toMatchObject({ kind: 'measured', experiment: 3, description: 'idea 1 again' });
    expect(findDuplicate('c0', rows)).toMatchObject({ kind: 'measured', experiment: 0 });
    expect(findDuplicate('c2', rows)).toBeNull(); // interrupted: may be trained again
    expect(findDuplicate('c9', rows, [{ experiment: 7, description: 'in flight', code: 'c9' }])).toEqual({ kind: 'in-flight', experiment: 7, description: 'in flight' });
    expect(findDuplicate('c9', rows, [{ experiment: 7, description: 'no commit yet' }])).toBeNull();
    // Rows without a recorded number are numbered by their place.
    expect(findDuplicate('cx', [row(0), { ...row(5, { code: 'cx' }), experiment: undefined }])).toMatchObject({ experiment: 1 });
  });

  it('answers with the experiment, its result, and what to do instead', () => {
    const measured = findDuplicate('c1', [row(3, { code: 'c1', value: 0.991, verdict: 'within noise: better by 0.0002', description: 'warmup 5%' })])!;
    expect(duplicateAnswer(measured, 'val_bpb')).toBe(
      'Error: not submitted. The editable files are identical to experiment #3 ("warmup 5%"): it was measured: discard, val_bpb 0.991000 (within noise: better by 0.0002). ' +
        'Training the same code again would only repeat that result. Make a different change (or build on that one), then call submit_experiment again.',
    );
    expect(duplicateAnswer({ kind: 'in-flight', experiment: 7, description: 'swiglu' }, 'val_bpb')).toContain('experiment #7 ("swiglu"): it is in flight right now');
    expect(duplicateAnswer(findDuplicate('c4', [row(4, { code: 'c4', status: 'crash', verdict: 'OOM' })])!, 'val_bpb')).toContain('it crashed (OOM)');
  });
});

describe('the history lines', () => {
  it.each([
    [row(0, { status: 'keep', description: 'baseline' }), 'baseline'],
    [row(4, { status: 'keep', verdict: 'better by 0.004000, noise allows 0.001000 (σ 0.0006, 4 degrees of freedom)' }), 'kept, better by 0.004000'],
    [row(4, { verdict: 'within noise: better by 0.0004, noise allows 0.0010' }), 'within noise'],
    [row(4, { verdict: 'not better' }), 'not better'],
    [row(4, { verdict: 'beat a1, but does not apply on the new best b2' }), 'beat an older best, did not apply on the new one'],
    [row(4, { status: 'crash', verdict: 'OOM' }), 'OOM'],
    [row(4, { status: 'crash', description: 'x (timeout)' }), 'timeout'],
  ])('%#: %s', (r, verdict) => {
    expect(shortVerdict(r, 4)).toBe(verdict);
  });

  it('one line: number, commit, status, mean value, verdict, clipped description', () => {
    const line = historyLine(row(12, { values: [0.99, 0.992], verdict: 'not better', description: 'd'.repeat(500) }), 12);
    expect(line).toMatch(/^#12 a00000c discard 0\.991000 \(mean of 2\) not better \| d+…$/);
    expect(line.length).toBeLessThan(200);
    expect(historyLine(row(13, { status: 'crash', value: 0, verdict: 'OOM' }), 13)).toBe('#13 a00000d crash - OOM | idea 13');
    // The verdict a description repeats at its end is said once, by the line.
    const within = 'within noise: better by 0.000400, noise allows 0.000900';
    expect(historyLine(row(14, { verdict: within, description: `warmup 5% (${within})` }), 14)).toBe('#14 a00000e discard 0.986000 within noise | warmup 5%');
    expect(historyLine(row(15, { status: 'crash', value: 0, verdict: 'OOM', description: 'depth 32 (OOM)' }), 15)).toBe('#15 a00000f crash - OOM | depth 32');
  });

  it.each([
    [0, 0],
    [300, 0],
    [399, 0],
    [400, 100],
    [499, 100],
    [500, 200],
    [1000, 700],
  ])('folds %i rows → %i', (rows, folded) => {
    expect(foldedCount(rows)).toBe(folded);
    expect(rows - foldedCount(rows)).toBeGreaterThanOrEqual(Math.min(rows, 300));
  });

  it('the settled blocks do not change as rows are added within a block, and grow by whole blocks', () => {
    const rows = Array.from({ length: 160 }, (_, i) => row(i));
    const at = (n: number) => historyText(rows.slice(0, n), 'min', 'J');
    expect(at(151).stable).toEqual(at(160).stable);
    expect(at(150).stable).toHaveLength(150 / CHUNK);
    expect(at(149).stable).toEqual(at(150).stable.slice(0, 2));
    expect(at(1).growing).toBe('#0 a000000 discard 1.000000 not better | idea 0\n(1 experiments, all listed.)');
  });

  it('notes: none is no section', () => {
    expect(notesText([row(1)], 'J')).toBeNull();
    expect(notesText([row(1), row(2, { notes: 'lr matters most' })], 'J')).toBe('Notes left by earlier experiments (what was learned; newest last):\n- #2: lr matters most');
  });
});

describe('plateaus and near misses', () => {
  const night = [
    row(0, { status: 'keep', description: 'baseline' }),
    row(1, { status: 'keep' }),
    row(2, { verdict: 'within noise: better by 0.0002, noise allows 0.0010' }),
    row(3, { verdict: 'not better' }),
    row(4, { status: 'crash', verdict: 'OOM' }),
    row(5, { verdict: 'beat a000001, but does not apply on the new best a000009' }),
  ];

  it('counts the experiments since the last keep', () => {
    expect(sinceLastKeep(night)).toBe(4);
    expect(sinceLastKeep(night.slice(0, 2))).toBe(0);
    expect(sinceLastKeep([])).toBe(0);
  });

  it('near misses: within the noise, or better than an older best but never measured on the new one; newest first', () => {
    expect(nearMisses(night).map((m) => m.experiment)).toEqual([5, 2]);
  });

  it('the section appears once the dry spell reaches --plateau, with each near miss and its ref', () => {
    const ref = (c: string) => `refs/x/${c}`;
    expect(plateauText(night, 5, ref)).toBeNull();
    expect(plateauText(night, 0, ref)).toBeNull();
    const text = plateauText(night, 4, ref)!;
    expect(text).toContain('Plateau: 4 experiments in a row without a keep.');
    expect(text).toContain('- #2 a000002 0.998000, better than the best of its time, but within the noise; ref refs/x/a000002 | idea 2');
    expect(text.indexOf('#5 a000005')).toBeLessThan(text.indexOf('#2 a000002'));
    expect(plateauText(night.slice(0, 4), 2, ref)).toContain('Near misses worth another look (1, newest first');
    expect(plateauText([row(0, { status: 'keep' }), row(1), row(2)], 2, ref)).toContain('No near misses so far');
  });
});

describe('the journal', () => {
  it('holds every experiment with its runs, verdict, files, notes and where to read its code', () => {
    const rows = [
      row(0, { status: 'keep', description: 'baseline', values: [1, 1.002, 0.998] }),
      row(1, { status: 'keep', base: 'a000000', files: ['train.py'], verdict: 'better by 0.01', notes: 'lr was too low', values: [0.99, 0.991] }),
      row(2, { status: 'crash', verdict: 'OOM', value: 0, files: ['train.py'] }),
    ];
    const text = renderJournal(rows, 't', 'val_bpb', 'min');
    expect(text).toContain('3 experiments: 2 kept, 0 discarded, 1 crashed.');
    expect(text).toContain('## Notes\n\n- #1: lr was too low');
    expect(text).toContain('### #0 keep · a000000 · val_bpb 1.000000 (mean of 3 runs: 1.000000, 1.002000, 0.998000)');
    expect(text).toContain('### #1 keep · a000001 · val_bpb 0.990500 (mean of 2 runs: 0.990000, 0.991000)\n- idea 1\n- verdict: better by 0.01\n- built on: a000000\n- files: train.py\n- code: `git show a000001`\n- notes: lr was too low');
    expect(text).toContain('### #2 crash · a000002 · val_bpb crashed\n- idea 2\n- verdict: OOM');
    expect(text).toContain('- code: `git show refs/autoresearch/t/discarded/a000002`');
    expect(codeRef(rows[1]!, 't')).toBe('a000001');
  });

  it('is written whole, never through a link the model left at its name', async () => {
    const { writeJournalFile } = await import('../../src/ledger/journal.js');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-journal-'));
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'precious');
    fs.mkdirSync(path.join(dir, '.autoresearch'));
    fs.symlinkSync(victim, path.join(dir, '.autoresearch', 'journal.md'));
    writeJournalFile(path.join(dir, '.autoresearch', 'journal.md'), 'the journal');
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.lstatSync(path.join(dir, '.autoresearch', 'journal.md')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(dir, '.autoresearch', 'journal.md'), 'utf8')).toBe('the journal');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
