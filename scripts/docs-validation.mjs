// Regenerates docs/validation.md and the validation table in README.md by running every experiment (npm run docs:validation).
import { readFileSync, writeFileSync } from 'node:fs';
import { loadProfile } from '../dist/src/cli/commands/validate.js';
import { validationMarkdown } from '../dist/src/validate/docs.js';
import { summaryMarkdown } from '../dist/src/validate/render.js';
import { EXPERIMENTS } from '../dist/src/validate/registry.js';
import { runValidation } from '../dist/src/validate/run.js';

const v = runValidation(EXPERIMENTS, loadProfile);
writeFileSync(new URL('../docs/validation.md', import.meta.url), validationMarkdown(v));
const readmeUrl = new URL('../README.md', import.meta.url);
const text = readFileSync(readmeUrl, 'utf8');
const a = text.indexOf('<!-- validation:start -->');
const b = text.indexOf('<!-- validation:end -->');
if (a < 0 || b < 0) throw new Error('README.md: validation markers missing');
writeFileSync(readmeUrl, `${text.slice(0, a)}<!-- validation:start -->\n${summaryMarkdown(v)}\n${text.slice(b)}`);
console.log(`docs/validation.md and README.md: ${v.experiments.length} experiment(s), ${v.passed ? 'all within tolerance' : 'some outside tolerance'}`);
