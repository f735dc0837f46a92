import { describe, expect, it } from 'vitest';
import { logTail, looksOutOfMemory, parseMemoryGb, parseMetric } from '../../src/engine/metric.js';

const SUMMARY = `step 00953 | loss 2.9912
---
val_bpb:          0.997900
training_seconds: 300.1
total_seconds:    325.9
peak_vram_mb:     45060.2
mfu_percent:      39.80
`;

describe('parseMetric', () => {
  it('reads the summary block format', () => {
    expect(parseMetric(SUMMARY, 'val_bpb')).toBe(0.9979);
    expect(parseMetric(SUMMARY, 'mfu_percent')).toBe(39.8);
  });
  it('reads key=value lines', () => {
    expect(parseMetric('epoch 3 | val_bpb=1.2345 | memory_gb=12.0', 'val_bpb')).toBe(1.2345);
    expect(parseMetric('accuracy = 0.91', 'accuracy')).toBe(0.91);
  });
  it('takes the last match, because runs print progress before the summary', () => {
    expect(parseMetric('val_bpb: 1.5\nval_bpb=1.2\nval_bpb:          0.99\n', 'val_bpb')).toBe(0.99);
  });
  it('returns NaN and infinities as such, so they can be judged crashes', () => {
    expect(parseMetric('val_bpb: nan', 'val_bpb')).toBeNaN();
    expect(parseMetric('val_bpb: NaN', 'val_bpb')).toBeNaN();
    expect(parseMetric('val_bpb: inf', 'val_bpb')).toBe(Infinity);
    expect(parseMetric('val_bpb=-inf', 'val_bpb')).toBe(-Infinity);
  });
  it('does not confuse a longer key or a prefix', () => {
    expect(parseMetric('best_val_bpb: 0.5\nval_bpb_ema: 0.4', 'val_bpb')).toBeNull();
    expect(parseMetric('val_bpb: 1e-3', 'val_bpb')).toBe(0.001);
    expect(parseMetric('val_bpb: 0.9x', 'val_bpb')).toBeNull();
  });
  it('returns null when absent', () => {
    expect(parseMetric('Traceback (most recent call last):', 'val_bpb')).toBeNull();
    expect(parseMetric('', 'val_bpb')).toBeNull();
  });
  it('escapes metric names with regex characters', () => {
    expect(parseMetric('val.loss: 2.5\nvalXloss: 9', 'val.loss')).toBe(2.5);
  });
});

describe('parseMemoryGb', () => {
  it('converts peak_vram_mb to GB', () => {
    expect(parseMemoryGb(SUMMARY)).toBeCloseTo(44.004, 3);
  });
  it('falls back to memory_gb, then 0', () => {
    expect(parseMemoryGb('memory_gb=12.5')).toBe(12.5);
    expect(parseMemoryGb('nothing here')).toBe(0);
  });
});

describe('log helpers', () => {
  it('recognises out-of-memory deaths', () => {
    expect(looksOutOfMemory('torch.OutOfMemoryError: CUDA out of memory. Tried to allocate')).toBe(true);
    expect(looksOutOfMemory('RuntimeError: shape mismatch')).toBe(false);
  });
  it('returns the last non-empty lines', () => {
    expect(logTail('a\n\nb\r\nc\n\n', 2)).toEqual(['b', 'c']);
  });
});
