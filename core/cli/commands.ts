// The table of `callhook` subcommands. Each command lives in its own module and is imported lazily,
// so `callhook --help` stays fast and a broken optional part cannot stop the others from running.
import { CALL_STAGES, EXTRA_STAGES } from '../../hooks/catalogue.js';
import { HOOKS_FOLDER_RULE } from './folder-rule.js';

export interface CommandModule {
  /** Runs the command with its own arguments (everything after the command name); returns the exit code. */
  run(argv: string[]): Promise<number>;
}

export interface CommandEntry {
  summary: string;
  usage: string;
  /** `callhook <command> --help`: what it does step by step, the options with their defaults, an example. */
  help: string;
  load(): Promise<CommandModule>;
}

const STAGES = `stages: ${[...CALL_STAGES, ...EXTRA_STAGES].join(', ')} (each hook point runs at some of them; docs/hooks.md)`;

export const commands: Record<string, CommandEntry> = {
  run: {
    summary: 'run the connector: CEL → calls → hooks at every stage → the CRM (through the durable outbox); prints each call with every hook decision and CRM request',
    usage: 'callhook run [--settings file.json]... [--json]',
    help: `Reads CEL (the settings' cel.source), assembles calls, runs the hooks at every stage and delivers each
call to the CRM (crm.type) through the outbox in the connector store; prints each processed call with every
hook decision and every CRM request and answer. A replay ends when every call is delivered; a live source
runs until SIGINT/SIGTERM (reading stops, steps in flight finish, the rest waits in the store).
Before the first row: the settings are validated, and what the hooks section names on disk (folder, packs and
their settings, file names) is checked; any problem stops the run, naming the settings file and key.
  --settings FILE  the settings file (default: none = the demo: bundled CEL sample + example hooks + a local
                   demo Bitrix24 started for the run + a temporary embedded store)
                   several --settings: one PBX/CRM pair each, in this process, isolated from each other
                   (each a live mariadb source; lines carry the pair, named after its file)
  --json           one JSON line per call (call_full, every stage's trace, the outbox entries) instead of text
With a MariaDB store, instances with the same settings compete for the PBX's lease: one leads, the others
stand by and take over when it stops (docs/failover.md).
${HOOKS_FOLDER_RULE}
example: callhook run --settings /etc/callhook/settings.json`,
    load: () => import('./run-command.js'),
  },
  reprocess: {
    summary: 'process calls of a period or by id again, from CEL; what the CRM already has is not sent again',
    usage: 'callhook reprocess (--from "YYYY-MM-DD HH:MM:SS" [--to "YYYY-MM-DD HH:MM:SS"] | --id LINKEDID...) [--settings file.json] [--json]',
    help: `Reads the CEL rows of the chosen calls again (every row of a call, also outside the period), assembles
them, and runs each call through the hooks and the CRM pipeline as a new run: the hooks decide again, every
CRM action the outbox already has an answer for is reused, not sent (running it twice registers nothing
twice). Use it for calls the connector missed (it was off, a first install), parked calls, or after fixing a
hook. Stop the running connector first (both would work the same store).
  --from TIME      calls with a CEL row at or after this PBX-local time
  --to TIME        ... and at or before this one (default: no end)
  --id LINKEDID    this call (repeat for more); instead of --from/--to
  --settings FILE  the settings file (the same as the connector's: CEL source, store, CRM)
  --json           one JSON line per call, as callhook run --json
example: callhook reprocess --settings settings.json --from "2026-11-24 06:00:00" --to "2026-11-24 07:00:00"`,
    load: () => import('./reprocess-command.js'),
  },
  whatif: {
    summary: 'what a changed hook file would have decided on the recorded calls (sandboxed, nothing sent to the CRM): the calls where its decision differs',
    usage: 'callhook whatif <hook.ts> [--from "YYYY-MM-DD HH:MM:SS" --to "YYYY-MM-DD HH:MM:SS" | --id LINKEDID...] [--limit N] [--settings settings.json] [--json]',
    help: `Loads <hook.ts> as the connector would, in place of the file of that name in the hooks folder (the other
hooks, packs and settings as they are), and runs its point again on the input the live hooks saw in each
recorded call of the connector store (store section of the settings). Prints each call, stage and point where
the point's decision differs from the live one, with every hook's answer; nothing is sent to the CRM. What
the changed decision would have caused later in the call is not simulated.
  --from/--to TIME  calls that started in this PBX-local period (default: all recorded, newest 10,000)
  --id LINKEDID     this call (repeat for more)
  --limit N         at most N calls (default 10000)
  --settings FILE   the connector's settings (its store and hooks folder)
  --json            the whole result as one JSON object
example: callhook whatif hooks/need_registration.blacklist.ts --settings settings.json --from "2026-11-01 00:00:00"`,
    load: () => import('./whatif-command.js'),
  },
  'hash-password': {
    summary: 'print the scrypt hash of a password for http.users[].password_hash (the admin page sign-in)',
    usage: 'callhook hash-password',
    help: `Reads a password (typed without echo on a terminal, or the first line of stdin: echo "$PW" | callhook
hash-password) and prints scrypt$N$r$p$salt$hash. Put it in the settings with the user's name:
"http": {"port": 8088, "users": [{"name": "ops", "password_hash": "<printed hash>"}]}. There is no default user
or password; the password itself is never printed.
example: callhook hash-password`,
    load: () => import('./hash-password-command.js'),
  },
  init: {
    summary: 'scaffold a hooks folder (tsconfig + typed starter hook) for editor autocompletion',
    usage: 'callhook init [dir] [--settings settings.json]',
    help: `Creates the folder with a tsconfig.json (the types callhook checks hooks with) and a starter
need_registration.ts; keeps files that exist.
  --settings FILE  scaffold the hooks.folder this settings file names (when no dir is given)
${HOOKS_FOLDER_RULE}
example: callhook init hooks && callhook check hooks`,
    load: () => import('./init-command.js'),
  },
  check: {
    summary: 'load every hook of a folder or pack as the connector does (type check, compile, load; nothing called); prints file:line:col: CODE message, exits 1 on errors',
    usage: 'callhook check [dir] [--settings settings.json]',
    help: `Each hook goes through the connector's own loading: type check of the hook and every helper it
imports from its folder or pack, compile, load into the sandbox; a pack's manifest and settings are checked.
Nothing is called. Exit 0: every hook loads; 1: problems (one line each); 2: bad usage.
  dir              a hooks folder or a pack folder (one with callhook.pack.json)
  --settings FILE  take file settings, packs' settings and sandbox limits from this file; without dir: check
                   every hook it names (hooks.folder and hooks.packs)
${HOOKS_FOLDER_RULE}
example: callhook check hooks --settings settings.json`,
    load: () => import('./check-command.js'),
  },
  replay: {
    summary: 'assemble a recorded CEL file (JSONL/CSV) into calls: a table, or --out calls.jsonl with call_full per call',
    usage: 'callhook replay <file> [--settings settings.json] [--out calls.jsonl] [--stages]',
    help: `Assembles CEL rows into calls with the settings' calls and numbers sections.
  --settings FILE  the settings file (default: the demo defaults)
  --out FILE       write one {"linkedid", "call_full"} line per finished call (what callhook try --call takes)
  --stages         also every stage event, in order (with --out: {"stage", "linkedid", "call_full"} lines)
example: callhook replay examples/cel/demo.jsonl --out calls.jsonl --stages`,
    load: () => import('./replay-command.js'),
  },
  settings: {
    summary: 'validate a settings file and what it names on disk (hooks folder, packs, file names); print the effective settings (defaults filled in, secrets masked)',
    usage: 'callhook settings [--settings settings.json]',
    help: `Prints the effective settings as JSON (secrets masked), or every problem as <file>: <pointer>: <message>.
  --settings FILE  the settings file (default: none = the demo defaults)
example: callhook settings --settings settings.json`,
    load: () => import('./settings-command.js'),
  },
  try: {
    summary: 'run one hook file once as the connector would (same settings, type check, compile, isolation) on an input or a call; prints its result, what it means at its point, its logs and timing',
    usage: 'callhook try <hook.ts> (--input <input.json> | --call <call.json|calls.jsonl> [--linkedid ID] [--stage STAGE]) [--settings settings.json] [--settings-json JSON] [--allow-host HOST:PORT]... [--inline] [--no-typecheck] [--json]',
    help: `Loads the file with the hook host as the connector does: its settings (a pack's hook: the pack's manifest and
settings with its defaults; a loose file of hooks.folder: hooks.file_settings), its http allow list, its point's
time budget, the type check, the compile, and the settings' isolation (default: a supervised child process).
Then runs it once and says what its decision means at that point. Exit 0: the hook answered; 1: it failed to
load or run (the connector would apply the point's default); 2: bad usage or a bad input.
  --input FILE        the point's input as JSON (validated against the point's input schema, docs/hooks.md)
  --call FILE         a call: a call_full JSON file, or JSON Lines from \`callhook replay <cel> --out calls.jsonl\`
  --linkedid ID       which call of a JSON Lines file (default: the first)
  --stage STAGE       the stage the hook runs at (default: the point's first stage)
  --settings FILE     the settings file whose packs, file settings, allow lists and limits apply (default: the demo's)
  --settings-json J   the hook's (or its pack's) settings as JSON instead of the settings file's
  --allow-host H:P    also allow http to H:P for this run (said on every run)
  --inline            run the hook in this process instead of the child process (said on every run)
  --no-typecheck      skip the type check (said on every run; the connector never skips it)
  --json              one JSON document: input, output, decision, error, logs, timings
${STAGES}
The file's settings are those of where it sits: a pack of hooks.packs, or the hooks folder, of --settings.
${HOOKS_FOLDER_RULE}
example: callhook replay examples/cel/demo.jsonl --out calls.jsonl && callhook try hooks/need_registration.ts --call calls.jsonl --stage conversation_requested`,
    load: () => import('./try-command.js'),
  },
  doctor: {
    summary: 'check a deployment: PBX database and cel table, CEL events, connector store, AMI, CRM auth and scopes, folders, clock skew, time zone; one line each with what to fix',
    usage: 'callhook doctor [--settings file.json]',
    help: `Runs every check and prints one line each, OK / WARN / FAIL / SKIP with what was found and what to fix:
the settings valid; the PBX database reachable, the cel table readable and read-only for our account, its
\`extra\` column, the CEL events the assembler needs seen in recent rows (cel.conf events=); the connector store
reachable; AMI login and the originate permission (when an ami section exists); the CRM's authentication and
the scopes the pipeline uses (read-only methods); the hooks folder and recordings root readable; the clock
skew between the PBX database and this host; the PBX time zone set. Nothing is written anywhere.
Exit 0: no FAIL (warnings allowed); 1: something FAILed; 2: bad usage.
  --settings FILE  the settings file the connector runs with (default: the demo defaults)
example: callhook doctor --settings /etc/callhook/settings.json`,
    load: () => import('./doctor-command.js'),
  },
  version: {
    summary: 'print the version',
    usage: 'callhook version',
    help: 'Prints the callhook version and the node version.\nexample: callhook version',
    load: () => import('./version-command.js'),
  },
};
