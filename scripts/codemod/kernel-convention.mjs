#!/usr/bin/env node
/**
 * Codemod to kernsim's one kernel calling convention (see docs/kernel.md):
 *
 * - a function that runs on a task takes that task first, `(t, ...)`, and
 *   reaches the kernel as `t.k`, the way Linux code reaches `current` and the
 *   kernel's globals without passing them: `(k: Kernel, t: Task, ...)` and
 *   `(t: Task, k: Kernel, ...)` both become `(t: Task, ...)`, with
 *   `const k = t.k;` at the top of the body when the body uses `k`;
 * - a function that may run without a task (boot, a timer or IPI callback:
 *   `t: Task | null`) takes the kernel first: `(t: Task | null, k: Kernel, ...)`
 *   becomes `(k: Kernel, t: Task | null, ...)`.
 *
 * Declarations, interface members, function types and every call whose
 * resolved signature is one of them are rewritten together, in src/, bench/
 * and test/ (the files tsconfig.test.json covers). It is idempotent: run it
 * again after a rebase to convert code that arrived meanwhile, then
 * `npm run typecheck` and, for the imports of Kernel left unused,
 *   npx tsc -p tsconfig.test.json | node scripts/codemod/prune-imports.mjs
 *
 * A declaration whose first line carries the comment `kernel-convention:
 * exempt` is left as it is, with its calls.
 *
 * Usage: node scripts/codemod/kernel-convention.mjs [--dry-run]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import ts from 'typescript';

const dryRun = process.argv.includes('--dry-run');
const cfg = ts.getParsedCommandLineOfConfigFile('tsconfig.test.json', {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(String(d.messageText)); } });
const program = ts.createProgram(cfg.fileNames, { ...cfg.options, noEmit: true, incremental: false });
const checker = program.getTypeChecker();
const ours = (sf) => !sf.isDeclarationFile && !sf.fileName.includes('/node_modules/');

/** The type of a parameter as written, or as inferred from its context when not annotated. */
function paramType(p) {
  if (p.type) return p.type.getText().replace(/\s+/g, ' ');
  return checker.typeToString(checker.getTypeAtLocation(p.name));
}

const isFunctionLike = (n) =>
  ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n) ||
  ts.isMethodSignature(n) || ts.isFunctionTypeNode(n) || ts.isCallSignatureDeclaration(n) || ts.isPropertySignature(n);

/** declaration node -> { kind: 'drop', k, t } | { kind: 'swap' } */
const targets = new Map();
for (const sf of program.getSourceFiles()) {
  if (!ours(sf)) continue;
  const visit = (n) => {
    // A declaration whose first line says `kernel-convention: exempt` is left alone (initKernelTask sets t.k).
    const firstLine = n.getText(sf).split('\n')[0];
    if (isFunctionLike(n) && !ts.isPropertySignature(n) && n.parameters.length >= 2 && !firstLine.includes('kernel-convention: exempt')) {
      const [p0, p1] = n.parameters;
      const a = paramType(p0);
      const b = paramType(p1);
      if (!p0.dotDotDotToken && !p1.dotDotDotToken && ts.isIdentifier(p0.name) && ts.isIdentifier(p1.name)) {
        if (a === 'Kernel' && b === 'Task') targets.set(n, { kind: 'drop', k: 0, t: 1 });
        else if (a === 'Task' && b === 'Kernel') targets.set(n, { kind: 'drop', k: 1, t: 0 });
        else if (a === 'Task | null' && b === 'Kernel') targets.set(n, { kind: 'swap' });
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}

/** file -> [start, end, replacement] */
const edits = new Map();
function edit(sf, start, end, text) {
  if (!edits.has(sf.fileName)) edits.set(sf.fileName, []);
  edits.get(sf.fileName).push([start, end, text]);
}

/** Remove list element i of `nodes` (parameters or arguments) with its separating comma. */
function removeElement(sf, nodes, i) {
  if (nodes.length === 1) edit(sf, nodes[0].getStart(sf), nodes[0].getEnd(), '');
  else if (i < nodes.length - 1) edit(sf, nodes[i].getStart(sf), nodes[i + 1].getStart(sf), '');
  else edit(sf, nodes[i - 1].getEnd(), nodes[i].getEnd(), '');
}

function swapFirstTwo(sf, nodes) {
  const a = nodes[0].getText(sf);
  const b = nodes[1].getText(sf);
  edit(sf, nodes[0].getStart(sf), nodes[0].getEnd(), b);
  edit(sf, nodes[1].getStart(sf), nodes[1].getEnd(), a);
}

/** Identifiers in `body` that refer to the parameter `param`. */
function referencesTo(param, body) {
  const sym = checker.getSymbolAtLocation(param.name);
  const out = [];
  const visit = (n) => {
    if (ts.isIdentifier(n) && n !== param.name) {
      const s = ts.isShorthandPropertyAssignment(n.parent) && n.parent.name === n ? checker.getShorthandAssignmentValueSymbol(n.parent) : checker.getSymbolAtLocation(n);
      if (s === sym) out.push(n);
    }
    ts.forEachChild(n, visit);
  };
  visit(body);
  return out;
}

let declared = 0;
const problems = [];
const pendingDecls = [];
for (const [fn, how] of targets) {
  const sf = fn.getSourceFile();
  declared++;
  if (how.kind === 'swap') {
    swapFirstTwo(sf, fn.parameters);
    continue;
  }
  const kParam = fn.parameters[how.k];
  const tName = fn.parameters[how.t].name.text;
  const kName = kParam.name.text;
  // Parameters after the pair may use k in their defaults.
  for (const p of fn.parameters.slice(2)) if (p.initializer && referencesTo(kParam, p.initializer).length) problems.push(`${sf.fileName}: ${kName} used in a default of ${p.name.getText(sf)}`);
  removeElement(sf, fn.parameters, how.k);
  const body = fn.body;
  if (!body) continue;
  const refs = referencesTo(kParam, body);
  if (refs.length === 0) continue;
  if (ts.isBlock(body)) {
    const first = body.statements[0];
    const line = sf.getLineAndCharacterOfPosition(first ? first.getStart(sf) : body.getEnd());
    const indent = first ? ' '.repeat(line.character) : '  ';
    // Added only if a use of k outlives the call edits (a k passed on to a converted function goes with its argument).
    pendingDecls.push({ sf, pos: body.getStart(sf) + 1, text: `\n${indent}const ${kName} = ${tName}.k;`, refs: refs.map((r) => [r.getStart(sf), r.getEnd()]) });
  } else {
    for (const r of refs) {
      if (ts.isShorthandPropertyAssignment(r.parent)) edit(sf, r.getStart(sf), r.getEnd(), `${kName}: ${tName}.k`);
      else edit(sf, r.getStart(sf), r.getEnd(), `${tName}.k`);
    }
  }
}

let calls = 0;
for (const sf of program.getSourceFiles()) {
  if (!ours(sf)) continue;
  const visit = (n) => {
    if (ts.isCallExpression(n)) {
      const sig = checker.getResolvedSignature(n);
      const decl = sig?.declaration;
      const how = decl && targets.get(decl);
      if (how && n.arguments.length >= 2 && !n.arguments.slice(0, 2).some(ts.isSpreadElement)) {
        calls++;
        if (how.kind === 'swap') swapFirstTwo(sf, n.arguments);
        else removeElement(sf, n.arguments, how.k);
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}

const deletedIn = (file, a, b) => (edits.get(file) ?? []).some(([da, db, r]) => r === '' && db > da && da <= a && b <= db);
for (const d of pendingDecls) {
  if (d.refs.some(([a, b]) => !deletedIn(d.sf.fileName, a, b))) edit(d.sf, d.pos, d.pos, d.text);
}

let files = 0;
for (const [file, list] of edits) {
  // An edit inside a range another edit deletes (a use of k in an argument that goes) is dropped.
  const deleted = list.filter(([a, b, r]) => r === '' && b > a);
  const kept = list.filter(([a, b]) => !deleted.some(([da, db]) => da <= a && b <= db && (da < a || b < db)));
  kept.sort((a, b) => b[0] - a[0] || b[1] - a[1]);
  for (let i = 1; i < kept.length; i++) {
    const [s1] = kept[i - 1];
    const [, e2] = kept[i];
    if (e2 > s1) problems.push(`${file}: overlapping edits at ${kept[i][0]}..${e2} and ${s1}; convert this call by hand`);
  }
  let text = readFileSync(file, 'utf8');
  for (const [a, b, r] of kept) text = text.slice(0, a) + r + text.slice(b);
  files++;
  if (!dryRun) writeFileSync(file, text);
}
console.log(`${declared} functions and signatures, ${calls} calls, in ${files} files${dryRun ? ' (dry run: nothing written)' : ''}`);
for (const p of problems) console.log(`check: ${p}`);
