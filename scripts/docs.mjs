// Regenerates the parameter table in README.md from the machine schema (npm run docs).
import { readFileSync, writeFileSync } from 'node:fs';
import { paramTableMarkdown } from '../dist/src/config/paramtable.js';

const file = new URL('../README.md', import.meta.url);
const text = readFileSync(file, 'utf8');
const a = text.indexOf('<!-- params:start -->');
const b = text.indexOf('<!-- params:end -->');
if (a < 0 || b < 0) throw new Error('README.md: params markers missing');
writeFileSync(file, `${text.slice(0, a)}<!-- params:start -->\n${paramTableMarkdown()}\n${text.slice(b)}`);
