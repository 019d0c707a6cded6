/**
 * struct fown_struct, the part of a file that says who gets its signals
 * (fs/fcntl.c): the owner F_SETOWN (or a lease) set and the F_SETSIG
 * signal, made at first use.
 */
import type { File } from './file_table.js';
import { FASYNC } from './uapi_fcntl.js';

export interface FileFown {
  /** A process's tgid (a negative number: a process group). */
  ownerPid: number;
  /** F_SETSIG's signal; 0: SIGIO. */
  signum: number;
}

/** The file's fown_struct. */
export function file_fown(f: File): FileFown {
  const x = f as File & { fcntlState?: FileFown };
  if (!x.fcntlState) x.fcntlState = { ownerPid: 0, signum: 0 };
  return x.fcntlState;
}

/** lease_setup(): on the fasync list (FASYNC) and the caller's process the owner (__f_setown). */
export function fown_set(f: File, tgid: number): void {
  file_fown(f).ownerPid = tgid;
  f.f_flags |= FASYNC;
}

/** lease_modify(F_UNLCK): f_delown, the signal back to SIGIO, off the fasync list. */
export function fown_clear(f: File): void {
  const st = file_fown(f);
  st.ownerPid = 0;
  st.signum = 0;
  f.f_flags &= ~FASYNC;
}
