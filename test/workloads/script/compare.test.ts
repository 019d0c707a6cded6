import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../../src/workloads/script/compare.js';

describe('compareRuns', () => {
  const host = ['{"i":0,"op":"mmap","ret":0,"errno":null}', '{"i":1,"op":"fork","ret":0,"errno":null,"child":[{"i":0,"op":"load","ret":0,"errno":null,"value":7}],"exit":0}'];

  it('agrees when only sim differs, also inside fork children', () => {
    const sim = [
      '{"i":0,"op":"mmap","ret":0,"errno":null,"sim":{"cycles":100}}',
      '{"i":1,"op":"fork","ret":0,"errno":null,"child":[{"i":0,"op":"load","ret":0,"errno":null,"value":7,"sim":{"cycles":3}}],"exit":0,"sim":{"cycles":9}}',
    ];
    expect(compareRuns(host, sim)).toEqual({ agree: true });
  });

  it('reports the first differing line with both texts', () => {
    const sim = [host[0]!, host[1]!.replace('"value":7', '"value":0')];
    expect(compareRuns(host, sim)).toEqual({ agree: false, index: 1, host: host[1], sim: sim[1] });
  });

  it('a missing line is a difference; trailing blank lines are not', () => {
    expect(compareRuns(host, [host[0]!])).toEqual({ agree: false, index: 1, host: host[1], sim: null });
    expect(compareRuns([...host, ''], host)).toEqual({ agree: true });
  });

  it('key order matters (the spec fixes it)', () => {
    expect(compareRuns(['{"i":0,"op":"x","ret":0,"errno":null}'], ['{"op":"x","i":0,"ret":0,"errno":null}']).agree).toBe(false);
  });

  it('compares 64-bit values exactly: positions one apart past 2^53 differ, equal ones agree', () => {
    const at = (v: string) => [`{"i":0,"op":"lseek","ret":${v},"errno":null}`];
    expect(compareRuns(at('9223372036854775807'), at('9223372036854775806')).agree).toBe(false);
    expect(compareRuns(at('9007199254740993'), at('9007199254740992')).agree).toBe(false);
    expect(compareRuns(at('9223372036854775807'), at('9223372036854775807')).agree).toBe(true);
  });
});
