import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendResult, cutTornTail, formatRow, headerFor, parseResults, readResultsFile, ResultsWriteError, sanitizeDescription, widenHeader } from '../../src/ledger/results.js';
import { ZERO_USAGE, type ResultRow } from '../../src/engine/types.js';

const row = (over: Partial<ResultRow> = {}): ResultRow => ({
  commit: 'abc1234', value: 0.9979, memoryGb: 44.0, status: 'keep', description: 'baseline', tag: 'rope',
  startedAt: '2026-11-26T03:00:00.000Z', seconds: 331.4,
  usage: { inputTokens: 1200, outputTokens: 300, cacheReadTokens: 5000, cacheWriteTokens: 0, costUsd: 0.01234 }, ...over,
});

const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'results-')), 'results.tsv');

describe('results.tsv', () => {
  it('writes the exact Karpathy columns first, then ours', () => {
    const file = tmpFile();
    appendResult(file, 'val_bpb', row());
    appendResult(file, 'val_bpb', row({ commit: 'def5678', value: 0, memoryGb: 0, status: 'crash', description: 'wider\tmlp\n(OOM)' }));
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    expect(lines[0]).toBe('commit\tval_bpb\tmemory_gb\tstatus\tdescription\ttag\tstarted_at\tseconds\tinput_tokens\toutput_tokens\tcache_read_tokens\tcache_write_tokens\tcost_usd\tbase\tslot\truns\tstd\tvalues\texperiment\tverdict\tfiles\tcode\tnotes');
    expect(lines[1]).toBe('abc1234\t0.997900\t44.0\tkeep\tbaseline\trope\t2026-11-26T03:00:00.000Z\t331\t1200\t300\t5000\t0\t0.0123\t\t\t1\t0.000000\t\t\t\t\t\t');
    expect(lines[2]?.split('\t').slice(0, 5)).toEqual(['def5678', '0.000000', '0.0', 'crash', 'wider mlp (OOM)']);
    expect(lines[3]).toBe('');
    const back = readResultsFile(file);
    expect(back.metricName).toBe('val_bpb');
    expect(back.rows).toHaveLength(2);
    expect(back.rows[0]).toMatchObject({ commit: 'abc1234', value: 0.9979, memoryGb: 44, status: 'keep', tag: 'rope', seconds: 331 });
    expect(back.rows[0]?.usage.costUsd).toBeCloseTo(0.0123);
  });

  it("records the research memory's fields (number, verdict, files, code, notes) on one line, and reads them back", () => {
    const file = tmpFile();
    const memory = { experiment: 12, verdict: 'within noise: better by 0.0004,\tnoise allows 0.001', files: ['train.py', 'model.py'], code: '0123456789abcdef', notes: 'wider\nwas worse;\tthe optimizer matters' };
    appendResult(file, 'val_bpb', row({ commit: 'def5678', status: 'discard', ...memory }));
    const cells = fs.readFileSync(file, 'utf8').split('\n')[1]!.split('\t');
    expect(cells.slice(18)).toEqual(['12', 'within noise: better by 0.0004, noise allows 0.001', 'train.py;model.py', '0123456789abcdef', 'wider was worse; the optimizer matters']);
    expect(readResultsFile(file).rows[0]).toMatchObject({ experiment: 12, files: ['train.py', 'model.py'], code: '0123456789abcdef', notes: 'wider was worse; the optimizer matters' });
    // Absent: nothing is made up.
    appendResult(file, 'val_bpb', row());
    const plain = readResultsFile(file).rows[1]!;
    for (const key of ['experiment', 'verdict', 'files', 'code', 'notes']) expect(plain).not.toHaveProperty(key);
  });

  it('widens the header of a file begun by an older version, keeping every byte of its rows, so new rows keep their new columns', () => {
    const file = tmpFile();
    const old = headerFor('val_bpb').slice(0, 18).join('\t');
    const oldRow = formatRow(row({ commit: 'aaa1111' }), 18);
    const torn = 'bbb2222\t0.99'; // a torn tail is kept as it was, for the loop to cut and save
    fs.writeFileSync(file, `${old}\n${oldRow}\n${torn}`);
    expect(widenHeader(file, 'val_bpb')).toEqual(['experiment', 'verdict', 'files', 'code', 'notes']);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${headerFor('val_bpb').join('\t')}\n${oldRow}\n${torn}`);
    expect(widenHeader(file, 'val_bpb')).toBeNull(); // already wide
    fs.writeFileSync(file, `${old}\n${oldRow}\n`);
    widenHeader(file, 'val_bpb');
    appendResult(file, 'val_bpb', row({ commit: 'ccc3333', experiment: 1, notes: 'kept' }));
    expect(readResultsFile(file).rows.map((r) => [r.commit, r.experiment, r.notes])).toEqual([
      ['aaa1111', undefined, undefined],
      ['ccc3333', 1, 'kept'],
    ]);
    // Not ours (another metric, a foreign header): left alone.
    fs.writeFileSync(file, `${old}\n`);
    expect(widenHeader(file, 'val_loss')).toBeNull();
    fs.writeFileSync(file, 'a\tb\n');
    expect(widenHeader(file, 'val_bpb')).toBeNull();
    expect(fs.readFileSync(file, 'utf8')).toBe('a\tb\n');
    expect(widenHeader(path.join(path.dirname(file), 'absent.tsv'), 'val_bpb')).toBeNull();
  });

  it('records the commit a run was built on and its GPU, and reads them back', () => {
    const file = tmpFile();
    appendResult(file, 'val_bpb', row({ commit: 'def5678', base: 'abc1234', slot: '3' }));
    expect(fs.readFileSync(file, 'utf8').split('\n')[1]?.split('\t').slice(13, 15)).toEqual(['abc1234', '3']);
    expect(readResultsFile(file).rows[0]).toMatchObject({ commit: 'def5678', base: 'abc1234', slot: '3' });
  });

  it('records each run of a repeated measurement, their spread, and reads them back', () => {
    const file = tmpFile();
    appendResult(file, 'val_bpb', row({ value: 0.99, values: [0.98, 0.99, 1.0] }));
    expect(fs.readFileSync(file, 'utf8').split('\n')[1]?.split('\t').slice(15, 18)).toEqual(['3', '0.010000', '0.980000;0.990000;1.000000']);
    expect(readResultsFile(file).rows[0]?.values).toEqual([0.98, 0.99, 1.0]);
  });

  it('records a crash after measured runs: every run it got, and the values of those measured; reads them back', () => {
    const file = tmpFile();
    appendResult(file, 'val_bpb', row({ value: 0, status: 'crash', description: 'x (exit 1)', values: [0.98], runs: 2 }));
    appendResult(file, 'val_bpb', row({ value: 0, status: 'crash', description: 'y (exit 1)' }));
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    expect(lines[1]?.split('\t').slice(15, 18)).toEqual(['2', '0.000000', '0.980000']);
    expect(lines[2]?.split('\t').slice(15, 18)).toEqual(['1', '0.000000', '']);
    const [a, b] = readResultsFile(file).rows;
    expect(a).toMatchObject({ status: 'crash', values: [0.98], runs: 2 });
    expect(b?.values).toBeUndefined();
    expect(b?.runs).toBeUndefined();
  });

  it('keeps a file begun before the base and slot columns as wide as its header', () => {
    const file = tmpFile();
    const oldHeader = 'commit\tval_bpb\tmemory_gb\tstatus\tdescription\ttag\tstarted_at\tseconds\tinput_tokens\toutput_tokens\tcache_read_tokens\tcache_write_tokens\tcost_usd';
    fs.writeFileSync(file, `${oldHeader}\n`);
    appendResult(file, 'val_bpb', row({ base: 'abc1234', slot: '1' }));
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe(oldHeader);
    expect(lines[1]?.split('\t')).toHaveLength(13);
    expect(readResultsFile(file).rows[0]).toMatchObject({ commit: 'abc1234', status: 'keep' });
  });

  it('names the metric column after --metric and refuses to mix metrics in one file', () => {
    const file = tmpFile();
    appendResult(file, 'accuracy', row());
    expect(fs.readFileSync(file, 'utf8').split('\t')[1]).toBe('accuracy');
    expect(() => appendResult(file, 'val_bpb', row())).toThrow(ResultsWriteError);
    expect(() => appendResult(file, 'val_bpb', row())).toThrow(/--metric accuracy/);
  });

  it('ignores a torn last line when reading and cuts it before the next append', () => {
    const file = tmpFile();
    appendResult(file, 'val_bpb', row());
    fs.appendFileSync(file, 'def5678\t0.99');
    expect(readResultsFile(file).rows).toHaveLength(1);
    appendResult(file, 'val_bpb', row({ commit: 'fff0000', description: 'next' }));
    const rows = readResultsFile(file).rows;
    expect(rows.map((r) => r.commit)).toEqual(['abc1234', 'fff0000']);
    expect(fs.readFileSync(file, 'utf8')).not.toContain('def5678');
    // The cut bytes are not lost: they are saved beside the ledger.
    const saved = fs.readdirSync(path.dirname(file)).filter((f) => f.startsWith('results.tsv.torn-'));
    expect(saved).toHaveLength(1);
    expect(fs.readFileSync(path.join(path.dirname(file), saved[0]!), 'utf8')).toBe('def5678\t0.99');
  });

  it('cuts a torn last row off, saving its bytes beside the ledger first; a whole file is left alone', () => {
    const file = tmpFile();
    expect(cutTornTail(file)).toBeNull(); // absent
    appendResult(file, 'val_bpb', row());
    const whole = fs.readFileSync(file);
    expect(cutTornTail(file)).toBeNull();
    fs.appendFileSync(file, 'def5678\t0.99');
    const torn = cutTornTail(file, new Date('2026-11-26T03:04:05.678Z'));
    expect(torn).toEqual({ bytes: 12, savedTo: `${file}.torn-2026-11-26T03-04-05-678Z` });
    expect(fs.readFileSync(torn!.savedTo, 'utf8')).toBe('def5678\t0.99');
    expect(fs.readFileSync(file).equals(whole)).toBe(true);
    // A second cut at the same moment does not overwrite the first one's bytes.
    fs.appendFileSync(file, 'again');
    const second = cutTornTail(file, new Date('2026-11-26T03:04:05.678Z'));
    expect(second?.savedTo).not.toBe(torn!.savedTo);
    expect(fs.readFileSync(torn!.savedTo, 'utf8')).toBe('def5678\t0.99');
    expect(fs.readFileSync(second!.savedTo, 'utf8')).toBe('again');
  });

  it('skips malformed lines and reads Karpathy-style five-column files', () => {
    const text = 'commit\tval_bpb\tmemory_gb\tstatus\tdescription\na1b2c3d\t0.997900\t44.0\tkeep\tbaseline\ngarbage line\nb2c3d4e\tNaN\t0.0\tcrash\tx\nc3d4e5f\t0.993000\t44.2\tdiscard\tquote "me"\n';
    const { rows } = parseResults(text);
    expect(rows.map((r) => [r.commit, r.status, r.tag, r.description])).toEqual([
      ['a1b2c3d', 'keep', '', 'baseline'],
      ['c3d4e5f', 'discard', '', 'quote "me"'],
    ]);
  });

  it('reads an absent file as empty', () => {
    expect(readResultsFile('/nonexistent/results.tsv')).toEqual({ metricName: null, rows: [] });
  });

  it('sanitises descriptions to one line', () => {
    expect(sanitizeDescription('a\tb\r\nc   d ')).toBe('a b c d');
    expect(sanitizeDescription('\n')).toBe('(no description)');
  });

  it('round-trips descriptions with quotes and commas', () => {
    const file = tmpFile();
    appendResult(file, 'val_bpb', row({ description: 'use "gelu", not relu²' }));
    expect(readResultsFile(file).rows[0]?.description).toBe('use "gelu", not relu²');
  });
});
