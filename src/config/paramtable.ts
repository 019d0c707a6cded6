/** The machine parameters as Markdown, one table per section: the README's text, checked by a test (regenerate: npm run docs). */
import { schemaTableMarkdown } from '../params/table.js';
import { configSections } from './machine.js';

export function paramTableMarkdown(): string {
  return configSections()
    .map((s) => `#### ${s.title} (\`${s.file}\`)\n\n${schemaTableMarkdown(s.schema, s.prefix)}`)
    .join('\n\n');
}
