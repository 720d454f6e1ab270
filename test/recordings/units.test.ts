// The recording pieces on their own: confinement (.., absolute paths, symlinks out), readiness of a file
// still being written, MP3 with the real encoder (lame) and its failures, signed links and their server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { confine, readiness, signLink, startRecordingServer, toMp3, verifyLink } from '../../core/recordings/index.js';
import { wavBytes, writeSlowly } from './wav.js';

const temp = (): string => mkdtempSync(path.join(tmpdir(), 'callhook-rec-'));

test('confine: inside the root only; .., absolute paths elsewhere and symlinks out are refused', async () => {
  const dir = temp();
  try {
    const root = path.join(dir, 'monitor');
    mkdirSync(path.join(root, '2026'), { recursive: true });
    writeFileSync(path.join(dir, 'secret.txt'), 'x');
    symlinkSync(dir, path.join(root, 'out'));
    assert.equal((await confine(root, '2026/a.wav')).ok, true);
    assert.equal((await confine(root, 'not-yet/b.wav')).ok, true, 'a file not written yet is judged by its path');
    const up = await confine(root, '../secret.txt');
    assert.ok(!up.ok && /outside the recordings root/.test(up.reason));
    assert.equal((await confine(root, '/etc/passwd')).ok, false);
    const link = await confine(root, 'out/secret.txt');
    assert.ok(!link.ok && /symbolic link/.test(link.reason), JSON.stringify(link));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readiness: growing while the writer writes, ready after; missing and empty are told apart', async () => {
  const dir = temp();
  try {
    const file = path.join(dir, 'call.wav');
    assert.equal((await readiness(file, 50)).state, 'missing');
    writeFileSync(path.join(dir, 'empty.wav'), '');
    assert.equal((await readiness(path.join(dir, 'empty.wav'), 50)).state, 'empty');
    const w = writeSlowly(file, wavBytes(2), 10, 150);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await readiness(file, 300)).state, 'growing');
    await w.done;
    const ready = await readiness(file, 300);
    assert.deepEqual(ready, { state: 'ready', size: wavBytes(2).length });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('MP3 with the real encoder: `file` says MPEG layer III, the length is the WAV\'s; reused on a second ask', async () => {
  const dir = temp();
  try {
    const wav = path.join(dir, 'call.wav');
    writeFileSync(wav, wavBytes(3));
    const out = path.join(dir, 'mp3');
    const r = await toMp3(wav, out, ['lame', '--quiet', '--preset', 'cbr', '32', '{in}', '{out}'], 20_000);
    assert.ok(r.ok, JSON.stringify(r));
    const kind = execFileSync('file', ['-b', r.file], { encoding: 'utf8' });
    assert.match(kind, /MPEG ADTS, layer III/);
    const bitrate = Number(/(\d+) kbps/.exec(kind)?.[1]);
    const seconds = (statSync(r.file).size * 8) / (bitrate * 1000);
    console.log(`MP3: ${kind.trim()}; ${statSync(r.file).size} bytes = ${seconds.toFixed(2)} s at ${bitrate} kbps (WAV 3.00 s)`);
    assert.ok(Math.abs(seconds - 3) < 0.3, `length ${seconds.toFixed(2)} s`);
    const again = await toMp3(wav, out, ['lame', '--quiet', '{in}', '{out}'], 20_000);
    assert.deepEqual(again, { ok: true, file: r.file, reused: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('MP3 failures: a missing encoder, a failing one (stderr kept), one over its time budget (killed); no partial file left', async () => {
  const dir = temp();
  try {
    const wav = path.join(dir, 'call.wav');
    writeFileSync(wav, Buffer.from('RIFF not really a wav'));
    const out = path.join(dir, 'mp3');
    const missing = await toMp3(wav, out, ['no-such-encoder-xyz', '{in}', '{out}'], 5000);
    assert.ok(!missing.ok && /could not be started .*ENOENT/.test(missing.error), JSON.stringify(missing));
    const failing = await toMp3(wav, out, ['lame', '--no-such-option', '{in}', '{out}'], 5000);
    assert.ok(!failing.ok && /exited with/.test(failing.error) && failing.stderr !== '', JSON.stringify(failing));
    const slow = await toMp3(wav, out, ['sleep', '5'], 300);
    assert.ok(!slow.ok && /longer than recordings\.mp3\.timeout_ms/.test(slow.error), JSON.stringify(slow));
    assert.deepEqual(execFileSync('ls', ['-A', out], { encoding: 'utf8' }), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('signed links: the server plays the file (ranges too); a changed link is 403, an expired one 410, outside names nothing', async () => {
  const dir = temp();
  const file = path.join(dir, 'rec', 'a.mp3');
  mkdirSync(path.dirname(file));
  writeFileSync(file, Buffer.from('0123456789'));
  const secret = 's'.repeat(40);
  const server = await startRecordingServer({ folders: { rec: path.join(dir, 'rec') }, secret, listen: '127.0.0.1:0', publicUrl: '' });
  try {
    const link = server.linkFor(file, Date.now() + 60_000);
    assert.ok(link !== null && link.startsWith('http://127.0.0.1:'));
    const r = await fetch(link);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'audio/mpeg');
    assert.equal(await r.text(), '0123456789');
    const part = await fetch(link, { headers: { Range: 'bytes=2-4' } });
    assert.equal(part.status, 206);
    assert.equal(await part.text(), '234');
    const token = new URL(link).pathname.split('/')[2]!;
    const [payload, mac] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ f: 'rec', p: '../../etc/passwd', e: 9e9 })).toString('base64url');
    assert.equal((await fetch(`${server.url}/recordings/${forged}.${mac}`)).status, 403, 'a payload changed without the key');
    assert.equal((await fetch(`${server.url}/recordings/${payload}.${mac!.slice(0, -2)}AA`)).status, 403);
    const expired = signLink(secret, { folder: 'rec', path: 'a.mp3', expiresAt: Math.floor(Date.now() / 1000) - 1 });
    assert.equal((await fetch(`${server.url}/recordings/${expired}`)).status, 410);
    assert.equal(verifyLink(secret, expired, Math.floor(Date.now() / 1000)).ok, false);
    assert.equal(server.linkFor('/etc/passwd', Date.now() + 1000), null);
    assert.equal((await fetch(`${server.url}/recordings/${token}`, { method: 'POST' })).status, 405);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
