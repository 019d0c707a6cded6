/**
 * seq_file, after fs/seq_file.c, in its single_open form: the file's text
 * is produced by `show` on the first read (and again after a seek to 0),
 * kept in the seq_file's buffer, and handed out from the file position.
 *
 * Costs: `show` charges what it reads (the structures it walks); building
 * each line is one kernel_op; the copy to the reader is priced like a page
 * copy, per byte.
 */
import { loffAdd, type loff_t } from './loff.js';
import { intern } from '../../sim/attribution.js';
import type { Blocking, Task } from '../../sim/task.js';
import { EINVAL } from '../errno.js';
import { io_push_bytes, type File, type FilePos, type IoBuf } from './file_table.js';
import { file_vfs } from './vfs_file.js';
import { PAGE_SIZE } from '../../hw/types.js';
import { FMODE_PWRITE } from './uapi_fcntl.js';

const CAT_SEQ_READ = intern('seq_read');
const CAT_SHOW = intern('seq_show');

/** What a show function writes into. */
export class SeqBuf {
  private readonly parts: string[] = [];
  lines = 0;
  /** The text is bytes one character each (a task's name: any byte but NUL), not UTF-8. */
  latin1 = false;

  /** seq_printf(): one line (a newline is added). */
  line(s: string): void {
    this.parts.push(s, '\n');
    this.lines++;
  }

  text(): string {
    return this.parts.join('');
  }
}

/** A show function: writes its lines; may return -errno instead (a /proc/PID file whose task is gone: -ESRCH), which the read returns. */
export type ShowFn = (t: Task, m: SeqBuf) => void | number;

/** struct seq_file. */
export class SeqFile {
  buf: Buffer | null = null;

  constructor(readonly show: ShowFn) {}
}

/** An IoBuf that also wants the text read (workloads reading /proc). */
export interface TextBuf extends IoBuf {
  text?: string;
}

/** single_open(): attach a seq_file with `show` to the file. */
export function single_open(file: File, show: ShowFn): number {
  file_vfs(file).priv = new SeqFile(show);
  // seq_open(): a seq_file may seek and pread but not pwrite (ESPIPE).
  file.f_mode &= ~FMODE_PWRITE;
  return 0;
}

function seqOf(file: File): SeqFile {
  return file_vfs(file).priv as SeqFile;
}

/** seq_read(). */
export function* seq_read(t: Task, file: File, len: number, buf: IoBuf | null, ppos: FilePos = file): Blocking<number> {
  const v = file_vfs(file);
  const k = v.k;
  const m = seqOf(file);
  t.enter(CAT_SEQ_READ);
  if (!m.buf) {
    t.enter(CAT_SHOW);
    const sb = new SeqBuf();
    const err = m.show(t, sb);
    t.charge(sb.lines * k.cfg.kernel.cost.kernel_op);
    if (typeof err === 'number' && err < 0) {
      t.leave();
      t.leave();
      return err;
    }
    m.buf = Buffer.from(sb.text(), sb.latin1 ? 'latin1' : 'utf8');
    t.leave();
  }
  // A position past 2^53 (a seek there) is past the text.
  const pos = typeof ppos.f_pos === 'number' ? ppos.f_pos : m.buf.length;
  const n = Math.max(0, Math.min(len, m.buf.length - pos));
  if (n > 0) {
    t.charge(Math.ceil((k.cfg.cost.copy_page * n) / PAGE_SIZE));
    if (buf) {
      for (let i = pos; i < pos + n; i++) buf.sum += m.buf[i]!;
      io_push_bytes(buf, m.buf, pos, pos + n);
      const tb = buf as TextBuf;
      if (tb.text !== undefined) tb.text += m.buf.toString('utf8', pos, pos + n);
    }
    ppos.f_pos = pos + n;
  }
  t.leave();
  return n;
}

/** seq_lseek(): SEEK_SET and SEEK_CUR; going back to 0 makes the next read show afresh. */
export function* seq_lseek(_t: Task, file: File, offset: loff_t, whence: number): Blocking<loff_t> {
  if (whence === 1) offset = loffAdd(offset, file.f_pos);
  else if (whence !== 0) return -EINVAL;
  if (offset < 0) return -EINVAL;
  if (offset === 0) seqOf(file).buf = null;
  file.f_pos = offset;
  return offset;
}

/** single_release(). */
export function* single_release(_t: Task, file: File): Blocking<number> {
  file_vfs(file).priv = null;
  return 0;
}
