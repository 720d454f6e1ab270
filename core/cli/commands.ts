// The table of `callhook` subcommands. Each command lives in its own module and is imported lazily,
// so `callhook --help` stays fast and a broken optional part cannot stop the others from running.
export interface CommandModule {
  /** Runs the command with its own arguments (everything after the command name); returns the exit code. */
  run(argv: string[]): Promise<number>;
}

export interface CommandEntry {
  summary: string;
  usage: string;
  load(): Promise<CommandModule>;
}

export const commands: Record<string, CommandEntry> = {
  run: {
    summary: 'run the connector: CEL → calls → hooks at every stage; prints each call with every hook decision (until the CRM pipeline exists, nothing is sent to a CRM)',
    usage: 'callhook run [--settings file.json] [--json]',
    load: () => import('./run-command.js'),
  },
  init: {
    summary: 'scaffold a hooks folder (tsconfig + typed starter hook) for editor autocompletion',
    usage: 'callhook init [dir]',
    load: () => import('./init-command.js'),
  },
  check: {
    summary: 'type-check every hook in a folder; prints file:line:col: message, exits 1 on errors',
    usage: 'callhook check [dir]',
    load: () => import('./check-command.js'),
  },
  replay: {
    summary: 'assemble a recorded CEL file (JSONL/CSV) into calls: a table, or --out calls.jsonl with call_full per call',
    usage: 'callhook replay <file> [--settings settings.json] [--out calls.jsonl] [--stages]',
    load: () => import('./replay-command.js'),
  },
  settings: {
    summary: 'validate a settings file and print the effective settings (defaults filled in, secrets masked)',
    usage: 'callhook settings [--settings settings.json]',
    load: () => import('./settings-command.js'),
  },
  try: {
    summary: 'run one hook file in the sandbox and print its result, logs and timing (or the mapped error)',
    usage: 'callhook try <hook.ts> (--input <input.json> | --call <call_full.json> [--stage STAGE]) [--hook NAME] [--root DIR] [--allow-host HOST]... [--settings-json JSON] [--json]',
    load: () => import('./try-command.js'),
  },
  version: {
    summary: 'print the version',
    usage: 'callhook version',
    load: () => import('./version-command.js'),
  },
};
