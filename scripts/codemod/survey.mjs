#!/usr/bin/env node
/**
 * Lists the functions of src/ by how they take the kernel and the task
 * (k@0 Task@1: `(k: Kernel, t: Task, ...)`, and so on), with a few names of
 * each kind: what kernel-convention.mjs would convert, and what is left.
 * Usage: node scripts/codemod/survey.mjs
 */
import ts from 'typescript';
import { readFileSync } from 'node:fs';
const cfg = ts.getParsedCommandLineOfConfigFile('tsconfig.test.json', {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
const program = ts.createProgram(cfg.fileNames, cfg.options);
const checker = program.getTypeChecker();
const cats = new Map();
function typeName(p) { return p.type ? p.type.getText() : '?'; }
for (const sf of program.getSourceFiles()) {
  if (!sf.fileName.includes('/src/')) continue;
  const visit = (n) => {
    if ((ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n)) && n.parameters) {
      const ps = n.parameters.map((p) => typeName(p));
      const ki = ps.findIndex((x) => x === 'Kernel');
      const ti = ps.findIndex((x) => /^Task( \| null)?$/.test(x));
      const name = n.name ? n.name.getText() : '<anon>';
      let key;
      if (ki >= 0 && ti >= 0) key = `k@${ki} ${ps[ti]}@${ti}`;
      else if (ki >= 0) key = `k@${ki} only`;
      else if (ti >= 0) key = `${ps[ti]}@${ti} only`;
      if (key) {
        if (!cats.has(key)) cats.set(key, []);
        cats.get(key).push(`${sf.fileName.replace(/.*\/src\//, '')}:${name}`);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
for (const [k, v] of [...cats].sort((a, b) => b[1].length - a[1].length)) console.log(String(v.length).padStart(5), k, v.slice(0, 4).join(' '));
