/** A schema as a Markdown table: the README's parameter tables are this text, checked by a test. */
import { describeSchema, shownDefault, type Schema } from './schema.js';

export function schemaTableMarkdown(schema: Schema, prefix = ''): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = ['| field | default | unit | meaning | source |', '| --- | --- | --- | --- | --- |'];
  for (const r of describeSchema(schema, prefix)) {
    lines.push(`| \`${r.path}\` | ${esc(shownDefault(r))} | ${r.unit} | ${esc(r.help)} | ${esc(r.source)} |`);
  }
  return lines.join('\n');
}
