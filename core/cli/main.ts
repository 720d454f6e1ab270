// `callhook` entry point: picks the subcommand from the table in commands.ts.
import { commands } from './commands.js';

function printHelp(): void {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  process.stdout.write(`usage: callhook <command> [options]\n\ncommands:\n${lines.join('\n')}\n`);
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    printHelp();
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') return main(['version']);
  const entry = commands[name];
  if (!entry) {
    process.stderr.write(`callhook: unknown command '${name}'\n`);
    printHelp();
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: ${entry.usage}\n${entry.summary}\n\n${entry.help}\n`);
    return 0;
  }
  const command = await entry.load();
  return command.run(rest);
}

// Started by bin/reexec.js: its IPC channel closes when the wrapper dies. Then stop as on SIGTERM (a
// command with a handler stops cleanly, any other ends). unref: the channel alone keeps nothing running.
if (process.channel !== undefined) {
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`callhook: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
