import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { keepLog } from '../../src/ledger/logs.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ar-logs-'));

describe('keeping a run log', () => {
  it('copies a short log whole', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'run.log'), 'a\nb\n');
    expect(keepLog(path.join(dir, 'run.log'), path.join(dir, 'kept.log'), 10, 10)).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'kept.log'), 'utf8')).toBe('a\nb\n');
  });

  it('keeps the head and the tail of a long log at line ends, saying where and how much was cut', () => {
    const dir = tmp();
    const lines = Array.from({ length: 1000 }, (_, i) => `step ${String(i).padStart(4, '0')}`); // 10 bytes each with \n
    const text = lines.join('\n') + '\n';
    fs.writeFileSync(path.join(dir, 'run.log'), text);
    const dropped = keepLog(path.join(dir, 'run.log'), path.join(dir, 'kept.log'), 105, 205);
    const kept = fs.readFileSync(path.join(dir, 'kept.log'), 'utf8').split('\n');
    // 10 whole lines of head (100 bytes of 105), 20 whole lines of tail (200 bytes of 205).
    expect(kept.slice(0, 10)).toEqual(lines.slice(0, 10));
    expect(kept[10]).toBe(`[autoresearch: ${10_000 - 300} bytes of this log were cut here; the run printed 10000 bytes, of which the first 100 and the last 200 are kept]`);
    expect(kept.slice(11, -1)).toEqual(lines.slice(-20));
    expect(kept.at(-1)).toBe('');
    expect(dropped).toBe(9700);
  });

  it('cuts a log without newlines at the byte limits', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'run.log'), 'x'.repeat(1000));
    expect(keepLog(path.join(dir, 'run.log'), path.join(dir, 'kept.log'), 10, 20)).toBe(970);
    expect(fs.readFileSync(path.join(dir, 'kept.log'), 'utf8')).toBe(`${'x'.repeat(10)}\n[autoresearch: 970 bytes of this log were cut here; the run printed 1000 bytes, of which the first 10 and the last 20 are kept]\n${'x'.repeat(20)}`);
  });
});
