/**
 * The parsed form of a syscall script (spec/syscall-script.md): every argument
 * normalised to the number the kernel receives, so the simulator's
 * interpreter and the host runner never look at names again.
 */
export * from './constants.js';
import type { loff_t } from '../../kernel/fs/loff.js';
import type { CallName } from './calls/fields.js';
export { CALL_NAMES, type CallName } from './calls/fields.js';

/**
 * An address, fd or watch descriptor: either what an earlier op bound with
 * `as` plus a byte offset, or a plain number. Numbers may be negative; a
 * runner passes them to the kernel as the 64-bit two's complement
 * (so -1 as a length is SIZE_MAX, as in C).
 */
export type Ref = { name: string; offset: number } | { value: number };

/** RLIM_INFINITY in the parsed form (the kernel's ~0UL does not fit a double). */
export const RLIM_INFINITY = Infinity;

export interface MmapOp {
  op: 'mmap';
  as: string;
  pages: number;
  /** PROT_* bits. */
  prot: number;
  /** MAP_* bits. */
  flags: number;
  /** Absent for anonymous mappings (the runner passes -1). */
  fd?: Ref;
  /** Byte offset into the file (default 0). */
  offset: number;
  /** Start address: required by the spec with `fixed`; without it, a hint. */
  addr?: Ref;
}
export interface MunmapOp { op: 'munmap'; addr: Ref; len: number }
export interface MprotectOp { op: 'mprotect'; addr: Ref; len: number; prot: number }
export interface MadviseOp { op: 'madvise'; addr: Ref; len: number; advice: number }
export interface MlockOp { op: 'mlock' | 'munlock'; addr: Ref; len: number }
export interface FillOp { op: 'fill'; addr: Ref; len: number; byte: number }
export interface LoadOp { op: 'load'; addr: Ref }
export interface MincoreOp { op: 'mincore'; addr: Ref; len: number }
export interface OpenOp { op: 'open'; path: string; flags: number; mode: number; as?: string }
export interface CloseOp { op: 'close'; fd: Ref }
export interface DupOp { op: 'dup'; fd: Ref; as?: string }
export interface Dup2Op { op: 'dup2'; fd: Ref; newfd: Ref; as?: string }
export interface Dup3Op { op: 'dup3'; fd: Ref; newfd: Ref; flags: number; as?: string }
/** `arg` is a number, or a reference (an fd for F_DUPFD_QUERY). */
export interface FcntlOp { op: 'fcntl'; fd: Ref; cmd: number; arg: number | Ref; as?: string }
export interface WriteOp { op: 'write'; fd: Ref; len: number; byte: number }
export interface ReadOp { op: 'read'; fd: Ref; len: number }
export interface LseekOp { op: 'lseek'; fd: Ref; offset: loff_t; whence: number }
export interface FtruncateOp { op: 'ftruncate'; fd: Ref; len: loff_t }
export interface PathOp { op: 'unlink' | 'rmdir'; path: string }
export interface MkdirOp { op: 'mkdir'; path: string; mode: number }
export interface RenameOp { op: 'rename'; from: string; to: string }
export interface ChmodOp { op: 'chmod'; path: string; mode: number }
/** `cur`/`max` are RLIM_INFINITY (Infinity) for "infinity". */
export interface SetrlimitOp { op: 'setrlimit'; resource: number; cur: number; max: number }
export interface GetrlimitOp { op: 'getrlimit'; resource: number }
export interface InotifyInitOp { op: 'inotify_init1'; flags: number; as?: string }
export interface InotifyAddWatchOp { op: 'inotify_add_watch'; fd: Ref; path: string; mask: number; as?: string }
export interface InotifyRmWatchOp { op: 'inotify_rm_watch'; fd: Ref; wd: Ref }
export interface InotifyReadOp { op: 'inotify_read'; fd: Ref; bufsize: number }
export interface FionreadOp { op: 'fionread'; fd: Ref }
export interface ForkOp { op: 'fork'; ops: Op[] }
/**
 * execve: with `ops`, the running program executes itself again and the
 * new image runs `ops` (the process's list ends there); with `path`, an
 * execve of that file, which is not a program: the call fails.
 */
export interface ExecveOp { op: 'execve'; path?: string; ops?: Op[] }
/** membarrier(cmd, flags): MEMBARRIER_CMD_* by number (1: GLOBAL). */
export interface MembarrierOp { op: 'membarrier'; cmd: number; flags: number }

// Experiment ops (docs/scripts.md, Part 2): control flow and placement, not system calls of their own.
/** Runs `ops` `count` times in the same thread; prints the final iteration's lines. */
export interface RepeatOp { op: 'repeat'; count: number; ops: Op[] }
/** Starts a thread of the same process running `ops`, pinned to `cpu` when given. */
export interface ThreadOp { op: 'thread'; as: string; ops: Op[]; cpu?: number }
/** Ends the thread's `spin`, waits for it to exit, prints its lines. */
export interface JoinOp { op: 'join'; thread: Ref }
/** Keeps a thread running in user mode until its join starts. */
export interface SpinOp { op: 'spin' }
/** Moves the calling thread to `cpu` and keeps it there. */
export interface PinOp { op: 'pin'; cpu: number }
export type ControlOp = RepeatOp | ThreadOp | JoinOp | SpinOp | PinOp;
/** An op of calls/fields.ts, its fields normalised by the parser as v1's are. */
export interface CallOp { op: CallName; as?: string; [field: string]: unknown }

export type Op =
  | MmapOp | MunmapOp | MprotectOp | MadviseOp | MlockOp | FillOp | LoadOp | MincoreOp
  | OpenOp | CloseOp | DupOp | Dup2Op | Dup3Op | FcntlOp | WriteOp | ReadOp | LseekOp | FtruncateOp
  | PathOp | MkdirOp | RenameOp | ChmodOp | SetrlimitOp | GetrlimitOp
  | InotifyInitOp | InotifyAddWatchOp | InotifyRmWatchOp | InotifyReadOp | FionreadOp
  | ForkOp | ExecveOp | MembarrierOp | CallOp
  | ControlOp;

export type OpName = Op['op'];

export interface ParsedScript {
  name: string;
  ops: Op[];
  /** The script's `machine` block, untouched: the simulator validates it. */
  machine?: unknown;
  /** Every result line carries `time_ns` (top-level `"timing": true`); absent: false. */
  timing?: boolean;
  /** The lines may depend on how threads interleave: conform does not compare them; absent: false. */
  timingDependent?: boolean;
}
