#!/usr/bin/env node
import { existsSync } from 'node:fs';

// A fresh clone has no dist/ until the first build: say so in one line rather than with an import stack trace.
const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('kernsim: not built yet: run npm run build (or npm start) first\n');
  process.exit(2);
}
// `kernsim sweep --jobs N`: start the workers now, so they load the simulator while this thread loads the command line.
const { prestartSweepWorkers } = await import(new URL('../dist/src/cli/sweep-pool.js', import.meta.url).href);
prestartSweepWorkers(process.argv.slice(2));
const { main } = await import(entry.href);

// A reader that goes away (`kernsim conform | head`) is not an error: stop quietly, as other tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await main(process.argv.slice(2));
