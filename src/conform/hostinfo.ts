/**
 * What `kernsim calibrate` reads about this host without measuring: the CPU
 * (model, count, clock), cache and TLB geometry (sysfs, else CPUID through
 * the small host-cpuid.c helper), and the kernel's settings (HZ, PTI, THP,
 * swap, the RCU force-quiescent-state intervals) and whether it runs in a
 * virtual machine. Each value keeps where it was read from, which becomes
 * the profile field's source.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ensureHostTool } from './host.js';

/** A value read from the host and where it came from. */
export interface Sourced<T> {
  value: T;
  source: string;
}

export interface CacheInfo {
  level: number;
  type: 'data' | 'unified';
  bytes: number;
  /** 0: fully associative; -1: not given. */
  ways: number;
  line: number;
  source: string;
}

export interface TlbInfo {
  level: number;
  page: '4k' | '2m';
  entries: number;
  /** 0: fully associative. */
  ways: number;
  source: string;
}

export interface HostInfo {
  model: string;
  kernel: string;
  cpus: Sourced<number>;
  clockGhz?: Sourced<number>;
  caches: CacheInfo[];
  tlbs: TlbInfo[];
  hz?: Sourced<number>;
  pti: Sourced<boolean>;
  /** CR4.PCIDE is usable: the CPU (or the vCPU the hypervisor gives) has the pcid flag. */
  pcid?: Sourced<boolean>;
  thp?: Sourced<'always' | 'madvise' | 'never'>;
  swap: Sourced<boolean>;
  /** The hypervisor's CPUID vendor string, when the CPU says it runs under one. */
  hypervisor?: Sourced<string>;
  rcuFirstFqs?: Sourced<number>;
  /** /sys/kernel/rcu_expedited: every synchronize_rcu runs as an expedited grace period. */
  rcuExpedited?: Sourced<boolean>;
  rcuNextFqs?: Sourced<number>;
  /** Levels below the root of this process's memory cgroup (0: the root, or no memory controller). */
  memcgDepth?: Sourced<number>;
}

/** The memory cgroup path of /proc/self/cgroup: cgroup v1's memory line, else v2's unified line when it has the memory controller. */
export function memcgPath(cgroup: string, v2Controllers: string | undefined): string | undefined {
  const lines = cgroup.trim().split('\n');
  const v1 = lines.map((l) => l.split(':')).find((f) => f.length >= 3 && f[1]!.split(',').includes('memory'));
  if (v1) return v1.slice(2).join(':');
  const v2 = lines.map((l) => l.split(':')).find((f) => f.length >= 3 && f[0] === '0' && f[1] === '');
  if (v2 && v2Controllers !== undefined && /\bmemory\b/.test(v2Controllers)) return v2.slice(2).join(':');
  return undefined;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function cpuinfoField(text: string, key: string): string | undefined {
  const m = new RegExp(`^${key}\\s*:\\s*(.*)$`, 'm').exec(text);
  return m?.[1]?.trim();
}

/** Caches of cpu0 from sysfs (index*: level, type, size, ways, line), data and unified only. */
function sysfsCaches(): CacheInfo[] {
  const dir = '/sys/devices/system/cpu/cpu0/cache';
  if (!existsSync(dir)) return [];
  const out: CacheInfo[] = [];
  for (const d of readdirSync(dir).filter((n) => n.startsWith('index')).sort()) {
    const f = (n: string) => read(join(dir, d, n))?.trim();
    const type = f('type');
    if (type !== 'Data' && type !== 'Unified') continue;
    const size = f('size') ?? '';
    const m = /^(\d+)([KMG]?)$/.exec(size);
    if (!m) continue;
    const mult = m[2] === 'K' ? 1024 : m[2] === 'M' ? 1 << 20 : m[2] === 'G' ? 1 << 30 : 1;
    out.push({
      level: Number(f('level')),
      type: type === 'Data' ? 'data' : 'unified',
      bytes: Number(m[1]) * mult,
      ways: Number(f('ways_of_associativity') ?? -1),
      line: Number(f('coherency_line_size') ?? 64),
      source: `${dir}/${d}`,
    });
  }
  return out;
}

interface CpuidInfo {
  vendor?: string;
  hypervisor?: string;
  caches: CacheInfo[];
  tlbs: TlbInfo[];
}

function cpuid(): CpuidInfo {
  const info: CpuidInfo = { caches: [], tlbs: [] };
  if (process.arch !== 'x64') return info;
  const bin = ensureHostTool('host-cpuid', ['host-cpuid.c']);
  const r = spawnSync(bin, { encoding: 'utf8' });
  if (r.status !== 0) return info;
  for (const line of r.stdout.split('\n')) {
    const w = line.split(' ');
    if (w[0] === 'vendor') info.vendor = w[1];
    else if (w[0] === 'hypervisor') info.hypervisor = w[1]!.replace(/_+$/, '').replace(/_/g, ' ');
    else if (w[0] === 'tlb' && w[2] === 'data' || w[0] === 'tlb' && w[2] === 'unified') {
      info.tlbs.push({ level: Number(w[1]), page: w[3] as '4k' | '2m', entries: Number(w[4]), ways: Number(w[5]), source: `CPUID (${info.vendor === 'AuthenticAMD' ? 'Fn8000_0005/6' : 'leaf 18H'})` });
    } else if (w[0] === 'cache') {
      info.caches.push({ level: Number(w[1]), type: w[2] as 'data' | 'unified', bytes: Number(w[3]), ways: Number(w[4]), line: Number(w[5]), source: `CPUID (${info.vendor === 'AuthenticAMD' ? 'Fn8000_0005/6' : 'leaf 4'})` });
    }
  }
  return info;
}

/** CONFIG_HZ from the kernel's config, where the host keeps it (/boot/config-RELEASE or /proc/config.gz). */
function configHz(rel: string): Sourced<number> | undefined {
  const boot = `/boot/config-${rel}`;
  let text = read(boot);
  let where = boot;
  if (text === undefined && existsSync('/proc/config.gz')) {
    try {
      text = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
      where = '/proc/config.gz';
    } catch {
      text = undefined;
    }
  }
  const m = text ? /^CONFIG_HZ=(\d+)$/m.exec(text) : null;
  return m ? { value: Number(m[1]), source: `${where} CONFIG_HZ` } : undefined;
}

/** ns per CPUID instruction, one sample per block (a VM exit's round trip in a guest). */
export function cpuidSamples(): number[] {
  if (process.arch !== 'x64') return [];
  const r = spawnSync(ensureHostTool('host-cpuid', ['host-cpuid.c']), ['--time'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout.split('\n').filter((l) => l.startsWith('cpuid_ns ')).map((l) => Number(l.split(' ')[1]));
}

/** The CPUs' summed time counters from /proc/stat: total and steal (the time a hypervisor ran something else). */
export function cpuTimes(): { total: number; steal: number } | undefined {
  const line = (read('/proc/stat') ?? '').split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice).
  return { total: f.slice(0, 8).reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
}

export function readHostInfo(): HostInfo {
  const cpuinfo = read('/proc/cpuinfo') ?? '';
  const model = cpuinfoField(cpuinfo, 'model name') ?? cpus()[0]?.model ?? 'unknown CPU';
  const kernel = `Linux ${release()}`;
  const n = cpus().length;
  const info: HostInfo = {
    model,
    kernel,
    cpus: { value: n, source: 'online CPUs (os.cpus(), /proc/cpuinfo)' },
    caches: [],
    tlbs: [],
    pti: { value: false, source: '' },
    swap: { value: false, source: '' },
  };
  const mhz = Number(cpuinfoField(cpuinfo, 'cpu MHz'));
  if (mhz > 0) info.clockGhz = { value: Math.round(mhz / 10) / 100, source: '/proc/cpuinfo "cpu MHz" of cpu0' };
  const id = cpuid();
  const fromSysfs = sysfsCaches();
  info.caches = fromSysfs.length > 0 ? fromSysfs : id.caches;
  info.tlbs = id.tlbs;
  const hz = configHz(release());
  if (hz) info.hz = hz;
  const meltdown = read('/sys/devices/system/cpu/vulnerabilities/meltdown')?.trim() ?? '';
  info.pti = { value: /PTI/.test(meltdown), source: `/sys/devices/system/cpu/vulnerabilities/meltdown: "${meltdown}"` };
  const flags = cpuinfoField(cpuinfo, 'flags');
  if (flags !== undefined) info.pcid = { value: /\bpcid\b/.test(flags), source: `/proc/cpuinfo flags (pcid ${/\bpcid\b/.test(flags) ? 'present' : 'absent'})` };
  const thp = /\[(always|madvise|never)\]/.exec(read('/sys/kernel/mm/transparent_hugepage/enabled') ?? '');
  if (thp) info.thp = { value: thp[1] as 'always' | 'madvise' | 'never', source: '/sys/kernel/mm/transparent_hugepage/enabled' };
  const swaps = (read('/proc/swaps') ?? '').trim().split('\n').length - 1;
  info.swap = { value: swaps > 0, source: `/proc/swaps (${swaps} device${swaps === 1 ? '' : 's'})` };
  if (id.hypervisor !== undefined || /\bhypervisor\b/.test(cpuinfoField(cpuinfo, 'flags') ?? '')) {
    info.hypervisor = { value: id.hypervisor ?? 'unknown', source: 'CPUID.1:ECX.hypervisor and leaf 40000000H' };
  }
  const exp = read('/sys/kernel/rcu_expedited')?.trim();
  if (exp === '0' || exp === '1') info.rcuExpedited = { value: exp === '1', source: '/sys/kernel/rcu_expedited' };
  const cgroup = read('/proc/self/cgroup');
  if (cgroup !== undefined) {
    const path = memcgPath(cgroup, read('/sys/fs/cgroup/cgroup.controllers'));
    const depth = path === undefined ? 0 : path.split('/').filter((s) => s !== '').length;
    info.memcgDepth = { value: depth, source: `/proc/self/cgroup (memory cgroup ${path ?? 'none'})` };
  }
  for (const [key, file] of [['rcuFirstFqs', 'jiffies_till_first_fqs'], ['rcuNextFqs', 'jiffies_till_next_fqs']] as const) {
    const v = Number(read(`/sys/module/rcutree/parameters/${file}`)?.trim());
    if (Number.isInteger(v) && v >= 0) info[key] = { value: v, source: `/sys/module/rcutree/parameters/${file}` };
  }
  return info;
}
