// Who may use the operator's HTTP API: users with scrypt password hashes (settings `http.users`, as
// `callhook hash-password` prints them), bearer tokens for scripts (`http.tokens`), in-memory sessions
// with a CSRF token each, and a limit on failed sign-ins. Every comparison of a secret is constant-time.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, createHash, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));

const DEFAULT_COST = { N: 16384, r: 8, p: 1 };
const KEY_LENGTH = 32;

/** `scrypt$N$r$p$<salt base64>$<key base64>`: what `callhook hash-password` prints for http.users[].password_hash. */
export async function hashPassword(password: string, cost = DEFAULT_COST): Promise<string> {
  if (password.length === 0) throw new Error('the password is empty');
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, { ...cost, maxmem: 256 * cost.N * cost.r });
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface ParsedHash { N: number; r: number; p: number; salt: Buffer; key: Buffer }

export function parsePasswordHash(hash: string): ParsedHash | null {
  const parts = hash.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const key = Buffer.from(parts[5] ?? '', 'base64');
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || (N & (N - 1)) !== 0 || salt.length < 8 || key.length < 16) return null;
  return { N, r, p, salt, key };
}

export async function verifyPassword(password: string, hash: ParsedHash): Promise<boolean> {
  const key = await scrypt(password, hash.salt, hash.key.length, { N: hash.N, r: hash.r, p: hash.p, maxmem: 256 * hash.N * hash.r + 1024 * 1024 });
  return timingSafeEqual(key, hash.key);
}

/** Constant-time equality of two secrets of any length (both hashed first so the lengths match). */
export function secretEquals(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export class HttpSettingsError extends Error {
  constructor(readonly code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'HttpSettingsError';
  }
}

export interface HttpUser { name: string; password_hash: string }

export interface Credentials {
  /** The user whose name and password these are, or null (wrong password, unknown user). */
  checkPassword(name: string, password: string): Promise<string | null>;
  /** Which token this bearer value is (its index, for the log), or null. */
  checkToken(value: string): number | null;
  readonly any: boolean;
}

/** Checks every hash at start-up, so a mistyped hash fails the start naming its entry. */
export function createCredentials(users: readonly HttpUser[], tokens: readonly string[]): Credentials {
  const parsed = new Map<string, ParsedHash>();
  users.forEach((u, i) => {
    const h = parsePasswordHash(u.password_hash);
    if (h === null) throw new HttpSettingsError('HTTP_BAD_PASSWORD_HASH', `http.users[${i}].password_hash (user '${u.name}') is not a hash callhook made: run \`callhook hash-password\` and paste its output`);
    parsed.set(u.name, h);
  });
  // An unknown user costs the same scrypt as a known one: the answer's timing does not tell who exists.
  const decoy: ParsedHash = { ...DEFAULT_COST, salt: randomBytes(16), key: randomBytes(KEY_LENGTH) };
  return {
    any: users.length > 0 || tokens.length > 0,
    async checkPassword(name, password) {
      const h = parsed.get(name);
      const ok = await verifyPassword(password, h ?? decoy);
      return ok && h !== undefined ? name : null;
    },
    checkToken(value) {
      let found: number | null = null;
      // Every token compared, whatever matched first.
      tokens.forEach((t, i) => { if (secretEquals(t, value) && found === null) found = i; });
      return found;
    },
  };
}

export interface Session { id: string; user: string; csrf: string; expiresAt: number }

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  constructor(private readonly lifetimeMs: number, private readonly now: () => number = Date.now) {}

  create(user: string): Session {
    this.sweep();
    const s: Session = { id: randomBytes(32).toString('base64url'), user, csrf: randomBytes(24).toString('base64url'), expiresAt: this.now() + this.lifetimeMs };
    this.sessions.set(s.id, s);
    return s;
  }

  get(id: string | undefined): Session | null {
    if (id === undefined || id.length === 0) return null;
    const s = this.sessions.get(id);
    if (s === undefined) return null;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return null;
    }
    return s;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  private sweep(): void {
    const at = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= at) this.sessions.delete(id);
  }
}

/** Failed sign-ins per key (client address, user name) in a sliding minute. */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  constructor(private readonly perMinute: number, private readonly now: () => number = Date.now) {}

  /** Seconds until another attempt is allowed for any of these keys; 0 = allowed now. */
  retryAfter(keys: readonly string[]): number {
    const at = this.now();
    let wait = 0;
    for (const key of keys) {
      const recent = (this.failures.get(key) ?? []).filter((t) => t > at - 60_000);
      this.failures.set(key, recent);
      if (recent.length >= this.perMinute) wait = Math.max(wait, Math.ceil(((recent[0] ?? at) + 60_000 - at) / 1000));
    }
    return wait;
  }

  fail(keys: readonly string[]): void {
    const at = this.now();
    for (const key of keys) this.failures.set(key, [...(this.failures.get(key) ?? []), at]);
    if (this.failures.size > 10_000) for (const [k, v] of this.failures) if (v.every((t) => t <= at - 60_000)) this.failures.delete(k);
  }
}

export function isLoopback(bind: string): boolean {
  const b = bind.trim().toLowerCase();
  return b === 'localhost' || b === '::1' || b === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(b);
}
