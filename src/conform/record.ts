/**
 * Records the host kernel's output of every conformance script beside it
 * (NAME.json -> NAME.host.jsonl), after regenerating the generated scripts.
 * Each script runs twice and must print the same lines both times: output
 * that depends on timing is not a truth worth storing.
 *
 *   npm run conform:record [-- PATH...]     (default: test/conformance)
 */
import { writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hostOutputPath, listScriptFiles, loadScript } from '../workloads/script/files.js';
import { generatedScripts } from './generated.js';
import { runOnHost } from './host.js';
import { readHostKernelSettings } from './hostprofile.js';

export const SUITE_DIR = join('test', 'conformance');
/** Which kernel the stored outputs came from, so a failing re-run elsewhere can say why. */
export const RECORDED_ON = 'recorded-on.host.jsonl';

export function recordedOn(): { kernel: string; settings: object } {
  // The CPU count changes no script's output.
  const settings = readHostKernelSettings();
  delete settings.cpus;
  return { kernel: release(), settings };
}

export async function recordHostOutputs(paths: string[], log: (line: string) => void): Promise<number> {
  if (paths.length === 0) {
    for (const g of generatedScripts()) writeFileSync(join(SUITE_DIR, g.file), g.text);
    writeFileSync(join(SUITE_DIR, RECORDED_ON), JSON.stringify(recordedOn()) + '\n');
    paths = [SUITE_DIR];
  }
  let failures = 0;
  for (const file of listScriptFiles(paths)) {
    const script = loadScript(file);
    const first = await runOnHost(script);
    const second = await runOnHost(script);
    if (first.join('\n') !== second.join('\n')) {
      log(`${file}: output differs between two runs; not recorded`);
      failures++;
      continue;
    }
    writeFileSync(hostOutputPath(file), first.join('\n') + '\n');
    log(`${file}: ${first.length} lines`);
  }
  return failures;
}

async function main(): Promise<void> {
  try {
    const failures = await recordHostOutputs(process.argv.slice(2), (l) => process.stdout.write(l + '\n'));
    process.exitCode = failures === 0 ? 0 : 1;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = (e as Error).name === 'ScriptError' ? 2 : 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
