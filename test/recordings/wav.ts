// A real WAV (PCM 16-bit mono 8 kHz, a 440 Hz tone) for the recording tests, and a child process that writes
// one slowly, as MixMonitor does while a call runs.
import { spawn, type ChildProcess } from 'node:child_process';

export function wavBytes(seconds: number, rate = 8000): Buffer {
  const samples = Math.round(seconds * rate);
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 12000), i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** Writes `bytes` to `file` in `chunks` pieces, `everyMs` apart (a separate process, like the PBX). Resolves with the time the last byte was written. */
export function writeSlowly(file: string, bytes: Buffer, chunks: number, everyMs: number): { child: ChildProcess; done: Promise<number> } {
  const script = `
    const fs = require('node:fs');
    const data = Buffer.from(process.argv[1], 'base64');
    const fd = fs.openSync(process.argv[2], 'w');
    const size = Math.ceil(data.length / ${chunks});
    let i = 0;
    const tick = () => {
      fs.writeSync(fd, data.subarray(i * size, (i + 1) * size));
      i++;
      if (i * size < data.length) setTimeout(tick, ${everyMs});
      else { fs.closeSync(fd); process.stdout.write(String(Date.now())); }
    };
    tick();`;
  const child = spawn(process.execPath, ['-e', script, bytes.toString('base64'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  const done = new Promise<number>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`writer exited ${code}`)))));
  return { child, done };
}
