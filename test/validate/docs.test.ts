import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../src/cli/commands/validate.js';
import { validationMarkdown } from '../../src/validate/docs.js';
import { EXPERIMENTS } from '../../src/validate/registry.js';
import { summaryMarkdown } from '../../src/validate/render.js';
import { runValidation } from '../../src/validate/run.js';

describe('docs/validation.md', () => {
  const v = runValidation(EXPERIMENTS, loadProfile);

  it('is what the experiments give now (regenerate: npm run docs:validation)', () => {
    const doc = readFileSync(new URL('../../docs/validation.md', import.meta.url), 'utf8');
    expect(doc).toBe(validationMarkdown(v));
  });

  it('and the README shows the same summary table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const a = readme.indexOf('<!-- validation:start -->');
    const b = readme.indexOf('<!-- validation:end -->');
    expect(a).toBeGreaterThan(0);
    expect(readme.slice(a + '<!-- validation:start -->'.length, b).trim()).toBe(summaryMarkdown(v));
  });

  it('every experiment has a unique id, a source, and as many simulated curves as published', () => {
    const ids = EXPERIMENTS.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const e of EXPERIMENTS) {
      expect(e.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(e.source.length).toBeGreaterThan(10);
      expect(e.tolerance.why.length).toBeGreaterThan(0);
    }
    for (const r of v.experiments) expect(r.curves.length).toBeGreaterThan(0);
  });
});
