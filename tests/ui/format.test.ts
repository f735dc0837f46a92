// The text helpers every renderer shares.

import { describe, expect, it } from 'vitest';
import {
  fit,
  formatChange,
  formatDuration,
  formatLimit,
  formatTokens,
  oneLine,
  progressBar,
  sparkline,
  textWidth,
  toolLabel,
  truncate,
  truncateStart,
  wrapWords,
} from '../../src/ui/format.js';

describe('format', () => {
  it('durations', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(59.9)).toBe('59s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3723)).toBe('1h02m03s');
    expect(formatDuration(-5)).toBe('0s');
  });

  it('a time limit as given: fractions of a second are not dropped', () => {
    expect(formatLimit(600)).toBe('10m00s');
    expect(formatLimit(1.5)).toBe('1.5s');
    expect(formatLimit(0.25)).toBe('0.25s');
    expect(formatLimit(90.5)).toBe('1m30.5s');
    expect(formatLimit(3600.75)).toBe('1h00m00.75s');
  });

  it('token counts', () => {
    expect(formatTokens(950)).toBe('950');
    expect(formatTokens(4000)).toBe('4.0k');
    expect(formatTokens(150_000)).toBe('150k');
    expect(formatTokens(4_560_000)).toBe('4.56M');
    expect(formatTokens(45_600_000)).toBe('45.6M');
  });

  it('signed change against the baseline', () => {
    expect(formatChange(0.9912, 0.9979)).toBe('-0.67%');
    expect(formatChange(0.84, 0.8)).toBe('+5.00%');
    expect(formatChange(1, 0)).toBe('n/a');
  });

  it('width-aware cutting and padding, wide characters counted twice', () => {
    expect(truncate('hello world', 8)).toBe('hello w…');
    expect(truncate('short', 8)).toBe('short');
    expect(truncateStart('hello world', 8)).toBe('…o world');
    expect(textWidth('日本語')).toBe(6);
    expect(truncate('日本語テキスト', 7)).toBe('日本語…');
    expect(fit('ab', 4)).toBe('ab  ');
    expect(fit('ab', 4, 'right')).toBe('  ab');
    expect(oneLine('a\n\tb\u001b[31m  c')).toBe('a b [31m c');
  });

  it('word wrap', () => {
    expect(wrapWords('the quick brown fox jumps', 10)).toEqual(['the quick', 'brown fox', 'jumps']);
    expect(wrapWords('abcdefghijkl', 5)).toEqual(['abcde', 'fghij', 'kl']);
  });

  it('sparkline of a best-so-far series, sampled to the width', () => {
    expect(sparkline([1, 0.5, 0.5, 0], 4)).toBe('█▅▅▁');
    expect(sparkline([null, 1, 1], 3)).toBe(' ▄▄');
    const long = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    const line = sparkline(long, 20);
    expect(line).toHaveLength(20);
    expect(line[0]).toBe('█');
    expect(line[19]).toBe('▁');
  });

  it('progress bar with a budget mark', () => {
    expect(progressBar(0.25, 8, 0.5)).toBe('██░░│░░░');
    expect(progressBar(0.75, 8, 0.5)).toBe('██████░░');
    expect(progressBar(2, 4)).toBe('████');
  });

  it('tool calls as a person would say them', () => {
    expect(toolLabel('str_replace_based_edit_tool', 'view train.py')).toBe('view train.py');
    expect(toolLabel('bash', 'ls -la')).toBe('$ ls -la');
    expect(toolLabel('submit_experiment', 'raise lr')).toBe('submit: raise lr');
    expect(toolLabel('other', 'x')).toBe('other x');
  });
});
