// Placeholder until the pipeline lands: prints the version. Replaced by the demo replay.
import { packageVersion } from './version-command.js';

export async function run(): Promise<number> {
  process.stdout.write(`callhook ${packageVersion()}\n`);
  return 0;
}
