// The recording link server: Kommo's call note plays the recording from a URL its users' browsers fetch,
// so the connector serves the files itself behind signed, expiring links (links.ts). The only route is
// GET/HEAD /recordings/<token>; the signature is the authentication (a browser's audio player sends no
// credentials), a bad one answers 403, an expired one 410. Byte ranges are served (players seek). Self-
// contained node:http so it can be mounted in the admin server later (`handle` is the whole route).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { confine } from './files.js';
import { signLink, verifyLink } from './links.js';

export interface RecordingServerOptions {
  /** Folder key → folder: links name a file relative to one of these. */
  folders: Readonly<Record<string, string>>;
  secret: string;
  /** host:port; port 0 = a free port. */
  listen: string;
  /** The base URL users reach it at ('' = http://<listen address>). */
  publicUrl: string;
  now?(): number;
}

export interface RecordingServer {
  /** The base URL links start with. */
  readonly url: string;
  /** A link to `file` (absolute, inside one of the folders) valid until `expiresAt` (ms); null when outside them. */
  linkFor(file: string, expiresAt: number): string | null;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.mp3': 'audio/mpeg', '.wav': 'audio/wav', '.ogg': 'audio/ogg', '.gsm': 'audio/x-gsm' };

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  if (m === null) throw new Error(`recordings.link.listen: expected host:port, got ${JSON.stringify(listen)}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export async function startRecordingServer(o: RecordingServerOptions): Promise<RecordingServer> {
  const now = o.now ?? Date.now;
  const { host, port } = parseListen(o.listen);
  const folders = Object.fromEntries(Object.entries(o.folders).map(([k, v]) => [k, path.resolve(v)]));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/recordings\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)(?:\/[^/]*)?$/.exec(url.pathname);
    const fail = (status: number, text: string): void => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end(`${text}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'method not allowed');
    if (m === null) return fail(404, 'not found');
    const v = verifyLink(o.secret, m[1]!, Math.floor(now() / 1000));
    if (!v.ok) return fail(v.status, v.reason);
    const folder = folders[v.target.folder];
    if (folder === undefined) return fail(404, 'not found');
    const c = await confine(folder, v.target.path);
    if (!c.ok) return fail(403, 'outside the served folders');
    let size: number;
    try {
      const s = await stat(c.path);
      if (!s.isFile()) return fail(404, 'not found');
      size = s.size;
    } catch {
      return fail(404, 'the recording is not there (yet)');
    }
    const type = TYPES[path.extname(c.path).toLowerCase()] ?? 'application/octet-stream';
    const headers: Record<string, string | number> = { 'Content-Type': type, 'Accept-Ranges': 'bytes', 'Cache-Control': 'private, max-age=3600' };
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    let start = 0;
    let end = size - 1;
    let status = 200;
    if (range !== null && (range[1] !== '' || range[2] !== '')) {
      start = range[1] === '' ? Math.max(0, size - Number(range[2])) : Number(range[1]);
      end = range[1] !== '' && range[2] !== '' ? Math.min(size - 1, Number(range[2])) : size - 1;
      if (start > end || start >= size) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['Content-Length'] = size === 0 ? 0 : end - start + 1;
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    createReadStream(c.path, { start, end }).on('error', () => res.destroy()).pipe(res);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const base = (o.publicUrl !== '' ? o.publicUrl : `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`).replace(/\/+$/, '');
  return {
    url: base,
    linkFor(file, expiresAt) {
      const abs = path.resolve(file);
      for (const [key, folder] of Object.entries(folders)) {
        const rel = path.relative(folder, abs);
        if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) {
          return `${base}/recordings/${signLink(o.secret, { folder: key, path: rel, expiresAt: Math.floor(expiresAt / 1000) })}/${encodeURIComponent(path.basename(abs))}`;
        }
      }
      return null;
    },
    handle,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
