#!/usr/bin/env node
/**
 * Removes the imports that `tsc` reports as unused (TS6133 on an import
 * binding, TS6192 for a whole declaration), and unused locals that only
 * copied a field (`const k = mm.k;`), so a codemod that moves calls around
 * can leave those to this. Reads tsc's output on stdin:
 *   npx tsc -p tsconfig.test.json | node scripts/codemod/prune-imports.mjs
 */
import { readFileSync, writeFileSync } from 'node:fs';
import ts from 'typescript';

const text = readFileSync(0, 'utf8');
const byFile = new Map();
for (const m of text.matchAll(/^(.+?)\((\d+),(\d+)\): error TS(6133|6192): (?:'([^']+)')?/gm)) {
  const [, file, line, col, code, name] = m;
  if (!byFile.has(file)) byFile.set(file, []);
  byFile.get(file).push({ line: +line, col: +col, code, name });
}
for (const [file, errs] of byFile) {
  const src = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, src, ts.ScriptTarget.Latest, true);
  const edits = [];
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st)) continue;
    const start = sf.getLineAndCharacterOfPosition(st.getStart()).line + 1;
    const end = sf.getLineAndCharacterOfPosition(st.getEnd()).line + 1;
    const mine = errs.filter((e) => e.line >= start && e.line <= end);
    if (mine.length === 0) continue;
    const clause = st.importClause;
    const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : [];
    const unused = new Set(mine.filter((e) => e.code === '6133').map((e) => e.name));
    const whole = mine.some((e) => e.code === '6192');
    const keepDefault = clause?.name && !unused.has(clause.name.text) && !whole;
    const keep = whole ? [] : named.filter((el) => !unused.has(el.name.text));
    const nsImport = clause?.namedBindings && ts.isNamespaceImport(clause.namedBindings) && !unused.has(clause.namedBindings.name.text) && !whole;
    let from = st.getStart();
    let to = st.getEnd();
    if (!keepDefault && keep.length === 0 && !nsImport) {
      if (src[to] === '\n') to++;
      edits.push([from, to, '']);
      continue;
    }
    const parts = [];
    if (keepDefault) parts.push(clause.name.text);
    if (nsImport) parts.push(`* as ${clause.namedBindings.name.text}`);
    const multiLine = st.getText(sf).includes('\n');
    const names = keep.map((el) => el.getText(sf));
    if (keep.length) parts.push(multiLine ? `{\n  ${names.join(',\n  ')},\n}` : `{ ${names.join(', ')} }`);
    const typeOnly = clause.isTypeOnly ? 'type ' : '';
    edits.push([from, to, `import ${typeOnly}${parts.join(', ')} from ${st.moduleSpecifier.getText(sf)};`]);
  }
  // Unused `const name = a.b;` lines: a field copied for calls that no longer take it.
  const lines = src.split('\n');
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    const e = errs.find((x) => x.line === i + 1 && x.code === '6133');
    if (e && new RegExp(`^\\s*const ${e.name.replace(/\$/g, '\\$')} = [\\w.]+;$`).test(lines[i])) edits.push([offset, offset + lines[i].length + 1, '']);
    offset += lines[i].length + 1;
  }
  let out = src;
  for (const [a, b, r] of edits.sort((x, y) => y[0] - x[0])) out = out.slice(0, a) + r + out.slice(b);
  if (out !== src) writeFileSync(file, out);
}
