/**
 * The fields of the script ops added after format v1 for further system
 * calls (docs/scripts.md, "More system calls"). The parser checks them as
 * it checks v1's; the host runner receives them in this order (each field
 * one argument: a reference, a number, a string, or `-` when an optional
 * one is absent; `as` is the slot the result binds); the simulator's
 * handlers are in this folder's mm.ts, fs.ts and proc.ts.
 *
 * This module imports the parser's types only: the parser imports it.
 */
import type { FieldSpec, Kind } from '../parse.js';
import { FD_FLAG_NAMES, OPEN_FLAG_NAMES } from '../constants.js';
import {
  AT_NAMES, CLOSE_RANGE_NAMES, EFD_NAMES, FADV_NAMES, FALLOC_NAMES, FLOCK_NAMES, F_OWNER_NAMES, LOCK_CMD_NAMES, LOCK_TYPE_NAMES, MCL_NAMES, MFD_NAMES, MLOCK2_NAMES, MREMAP_NAMES,
  MS_NAMES, RENAME_NAMES, SA_NAMES, SEAL_NAMES, SIG_HANDLER_NAMES, SIG_HOW_NAMES, SIGNAL_NAMES, SIGSET_NAMES,
} from './uapi.js';

const req = (kind: Kind): FieldSpec => ({ kind, required: true });
const opt = (kind: Kind, def?: number): FieldSpec => (def === undefined ? { kind, required: false } : { kind, required: false, default: def });
const flags = (table: Readonly<Record<string, number>>, what: string, def?: number): FieldSpec =>
  def === undefined ? { kind: 'flagset', required: true, table, what } : { kind: 'flagset', required: false, default: def, table, what };
const named = (table: Readonly<Record<string, number>>, what: string): FieldSpec => ({ kind: 'named', required: true, table, what });

const DIRFD = opt('ref', -100);
const AT = flags(AT_NAMES, 'an AT_ flag', 0);

/** Every op of this folder: its fields, in the order the host runner receives them. */
export const CALL_FIELDS = {
  // ---- memory ----
  brk: { addr: opt('ref'), as: opt('as') },
  mlock2: { addr: req('ref'), len: req('int'), flags: flags(MLOCK2_NAMES, 'an mlock2 flag') },
  mlockall: { flags: flags(MCL_NAMES, 'an mlockall flag') },
  munlockall: {},
  memfd_create: { name: req('str'), flags: flags(MFD_NAMES, 'a memfd_create flag'), as: opt('as') },
  msync: { addr: req('ref'), len: req('int'), flags: flags(MS_NAMES, 'an msync flag') },
  mseal: { addr: req('ref'), len: req('int'), flags: opt('int', 0) },
  mremap: { addr: req('ref'), old_len: req('int'), new_len: req('int'), flags: flags(MREMAP_NAMES, 'an mremap flag'), new_addr: opt('ref'), as: opt('as') },
  smaps: { addr: req('ref') },
  pagemap: { addr: req('ref'), pages: req('int') },
  // ---- processes ----
  exit: { status: req('int') },
  kill: { sig: named(SIGNAL_NAMES, 'a signal') },
  // ---- files ----
  pread: { fd: req('ref'), len: req('int'), offset: req('loff') },
  pwrite: { fd: req('ref'), len: req('int'), byte: req('byte'), offset: req('loff') },
  fsync: { fd: req('ref') },
  fchmod: { fd: req('ref'), mode: req('mode') },
  fstat: { fd: req('ref') },
  newfstatat: { dirfd: DIRFD, path: req('path'), flags: AT },
  fdatasync: { fd: req('ref') },
  fallocate: { fd: req('ref'), mode: flags(FALLOC_NAMES, 'a fallocate mode'), offset: req('loff'), len: req('loff') },
  posix_fadvise: { fd: req('ref'), offset: req('int'), len: req('int'), advice: named(FADV_NAMES, 'an advice') },
  pipe2: { flags: flags(OPEN_FLAG_NAMES, 'an open flag'), as: opt('as'), wr: opt('as') },
  eventfd: { initval: req('int'), flags: flags(EFD_NAMES, 'an eventfd flag'), as: opt('as') },
  close_range: { fd: req('ref'), max: req('ref'), flags: flags(CLOSE_RANGE_NAMES, 'a close_range flag') },
  openat: { dirfd: DIRFD, path: req('path'), flags: req('open_flags'), mode: opt('mode', 0o644), as: opt('as') },
  statx: { dirfd: DIRFD, path: req('path'), flags: AT, mask: opt('int', 0x7ff) },
  readv: { fd: req('ref'), lens: req('ints') },
  writev: { fd: req('ref'), lens: req('ints'), byte: req('byte') },
  getdents64: { fd: req('ref'), count: req('int') },
  renameat2: { olddirfd: DIRFD, from: req('path'), newdirfd: DIRFD, to: req('path'), flags: flags(RENAME_NAMES, 'a renameat2 flag', 0) },
  link: { from: req('path'), to: req('path') },
  linkat: { olddirfd: DIRFD, from: req('path'), newdirfd: DIRFD, to: req('path'), flags: AT },
  symlink: { target: req('str'), path: req('path') },
  symlinkat: { target: req('str'), dirfd: DIRFD, path: req('path') },
  readlink: { path: req('path'), bufsiz: opt('int', 4096) },
  readlinkat: { dirfd: DIRFD, path: req('path'), bufsiz: opt('int', 4096) },
  unlinkat: { dirfd: DIRFD, path: req('path'), flags: AT },
  fdinfo: { fd: req('ref') },
  fcntl_lock: {
    fd: req('ref'), cmd: named(LOCK_CMD_NAMES, 'a record-lock command'), type: named(LOCK_TYPE_NAMES, 'a lock type'),
    whence: opt('whence', 0), start: req('loff'), len: req('loff'), pid: opt('int', 0),
  },
  flock: { fd: req('ref'), operation: flags(FLOCK_NAMES, 'a flock operation') },
  setown: { fd: req('ref'), who: req('str'), type: { kind: 'named', required: false, default: -1, table: F_OWNER_NAMES, what: 'an owner type' } },
  getown: { fd: req('ref') },
  // ---- signals ----
  sigaction: { sig: named(SIGNAL_NAMES, 'a signal'), handler: named(SIG_HANDLER_NAMES, 'a disposition'), flags: flags(SA_NAMES, 'an sa_flag', 0) },
  sigprocmask: { how: named(SIG_HOW_NAMES, 'a how'), set: flags(SIGSET_NAMES, 'a signal') },
  setitimer: { usec: req('int') },
  nanosleep: { ns: req('int') },
  await_signal: { sig: named(SIGNAL_NAMES, 'a signal'), count: opt('int', 1) },
  caught: { sig: named(SIGNAL_NAMES, 'a signal') },
  truncate: { path: req('path'), len: req('loff') },
  procfile: { path: req('path') },
} as const satisfies Record<string, Record<string, FieldSpec>>;

export type CallName = keyof typeof CALL_FIELDS;

export const CALL_NAMES = Object.keys(CALL_FIELDS) as CallName[];

// Tables the later ops use; named here so one import serves them all.
void [FD_FLAG_NAMES, SEAL_NAMES];
