import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function run(): Promise<number> {
  process.stdout.write(`callhook ${packageVersion()} (node ${process.version})\n`);
  return 0;
}
