// The host API a hook sees inside the sandbox, imported from 'callhook':
//   import { log, http, settings } from 'callhook';
// Nothing else reaches a hook: no filesystem, environment, process, timers or network other than `http`
// to the hosts allow-listed for the hook (or its pack). See docs/sandbox.md for limits and error codes.

/** JSON data: what goes into a hook, comes out of it, and what log data and settings are made of. */
export type HookJson = null | boolean | number | string | HookJson[] | { [key: string]: HookJson };

/**
 * Logs go to the connector's log tagged with the hook name, the hook file and the call id, and are shown
 * by `callhook try`. `data` must be JSON (anything else is logged as "[data is not JSON]").
 * At most 100 entries per call (further ones are counted and dropped); messages over 4096 characters are cut.
 */
export interface HookLog {
  debug(message: string, data?: unknown): void;
  info(message: string, data?: unknown): void;
  warn(message: string, data?: unknown): void;
  error(message: string, data?: unknown): void;
}

export interface HookHttpRequest {
  /** http: or https: URL whose host:port is on the hook's allow list. */
  url: string;
  /** Default GET. One of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS. */
  method?: string;
  /** Header names are lower-cased; Host, Connection, Content-Length, Transfer-Encoding and similar are set by the connector. */
  headers?: Record<string, string>;
  /** A string is sent as is; anything else is sent as JSON with content-type application/json. */
  body?: unknown;
  /** Shorter timeout than the configured one (never longer). */
  timeoutMs?: number;
}

export interface HookHttpResponse {
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body as UTF-8 text. */
  body: string;
  /** JSON.parse(body). */
  json(): unknown;
}

/**
 * Error thrown by `http` (a hook may catch it). Left uncaught, the call fails with the same code.
 * - HOOK_HTTP_REFUSED: the host is not on the allow list, or the URL/method is not allowed. Nothing was sent.
 * - HOOK_HTTP_FAILED: network error, timeout, or a response larger than the configured cap.
 * Redirects are never followed: a 3xx comes back as a response (following it yourself is checked again).
 */
export interface HookHttpError extends Error {
  code: 'HOOK_HTTP_REFUSED' | 'HOOK_HTTP_FAILED';
}

export interface HookHttp {
  request(request: HookHttpRequest | string): Promise<HookHttpResponse>;
  get(url: string, options?: Omit<HookHttpRequest, 'url' | 'method'>): Promise<HookHttpResponse>;
  post(url: string, body?: unknown, options?: Omit<HookHttpRequest, 'url' | 'method' | 'body'>): Promise<HookHttpResponse>;
}

export declare const log: HookLog;
export declare const http: HookHttp;
/** This hook's own settings from the connector's settings file: hooks.file_settings["<file>"] for a loose file, the pack's settings for a pack's hook (deep-frozen; writing to it throws). */
export declare const settings: { readonly [key: string]: HookJson };
