import { describe, expect, it } from 'vitest';
import { utcFromDigits } from '../src/time.js';

describe('timestamps as the guide writes them', () => {
  it('keeps the fraction only where there is one, to the microsecond, and ends in Z', () => {
    expect(utcFromDigits('2026-11-01T00:00:10.000000')).toBe('2026-11-01T00:00:10Z');
    expect(utcFromDigits('2026-11-01T00:00:00.000000')).toBe('2026-11-01T00:00:00Z');
    expect(utcFromDigits('2026-11-01T00:00:10.500000')).toBe('2026-11-01T00:00:10.5Z');
    expect(utcFromDigits('2026-11-01T00:00:10.120000')).toBe('2026-11-01T00:00:10.12Z');
    expect(utcFromDigits('2026-11-01T00:00:00.000001')).toBe('2026-11-01T00:00:00.000001Z');
    expect(utcFromDigits('2026-11-01T10:20:30.010200')).toBe('2026-11-01T10:20:30.0102Z');
  });
});
