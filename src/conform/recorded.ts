/**
 * The kernel settings a suite's host outputs were recorded under
 * (recorded-on.host.jsonl beside the scripts): recorded outputs are judged
 * with those settings, not with the settings of the machine reading them.
 */
import { readFileSync } from 'node:fs';
import type { MachineConfig } from '../config/machine.js';
import { applyProfile } from '../config/profile.js';
import { hostSettingsOverlay } from './hostprofile.js';

export function applyRecordedSettings(base: MachineConfig, recordedOnFile: string): MachineConfig {
  const rec = JSON.parse(readFileSync(recordedOnFile, 'utf8').split('\n')[0]!) as { settings: Parameters<typeof hostSettingsOverlay>[0] };
  return applyProfile(base, hostSettingsOverlay(rec.settings), `recorded host settings (${recordedOnFile})`);
}
