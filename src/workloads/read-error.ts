/**
 * One wording, everywhere, for a file that cannot be read: "cannot read: no
 * such file or directory (ENOENT)" (the reason as strerror gives it, then the
 * errno name a user can search for).
 */
export function cannotRead(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const reason = (err.message ?? String(e)).replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
  return err.code ? `cannot read: ${reason} (${err.code})` : `cannot read: ${reason}`;
}
