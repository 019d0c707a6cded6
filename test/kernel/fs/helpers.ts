/** Shared set-up for the VFS tests: a booted kernel, a process running a body, and small syscall wrappers. */
import { defaultConfig, type MachineConfig } from '../../../src/config/machine.js';
import { bootKernel } from '../../../src/kernel/boot.js';
import { sys_close, sys_open } from '../../../src/kernel/fs/fd_syscalls.js';
import type { TextBuf } from '../../../src/kernel/fs/seq_file.js';
import { sys_read } from '../../../src/kernel/fs/read_write.js';
import type { Kernel } from '../../../src/kernel/kernel.js';
import { current, type Cred, type TaskStruct } from '../../../src/kernel/sched/task_struct.js';
import type { Blocking, Task } from '../../../src/sim/task.js';

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_TRUNC = 0o1000;
export const O_NONBLOCK = 0o4000;

export function testConfig(over: (c: MachineConfig) => void = () => {}): MachineConfig {
  const c = defaultConfig();
  c.cpus = 2;
  over(c);
  return c;
}

/** Boots a kernel, runs `body` as a process on CPU 0 (which exits afterwards), runs the engine to the end. */
export function runProcess(body: (t: Task, ts: TaskStruct) => Blocking<void>, cfg: MachineConfig = testConfig(), cred?: Partial<Cred>): Kernel {
  const k = bootKernel(cfg);
  k.spawnProcess(
    'test',
    function* (t) {
      const ts = current(t);
      yield* body(t, ts);
      yield* k.exit(t, ts);
    },
    { cpu: 0, pinned: true, cred },
  );
  k.run();
  return k;
}

/** Reads a whole (small) file as text. */
export function* readText(t: Task, path: string): Blocking<string | number> {
  const fd = yield* sys_open(t, path, O_RDONLY, 0);
  if (fd < 0) return fd;
  const buf: TextBuf = { sum: 0, text: '' };
  for (;;) {
    const n = yield* sys_read(t, fd, 65536, buf);
    if (n <= 0) break;
  }
  yield* sys_close(t, fd);
  return buf.text!;
}
