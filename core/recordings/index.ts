// Recordings on their way to the CRM (docs/recordings.md): confinement and readiness (files.ts), MP3
// conversion (mp3.ts), signed expiring links (links.ts) and the server behind them (server.ts); `Recordings`
// is what the stage programs use.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Settings } from '../../types/settings.js';
import { toMp3, type Mp3Result } from './mp3.js';
import { startRecordingServer, type RecordingServer } from './server.js';

export { confine, readiness, type Confined, type Readiness } from './files.js';
export { toMp3, type Mp3Result } from './mp3.js';
export { signLink, verifyLink } from './links.js';
export { startRecordingServer, type RecordingServer } from './server.js';

export type RecordingsSettings = Settings['recordings'];

export interface Recordings {
  settings: RecordingsSettings;
  root: string;
  /** The MP3 for this CRM when recordings.mp3.convert asks for one; `file` itself otherwise. */
  forCrm(file: string, crm: 'bitrix24' | 'kommo'): Promise<Mp3Result>;
  /** A signed link valid recordings.link.lifetime_hours from now; null without a link server. */
  link(file: string): string | null;
  close(): Promise<void>;
}

export async function openRecordings(settings: Settings, options: { logger: Logger; serveLinks: boolean }): Promise<Recordings> {
  const r = settings.recordings;
  const root = path.resolve(settings.hooks.recordings_root);
  const mp3Folder = r.mp3.folder !== '' ? r.mp3.folder : path.join(tmpdir(), 'callhook-mp3');
  let server: RecordingServer | null = null;
  if (options.serveLinks) {
    let secret = r.link.secret;
    if (secret === '') {
      secret = randomBytes(32).toString('hex');
      options.logger.warn('recordings.link.secret is empty: a random key is used, recording links in Kommo stop working when the connector restarts');
    } else if (secret.length < 32) throw new Error('recordings.link.secret: at least 32 characters (it signs the recording links)');
    server = await startRecordingServer({ folders: { rec: root, mp3: mp3Folder }, secret, listen: r.link.listen, publicUrl: r.link.public_url });
  }
  return {
    settings: r,
    root,
    forCrm(file, crm) {
      const convert = r.mp3.convert === 'always' || (r.mp3.convert === 'kommo' && crm === 'kommo');
      if (!convert) return Promise.resolve({ ok: true, file, reused: true });
      return toMp3(file, mp3Folder, r.mp3.encoder, r.mp3.timeout_ms);
    },
    link(file) {
      return server?.linkFor(file, Date.now() + r.link.lifetime_hours * 3_600_000) ?? null;
    },
    async close() {
      await server?.close();
    },
  };
}
