/** The machine parameters as a Markdown table: the README's table is this text, checked by a test. */
import { machineSchema } from './config.js';
import { describeSchema } from './params.js';

export function paramTableMarkdown(): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = ['| field | default | unit | meaning | source |', '| --- | --- | --- | --- | --- |'];
  for (const r of describeSchema(machineSchema)) {
    lines.push(`| \`${r.path}\` | ${esc(String(r.default))} | ${r.unit} | ${esc(r.help)} | ${esc(r.source)} |`);
  }
  return lines.join('\n');
}
