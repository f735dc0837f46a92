// State files cut off by kill -9 between writing the temp file and renaming it into place.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAllInFlight, settleUnfinishedWrites, tagDir, writeExperimentState, type InFlight } from '../../src/ledger/state.js';

const TAG = 't';

function repoWithState(state: InFlight): { dir: string; folder: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ar-state-'));
  writeExperimentState(dir, TAG, state);
  return { dir, folder: path.join(tagDir(dir, TAG), 'inflight') };
}

const training: InFlight = { experiment: 20, phase: 'training', base: 'b'.repeat(40), commit: 'c'.repeat(40), description: 'wider', startedAt: '2026-12-02T03:00:00Z' };
const decided: InFlight = {
  ...training,
  row: { commit: 'ccccccc', value: 0.9, memoryGb: 1, status: 'keep', description: 'wider', startedAt: '2026-12-02T03:00:00Z', tag: TAG, usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 } } as InFlight['row'],
};

describe('a state write cut off by kill -9', () => {
  it('a temp file written whole is the newest state: it takes the file\'s place, so its measured row is not lost', () => {
    const { dir, folder } = repoWithState(training);
    fs.writeFileSync(path.join(folder, '0020.json.4242.tmp'), JSON.stringify(decided));
    const notes = settleUnfinishedWrites(dir, TAG);
    expect(fs.readdirSync(folder)).toEqual(['0020.json']);
    expect(readAllInFlight(dir, TAG)).toEqual([decided]);
    expect(notes.join('\n')).toMatch(/0020\.json was written whole but not yet renamed/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a temp file cut mid-write is dropped and the state before it stands', () => {
    const { dir, folder } = repoWithState(training);
    fs.writeFileSync(path.join(folder, '0020.json.4242.tmp'), JSON.stringify(decided).slice(0, 40));
    const notes = settleUnfinishedWrites(dir, TAG);
    expect(fs.readdirSync(folder)).toEqual(['0020.json']);
    expect(readAllInFlight(dir, TAG)).toEqual([training]);
    expect(notes.join('\n')).toMatch(/dropped 0020\.json\.4242\.tmp/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an experiment whose first state write never got renamed is in flight, and nothing is left over', () => {
    const { dir, folder } = repoWithState(training);
    fs.writeFileSync(path.join(folder, '0021.json.4242.tmp'), JSON.stringify({ ...training, experiment: 21, phase: 'agent', commit: null }));
    fs.writeFileSync(path.join(tagDir(dir, TAG), 'config.json.4242.tmp'), '{"met');
    settleUnfinishedWrites(dir, TAG);
    expect(readAllInFlight(dir, TAG).map((s) => [s.experiment, s.phase])).toEqual([
      [20, 'training'],
      [21, 'agent'],
    ]);
    expect(fs.readdirSync(folder).sort()).toEqual(['0020.json', '0021.json']);
    expect(fs.readdirSync(tagDir(dir, TAG)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
