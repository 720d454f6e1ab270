// OAuth tokens of one portal: the access token is refreshed shortly before it expires (and when the
// portal says it expired); every refresh rotates the refresh token, which is saved through the
// TokenStore at once, so a restart uses the newest one (the old one answers invalid_grant). A refresh
// refused with invalid_grant / invalid_client stops the portal: the operator must reinstall or put a new
// refresh token in the settings. No retry loop: a transient token-endpoint failure is retried at most
// once per REFRESH_BACKOFF_MS, whatever the number of requests waiting.
import type { AxiosInstance } from 'axios';
import type { Logger } from '../../log.js';
import type { CrmOutcome, TokenStore } from '../types.js';
import { classifyHttpAnswer, classifyNoAnswer } from './classify.js';
import type { Redactor } from './redact.js';
import { noAnswerOf } from './transport.js';

const REFRESH_BACKOFF_MS = 5_000;
const MAX_EARLY_MS = 60_000;

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}

export type TokenResult = { ok: true; accessToken: string } | { ok: false; outcome: CrmOutcome };

export interface OAuthConfig {
  portal: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  timeoutMs: number;
}

export class OAuthSession {
  private tokens: Tokens | null = null;
  private loading: Promise<void> | null = null;
  private refreshing: Promise<TokenResult> | null = null;
  private lastFailure: { at: number; outcome: CrmOutcome } | null = null;
  private stoppedOutcome: CrmOutcome | null = null;
  private lifetimeMs = 0;

  constructor(
    private readonly config: OAuthConfig,
    private readonly http: AxiosInstance,
    private readonly redactor: Redactor,
    private readonly logger: Logger,
    private readonly store: TokenStore | undefined,
    private readonly now: () => number = Date.now,
  ) {
    redactor.add(config.clientSecret);
    redactor.add(config.refreshToken);
  }

  get stopped(): CrmOutcome | null {
    return this.stoppedOutcome;
  }

  private async load(): Promise<void> {
    if (this.tokens !== null) return;
    this.loading ??= (async () => {
      let stored: Tokens | null = null;
      if (this.store !== undefined) {
        try {
          stored = await this.store.load(this.config.portal);
        } catch (error) {
          this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'bitrix24: reading the stored OAuth tokens failed; using crm.bitrix24.oauth.refresh_token');
        }
      }
      if (stored !== null && stored.refreshToken !== '') {
        this.tokens = { ...stored };
        this.redactor.add(stored.accessToken);
        this.redactor.add(stored.refreshToken);
        this.lifetimeMs = Math.max(0, stored.expiresAt - this.now());
      } else {
        this.tokens = { accessToken: '', refreshToken: this.config.refreshToken, expiresAt: 0 };
      }
    })();
    await this.loading;
  }

  /** Refresh this long before the expiry: a quarter of the token's lifetime, at most a minute. */
  private earlyMs(): number {
    return Math.min(MAX_EARLY_MS, this.lifetimeMs / 4);
  }

  /** A usable access token, refreshing when it is (nearly) expired. */
  async accessToken(): Promise<TokenResult> {
    if (this.stoppedOutcome !== null) return { ok: false, outcome: this.stoppedOutcome };
    await this.load();
    const t = this.tokens!;
    if (t.accessToken !== '' && t.expiresAt - this.earlyMs() > this.now()) return { ok: true, accessToken: t.accessToken };
    return this.refresh();
  }

  /** The portal said the token is expired/invalid: one refresh (shared by everyone who saw it). */
  async rejected(token: string): Promise<TokenResult> {
    if (this.stoppedOutcome !== null) return { ok: false, outcome: this.stoppedOutcome };
    if (this.tokens !== null && this.tokens.accessToken !== token) return this.accessToken(); // someone already refreshed
    if (this.tokens !== null) this.tokens.expiresAt = 0;
    return this.refresh();
  }

  /** A token obtained moments ago was refused by the portal: the app and the portal do not match. */
  stop(code: string, description: string): CrmOutcome {
    this.stoppedOutcome = { kind: 'stopped', status: null, snippet: '', durationMs: 0, code, description };
    return this.stoppedOutcome;
  }

  private refresh(): Promise<TokenResult> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<TokenResult> {
    if (this.lastFailure !== null && this.now() - this.lastFailure.at < REFRESH_BACKOFF_MS) return { ok: false, outcome: this.lastFailure.outcome };
    const started = this.now();
    const params = { grant_type: 'refresh_token', client_id: this.config.clientId, client_secret: this.config.clientSecret, refresh_token: this.tokens!.refreshToken };
    let outcome: CrmOutcome;
    let body: unknown = null;
    try {
      const r = await this.http.get<string>(this.config.tokenUrl, { params, timeout: this.config.timeoutMs });
      try {
        body = JSON.parse(r.data);
      } catch {
        body = null;
      }
      const answer = { status: r.status, body: r.data, durationMs: this.now() - started };
      const b = body as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown } | null;
      if (r.status === 200 && b !== null && typeof b.access_token === 'string' && typeof b.refresh_token === 'string' && b.access_token !== '') {
        return await this.accept(b.access_token, b.refresh_token, Number(b.expires_in) || 3600);
      }
      outcome = classifyHttpAnswer(answer, { mode: 'oauth', redact: (s) => this.redactor.redact(s) });
      if (outcome.kind === 'ok') outcome = { ...outcome, kind: 'transient', code: 'OAUTH_BAD_ANSWER', description: 'the token endpoint answered without access_token/refresh_token', badAnswer: true, maybeDelivered: false };
    } catch (error) {
      outcome = classifyNoAnswer(noAnswerOf(error, this.now() - started), (s) => this.redactor.redact(s));
    }
    if (outcome.kind === 'stopped' || outcome.kind === 'rejected') {
      const code = outcome.code;
      const description =
        `OAuth refresh refused (${code}${outcome.description === '' ? '' : `: ${outcome.description}`}): ` +
        (code === 'invalid_client'
          ? 'check crm.bitrix24.oauth.client_id and client_secret.'
          : 'the refresh token was used already or has expired; reinstall the application or put a new refresh token in crm.bitrix24.oauth.refresh_token.');
      this.stoppedOutcome = { ...outcome, kind: 'stopped', code, description };
      this.logger.error({ portal: this.config.portal, code }, `bitrix24: ${description} The portal is stopped.`);
      return { ok: false, outcome: this.stoppedOutcome };
    }
    // Transient (token endpoint down, 5xx, bad answer): tell the caller, try again not before the backoff.
    const failed: CrmOutcome = outcome.kind === 'transient' ? { ...outcome, code: `OAUTH_${outcome.code}`, description: `OAuth refresh failed: ${outcome.description}`, maybeDelivered: false } : outcome;
    this.lastFailure = { at: this.now(), outcome: failed };
    this.logger.warn({ portal: this.config.portal, code: failed.kind === 'transient' ? failed.code : '' }, 'bitrix24: OAuth refresh failed, will retry');
    return { ok: false, outcome: failed };
  }

  private async accept(accessToken: string, refreshToken: string, expiresInSec: number): Promise<TokenResult> {
    this.redactor.add(accessToken);
    this.redactor.add(refreshToken);
    this.lifetimeMs = expiresInSec * 1000;
    this.tokens = { accessToken, refreshToken, expiresAt: this.now() + this.lifetimeMs };
    this.lastFailure = null;
    if (this.store !== undefined) {
      try {
        await this.store.save(this.config.portal, { ...this.tokens });
      } catch (error) {
        // The old refresh token is already spent: if this is not saved, a restart will be refused (invalid_grant).
        this.logger.error({ portal: this.config.portal, err: error instanceof Error ? error.message : String(error) },
          'bitrix24: saving the rotated OAuth refresh token failed; a restart before the next successful save will need a new refresh token');
      }
    } else {
      this.logger.warn({ portal: this.config.portal }, 'bitrix24: no token store: the rotated refresh token lives in memory only (a restart will be refused with invalid_grant)');
    }
    this.logger.debug({ portal: this.config.portal, expiresInSec }, 'bitrix24: OAuth access token refreshed');
    return { ok: true, accessToken };
  }
}
