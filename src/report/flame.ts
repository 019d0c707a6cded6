/**
 * The interactive flame graph of the HTML reports (drawn top-down, as an
 * icicle): click a box to zoom to it (click an ancestor row to zoom out),
 * search by name (regular expression or text) with the matched share of the
 * cycles, a kernel-only view that leaves out user-mode time, and colours by
 * subsystem (mm, fs, rcu, locking, irq, sched). A differential one, for
 * `compare --format html`, lays the boxes out by the second run's cycles and
 * colours each by how much it grew (red) or shrank (blue) against the first.
 *
 * The page stays self-contained: the tree is inline JSON and the script is
 * inline; without script, the server-drawn SVG is what shows.
 */
import type { BreakdownNode } from '../sim/attribution.js';
import { fmtCycles, fmtPct } from './format.js';
import { escXml } from './svg.js';

export const SUBSYSTEMS = ['mm', 'fs', 'rcu', 'locking', 'irq', 'sched', 'user', 'other'] as const;
export type Subsystem = (typeof SUBSYSTEMS)[number];

export const SUBSYSTEM_COLOURS: Record<Subsystem, string> = {
  mm: '#59a14f',
  fs: '#4e79a7',
  rcu: '#b07aa1',
  locking: '#e15759',
  irq: '#f28e2b',
  sched: '#edc948',
  user: '#c8c8c8',
  other: '#9c9c9c',
};

/** System calls of the memory-management subsystem (the rest named syscall:NAME are fs/fd calls). */
const MM_CALLS = /^(madvise|process_madvise|mmap|munmap|mremap|mprotect|brk|mincore|mlock2?|munlock|mlockall|munlockall|msync|fallocate|fadvise64|posix_fadvise|memfd_create|userfaultfd|move_pages|migrate_pages|mbind|set_mempolicy|pkey_\w+|membarrier|remap_file_pages)$/;

/** The subsystem a breakdown node belongs to, from its name (the kernel's function names). */
export function subsystemOf(name: string): Subsystem {
  if (name === 'user' || name.startsWith('user:')) return 'user';
  if (name.startsWith('syscall:')) return MM_CALLS.test(name.slice(8)) ? 'mm' : 'fs';
  if (/^(irq|ipi|ipi_handler|softirq)$|_ipi|flush_tlb_func|smp_call_function|interrupt|apic|vm_exit/.test(name)) return 'irq';
  if (/rcu/.test(name)) return 'rcu';
  if (/lock|mutex|rwsem|spin|semaphore|^down_|^up_|contend/.test(name)) return 'locking';
  if (/sched|context_switch|schedule|wake_up|idle|tick|migrat/.test(name)) return 'sched';
  if (/vfs|^fd|_fd|fdtable|file|inode|dentry|proc|notify|pipe|eventfd|path|namei|ext4|shmem_file|seq_|do_dup|dup|fcntl|open|close|read|write/.test(name)) return 'fs';
  if (/page|pte|pmd|pud|p4d|pgd|mm|madvise|fault|tlb|zap|alloc|free|map|swap|lru|folio|vma|clear|reclaim|shrink|kswapd|slab|kmalloc|vmalloc|ksm|thp|huge|walk|mem/.test(name)) return 'mm';
  return 'other';
}

/** A node as the script reads it: [name, inclusive, exclusive, subsystem index, children, delta against the baseline (diff only)]. */
type Packed = [string, number, number, number, Packed[], number?];

/** Nodes smaller than this share of the root are left out of the page (they would be under a tenth of a pixel). */
const MIN_SHARE = 1e-4;
const MAX_DEPTH = 40;

function pack(node: BreakdownNode, total: number, depth: number, diff: boolean, base?: BreakdownNode): Packed {
  const kids = depth >= MAX_DEPTH ? [] : node.children.filter((c) => total > 0 && c.inclusive / total >= MIN_SHARE);
  const p: Packed = [node.name, node.inclusive, node.exclusive, SUBSYSTEMS.indexOf(subsystemOf(node.name)), kids.map((c) => pack(c, total, depth + 1, diff, base?.children.find((b) => b.name === c.name)))];
  // A box only the new run has grew by all of it.
  if (diff) p[5] = node.inclusive - (base?.inclusive ?? 0);
  return p;
}

let nextId = 0;

/**
 * The flame graph's HTML: controls, the SVG (drawn here once, then by the
 * script), the tree as JSON. `base` makes it differential: `tree` is the new
 * run, `base` the old. Include FLAME_SCRIPT once on the page.
 */
export function flameGraphHtml(tree: BreakdownNode, opts: { chart?: string; base?: BreakdownNode } = {}): string {
  const id = `flame${nextId++}`;
  const data = { diff: opts.base !== undefined, colours: SUBSYSTEMS.map((s) => SUBSYSTEM_COLOURS[s]), names: SUBSYSTEMS, tree: pack(tree, tree.inclusive, 0, opts.base !== undefined, opts.base) };
  const legend = opts.base
    ? '<span class="swatch" style="background:#d62728"></span>grew <span class="swatch" style="background:#1f77b4"></span>shrank <span class="swatch" style="background:#ddd"></span>unchanged'
    : SUBSYSTEMS.map((s) => `<span class="swatch" style="background:${SUBSYSTEM_COLOURS[s]}"></span>${s}`).join(' ');
  // JSON inside a script element: escape '<' so no '</script>' in a name can end it.
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<div class="flame" id="${id}">
<div class="flame-controls"><input type="search" placeholder="search functions (text or regex)" aria-label="search functions"> <label><input type="checkbox" class="kernel-only"> kernel only (hide user)</label> <button type="button" class="reset">reset zoom</button> <span class="flame-info dim"></span></div>
<div class="legend dim">${legend}</div>
<svg class="chart icicle" data-chart="${escXml(opts.chart ?? 'breakdown')}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 960 20" width="100%" role="img" aria-label="flame graph">${staticBoxes(data.tree, data.diff)}</svg>
<script type="application/json" class="flame-data">${json}</script>
</div>`;
}

function fill(p: Packed, diff: boolean, maxDelta: number): string {
  if (!diff) return SUBSYSTEM_COLOURS[SUBSYSTEMS[p[3]]!];
  const d = p[5] ?? 0;
  if (d === 0 || maxDelta === 0) return '#ddd';
  const a = Math.min(1, Math.abs(d) / maxDelta);
  const light = Math.round(90 - 45 * a);
  return d > 0 ? `hsl(0 75% ${light}%)` : `hsl(210 75% ${light}%)`;
}

/** The first drawing, without script: every box at its share of the root. */
function staticBoxes(root: Packed, diff: boolean): string {
  const out: string[] = [];
  let maxDelta = 0;
  const scan = (p: Packed): void => {
    maxDelta = Math.max(maxDelta, Math.abs(p[5] ?? 0));
    p[4].forEach(scan);
  };
  if (diff) root[4].forEach(scan);
  const total = root[1];
  const walk = (p: Packed, x: number, w: number, depth: number): void => {
    if (w < 0.5) return;
    const tip = `${p[0]}\ninclusive ${fmtCycles(p[1])} cycles (${fmtPct(total > 0 ? p[1] / total : 0)})\nexclusive ${fmtCycles(p[2])} cycles${diff && depth > 0 ? `\nchange ${(p[5] ?? 0) >= 0 ? '+' : ''}${fmtCycles(p[5] ?? 0)} cycles` : ''}`;
    out.push(`<rect x="${x.toFixed(2)}" y="${depth * 20}" width="${Math.max(w - 1, 0.5).toFixed(2)}" height="19" rx="2" fill="${depth === 0 ? '#ccc' : fill(p, diff, maxDelta)}"><title>${escXml(tip)}</title></rect>`);
    let cx = x;
    for (const c of p[4]) {
      const cw = p[1] > 0 ? (c[1] / p[1]) * w : 0;
      walk(c, cx, cw, depth + 1);
      cx += cw;
    }
  };
  if (total > 0) walk(root, 0, 960, 0);
  return out.join('');
}

export const FLAME_CSS = `
.flame-controls{margin:4px 0;display:flex;flex-wrap:wrap;gap:10px;align-items:center}.flame-controls input[type=search]{width:260px}
.legend{margin:2px 0 6px;font-size:12px}.swatch{display:inline-block;width:10px;height:10px;margin:0 3px 0 8px;border-radius:2px;vertical-align:-1px}
svg.icicle rect{cursor:pointer}svg.icicle rect.dimmed{opacity:.3}svg.icicle rect.match{stroke:#000;stroke-width:1.5}
`;

/** The flame graphs' script: lays out every .flame on the page from its JSON, and on every zoom, search or view change. */
export const FLAME_SCRIPT = `<script>
(function () {
  var NS = 'http://www.w3.org/2000/svg', W = 960, ROW = 20;
  function fmt(n) { return Math.round(n).toLocaleString('en-US'); }
  function init(el) {
    var data = JSON.parse(el.querySelector('.flame-data').textContent);
    var svg = el.querySelector('svg'), search = el.querySelector('input[type=search]'), kernel = el.querySelector('.kernel-only');
    var info = el.querySelector('.flame-info'), zoom = [], re = null, memo = new Map(), kernelOnly = false;
    function isUser(p) { return data.names[p[3]] === 'user'; }
    function value(p) {
      if (!kernelOnly) return p[1];
      if (memo.has(p)) return memo.get(p);
      var v = isUser(p) ? 0 : p[2];
      for (var i = 0; i < p[4].length; i++) v += value(p[4][i]);
      memo.set(p, v);
      return v;
    }
    var maxDelta = 0;
    (function scan(p, d) { if (d > 0) maxDelta = Math.max(maxDelta, Math.abs(p[5] || 0)); p[4].forEach(function (c) { scan(c, d + 1); }); })(data.tree, 0);
    function colour(p, depth) {
      if (depth === 0) return '#ccc';
      if (!data.diff) return data.colours[p[3]];
      var d = p[5] || 0;
      if (d === 0 || maxDelta === 0) return '#ddd';
      var light = Math.round(90 - 45 * Math.min(1, Math.abs(d) / maxDelta));
      return d > 0 ? 'hsl(0 75% ' + light + '%)' : 'hsl(210 75% ' + light + '%)';
    }
    function draw() {
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      var path = [data.tree], node = data.tree;
      for (var i = 0; i < zoom.length; i++) {
        var next = node[4].filter(function (c) { return c[0] === zoom[i]; })[0];
        if (!next || value(next) === 0) { zoom = zoom.slice(0, i); break; }
        node = next;
        path.push(node);
      }
      var total = value(data.tree), matched = 0, rows = 0;
      function box(p, x, w, depth, parents, inMatch) {
        if (w < 0.5 || value(p) === 0) return;
        rows = Math.max(rows, depth + 1);
        var hit = re !== null && depth > 0 && re.test(p[0]);
        if (hit && !inMatch) matched += value(p);
        var r = document.createElementNS(NS, 'rect');
        r.setAttribute('x', x.toFixed(2)); r.setAttribute('y', depth * ROW);
        r.setAttribute('width', Math.max(w - 1, 0.5).toFixed(2)); r.setAttribute('height', ROW - 1); r.setAttribute('rx', 2);
        r.setAttribute('fill', colour(p, depth));
        r.setAttribute('data-name', p[0]);
        if (re !== null) r.setAttribute('class', hit ? 'match' : 'dimmed');
        var t = document.createElementNS(NS, 'title');
        t.textContent = (depth === 0 ? 'all CPUs' : parents.concat([p[0]]).slice(1).join(' > ')) + '\\ninclusive ' + fmt(value(p)) + ' cycles (' + (total > 0 ? (100 * value(p) / total).toFixed(1) : '0') + '%)\\nexclusive ' + fmt(p[2]) + ' cycles' +
          (data.diff && depth > 0 ? '\\nchange ' + ((p[5] || 0) >= 0 ? '+' : '') + fmt(p[5] || 0) + ' cycles' : '');
        r.appendChild(t);
        var names = parents.concat([p[0]]);
        r.addEventListener('click', function () { zoom = names.slice(1); draw(); });
        svg.appendChild(r);
        if (w > 40) {
          var tx = document.createElementNS(NS, 'text');
          tx.setAttribute('x', (x + 3).toFixed(2)); tx.setAttribute('y', depth * ROW + ROW - 6);
          tx.setAttribute('pointer-events', 'none');
          var label = depth === 0 ? 'all CPUs' : p[0], fit = Math.floor((w - 6) / 6.5);
          tx.textContent = label.length > fit ? label.slice(0, Math.max(0, fit - 1)) + '\\u2026' : label;
          svg.appendChild(tx);
        }
        return names;
      }
      // Ancestors of the zoomed box span the width (click one to zoom out); the zoomed box too, its descendants by share.
      var parents = [];
      for (var d = 0; d < path.length - 1; d++) { box(path[d], 0, W, d, parents.slice(), false); parents.push(path[d][0]); }
      (function layout(p, x, w, depth, ps, inMatch) {
        box(p, x, w, depth, ps, inMatch);
        var hit = inMatch || (re !== null && depth > 0 && re.test(p[0]));
        var v = value(p), cx = x;
        for (var i = 0; i < p[4].length; i++) {
          var c = p[4][i], cw = v > 0 ? value(c) / v * w : 0;
          layout(c, cx, cw, depth + 1, ps.concat([p[0]]), hit);
          cx += cw;
        }
      })(node, 0, W, path.length - 1, parents, false);
      svg.setAttribute('viewBox', '0 0 ' + W + ' ' + Math.max(1, rows) * ROW);
      var parts = [];
      if (zoom.length > 0) parts.push('zoomed to ' + zoom.join(' > '));
      if (re !== null) parts.push('matched ' + (total > 0 ? (100 * matched / total).toFixed(1) : '0') + '% of ' + (kernelOnly ? 'kernel ' : '') + 'cycles');
      info.textContent = parts.join('; ');
    }
    search.addEventListener('input', function () {
      var q = search.value.trim();
      try { re = q ? new RegExp(q, 'i') : null; } catch (e) { re = new RegExp(q.replace(/[.*+?^\${}()|[\\]\\\\]/g, '\\\\$&'), 'i'); }
      draw();
    });
    kernel.addEventListener('change', function () { kernelOnly = kernel.checked; memo = new Map(); draw(); });
    el.querySelector('.reset').addEventListener('click', function () { zoom = []; draw(); });
    draw();
  }
  document.querySelectorAll('.flame').forEach(init);
})();
</script>`;
