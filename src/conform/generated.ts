/**
 * Conformance scripts too long to write by hand, generated from code so the
 * reason for every op count stays readable.
 */
export interface GeneratedScript {
  /** File name inside the suite directory. */
  file: string;
  text: string;
}

/** A script file in the suite's layout: top-level keys on their own lines, one op per line. */
export function scriptText(name: string, description: string, ops: object[]): string {
  const body = ops.map((o) => '    ' + JSON.stringify(o)).join(',\n');
  return `{\n  "kernsim_script": 1,\n  "name": ${JSON.stringify(name)},\n  "description": ${JSON.stringify(description)},\n  "ops": [\n${body}\n  ]\n}\n`;
}

/** sizeof(struct inotify_event): wd, mask, cookie, len. */
const EVENT_HEAD = 16;

/**
 * IN_Q_OVERFLOW needs a queue of fs.inotify.max_queued_events (16384 by
 * default) events. Each write to a file watched both directly and through its
 * directory queues two IN_MODIFY events that differ from each other, so none
 * is coalesced with the one before it. One plain read then drains exactly the
 * real events (their bytes hold no cookies, so their sum is stable), leaving
 * the overflow event for inotify_read to show.
 */
export function inotifyOverflowScript(maxQueuedEvents = 16384): GeneratedScript {
  const writes = maxQueuedEvents / 2;
  // The directory's event carries the name "f" padded to one 16-byte block.
  const realBytes = writes * (EVENT_HEAD + 16) + writes * EVENT_HEAD;
  const ops: object[] = [
    { op: 'inotify_init1', flags: ['nonblock'], as: 'I' },
    { op: 'open', path: 'f', flags: ['wronly', 'creat'], as: 'F' },
    { op: 'inotify_add_watch', fd: '$I', path: '.', mask: ['modify'], as: 'WD' },
    { op: 'inotify_add_watch', fd: '$I', path: 'f', mask: ['modify'], as: 'WF' },
  ];
  for (let k = 0; k < writes + 1; k++) ops.push({ op: 'write', fd: '$F', len: 1, byte: 1 });
  ops.push(
    { op: 'fionread', fd: '$I' },
    { op: 'read', fd: '$I', len: realBytes },
    { op: 'inotify_read', fd: '$I', bufsize: 4096 },
    { op: 'inotify_read', fd: '$I', bufsize: 4096 },
  );
  return {
    file: 'inotify-queue-overflow.json',
    text: scriptText(
      'inotify-queue-overflow',
      `${writes + 1} writes queue ${maxQueuedEvents} IN_MODIFY events (fs.inotify.max_queued_events) and then one IN_Q_OVERFLOW; read drains the real events, inotify_read shows the overflow event (wd -1), then EAGAIN`,
      ops,
    ),
  };
}

export function generatedScripts(): GeneratedScript[] {
  return [inotifyOverflowScript()];
}
