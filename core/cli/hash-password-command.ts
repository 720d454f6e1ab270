// `callhook hash-password`: reads a password (typed without echo on a terminal, or the first line of
// stdin) and prints the scrypt hash to paste into http.users[].password_hash. The password itself is
// never printed or logged; there is no default password anywhere.
import { hashPassword } from '../http/auth.js';

async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY !== true) {
    let text = '';
    for await (const chunk of stdin) text += String(chunk);
    return text.split(/\r?\n/)[0] ?? '';
  }
  process.stderr.write('password (not shown): ');
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') { done(); resolve(typed); return; }
        if (ch === '\u0003') { done(); reject(new Error('cancelled')); return; }
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    const done = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('usage: callhook hash-password   (reads the password from the terminal or the first line of stdin)\n');
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write('callhook hash-password: takes no arguments (a password on the command line would stay in the shell history); type it or pipe it on stdin\n');
    return 2;
  }
  const password = await readPassword();
  if (password.length < 8) {
    process.stderr.write('callhook hash-password: the password is shorter than 8 characters; choose a longer one\n');
    return 1;
  }
  process.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}
