import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { paramTableMarkdown } from '../../src/config/paramtable.js';

describe('README', () => {
  it('shows the machine parameter table exactly as the schema declares it (regenerate: npm run docs)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('<!-- params:start -->');
    const end = readme.indexOf('<!-- params:end -->');
    expect(start).toBeGreaterThan(0);
    expect(readme.slice(start + '<!-- params:start -->'.length, end).trim()).toBe(paramTableMarkdown());
  });
});
