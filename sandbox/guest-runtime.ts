// The JavaScript that runs INSIDE each hook's isolate, before the customer's bundle. It is the only
// guest-side code the host trusts, so it captures every intrinsic it needs before customer code can
// patch them, and it keeps the two host handles (the settle callback and the http reference) in its
// closure: nothing isolated-vm-made is ever reachable from a global or from a value given to the hook.
//
// Why the guest does the (de)serialisation itself: the host must never receive a guest object (cycles,
// getters, proxies, `__proto__` keys) or see guest errors cross the boundary as host errors (which
// would carry host frames and lose non-Error throws). So the hook's input arrives as a JSON string,
// the result leaves as a JSON string, and a throw leaves as a plain {kind,name,message,stack} record.

/** Global the esbuild IIFE assigns the bundle's exports to (read once by init(), then cleared). */
export const ENTRY_GLOBAL = '__callhookEntry';

/** Source of the virtual 'callhook' module bundled into every hook. */
export const CALLHOOK_MODULE_SOURCE = `const api = globalThis.__callhook;
export const defineHook = api.defineHook;
export const log = api.log;
export const http = api.http;
export const settings = api.settings;
export default api;
`;

/** Globals removed before customer code runs: shared memory (Atomics.wait can block the thread that runs the
 * isolate, and SharedArrayBuffer can be shared across calls) and WebAssembly (memory outside the JS heap). */
export const REMOVED_GLOBALS = ['SharedArrayBuffer', 'Atomics', 'WebAssembly'];

/** Limits the guest runtime enforces on what it sends back to the host (the host checks them again). */
export interface GuestConfig {
  maxLogEntries: number;
  maxLogChars: number;
  maxResultChars: number;
  /** An error's message and stack are cut to these before they leave the isolate. */
  maxErrorMessageChars: number;
  maxErrorStackChars: number;
  /** Request bodies longer than this are refused before they are copied to the host. */
  maxRequestChars: number;
}

/**
 * Run with context.evalClosure: $0 = settle(id, envelope) sync Callback, $1 = Reference to the host's http
 * function, $2 = settings JSON, $3 = GuestConfig JSON. Returns [init, call, takeLogs].
 *
 * Answer (what every call returns or settles with): 'o' + result JSON, 'p' (pending: the answer arrives later
 * through settle), or 'E' + JSON of [status, payload, logs, droppedLogs] where status is 'ok' (payload =
 * result JSON), 'bad' (payload = why the result is not acceptable) or 'err' (payload = error record).
 *
 * Customer code can change every prototype of its realm before the runtime runs again, so the runtime:
 * - hands isolated-vm only null-prototype, frozen option objects made before customer code ran (an inherited
 *   `timeout` or `reference` would otherwise apply to the host's own http function);
 * - builds arrays with literals and defineProperty, never [[Set]] (an index setter on Array.prototype);
 * - writes the envelope and error records as JSON by hand from strings (an Object.prototype.toJSON would
 *   otherwise rewrite them, e.g. to forge an http error code).
 */
export const GUEST_PRELUDE = `'use strict';
const settle = $0, httpRef = $1, cfg = JSON.parse($3), refApply = $1.apply;
const G = globalThis;
const stringify = JSON.stringify, parse = JSON.parse, freeze = Object.freeze, keys = Object.keys;
const getOwn = Object.getOwnPropertyDescriptor, getProto = Object.getPrototypeOf, defineProp = Object.defineProperty;
const reflectApply = Reflect.apply, PromiseCtor = Promise, promiseThen = Promise.prototype.then;
const StringCtor = String, ErrorCtor = Error, WeakMapCtor = WeakMap, captureStack = Error.captureStackTrace;
const weakGet = WeakMap.prototype.get, weakSet = WeakMap.prototype.set;
const strSlice = String.prototype.slice, strIncludes = String.prototype.includes, strIndexOf = String.prototype.indexOf;
const HTTP_APPLY = freeze({ __proto__: null, arguments: freeze({ __proto__: null, copy: true }), result: freeze({ __proto__: null, copy: true, promise: true }) });
const append = (list, value) => defineProp(list, list.length, { value, writable: true, enumerable: true, configurable: true });

const deepFreeze = (v) => {
  if (v !== null && typeof v === 'object') { freeze(v); for (const k of keys(v)) deepFreeze(v[k]); }
  return v;
};
const settings = deepFreeze(parse($2));

let logs = [];
let dropped = 0;
const cut = (s, n) => s.length > n ? reflectApply(strSlice, s, [0, n]) + '…' : s;
const pushLog = (level, message, data) => {
  if (logs.length >= cfg.maxLogEntries) { dropped++; return; }
  let m;
  try { m = typeof message === 'string' ? message : StringCtor(message); } catch { m = '[unprintable message]'; }
  if (typeof m !== 'string') m = '[unprintable message]';
  m = cut(m, cfg.maxLogChars);
  if (data === undefined) { append(logs, [level, m]); return; }
  let d;
  try { d = stringify(data); } catch { d = '"[data is not JSON]"'; }
  if (typeof d !== 'string') d = '"[data is not JSON]"';
  if (d.length > cfg.maxLogChars) d = '"[data too large]"';
  append(logs, [level, m, d]);
};
const takeLogs = () => { const out = [logs, dropped]; logs = []; dropped = 0; return out; };
const log = freeze({
  debug: (m, d) => pushLog('debug', m, d), info: (m, d) => pushLog('info', m, d),
  warn: (m, d) => pushLog('warn', m, d), error: (m, d) => pushLog('error', m, d),
});

// Errors raised by the host API carry a stable code; remembered privately so a hook cannot forge one.
const apiErrors = new WeakMapCtor();
class HttpError extends ErrorCtor {
  constructor(code, message) { super(message); this.name = 'HttpError'; this.code = code; }
}
// The error carries the stack of the hook's own call (taken before the first await), so a refusal or
// failure points at the hook's line that called http, not at the runtime.
const httpError = (site, code, message) => {
  const e = new HttpError(code, message);
  let frames = '';
  try { const st = site.stack; if (typeof st === 'string') { const nl = reflectApply(strIndexOf, st, ['\\n']); frames = nl < 0 ? '' : reflectApply(strSlice, st, [nl]); } } catch { frames = ''; }
  defineProp(e, 'stack', { value: 'HttpError: ' + message + frames, writable: true, configurable: true, enumerable: false });
  reflectApply(weakSet, apiErrors, [e, code]);
  return e;
};
const request = async (options) => {
  const site = {};
  captureStack(site, request);
  const o = typeof options === 'string' ? { url: options } : options;
  if (o === null || typeof o !== 'object') throw new TypeError('http.request expects a URL or an options object');
  const req = { url: StringCtor(o.url), method: o.method === undefined ? 'GET' : StringCtor(o.method), headers: {} };
  if (o.headers !== undefined && o.headers !== null) for (const k of keys(o.headers)) defineProp(req.headers, StringCtor(k).toLowerCase(), { value: StringCtor(o.headers[k]), enumerable: true, writable: true, configurable: true });
  if (o.body !== undefined) {
    let body = o.body;
    if (typeof body !== 'string') { body = stringify(body); if (req.headers['content-type'] === undefined) defineProp(req.headers, 'content-type', { value: 'application/json', enumerable: true, writable: true, configurable: true }); }
    if (typeof body !== 'string') throw new TypeError('http: the request body is not JSON');
    if (body.length > cfg.maxRequestChars) throw httpError(site, 'HOOK_HTTP_REFUSED', 'http: the request body is ' + body.length + ' characters, more than the limit of ' + cfg.maxRequestChars + ' (sandbox.http.max_request_bytes); nothing was sent');
    req.body = body;
  }
  if (o.timeoutMs !== undefined) req.timeoutMs = +o.timeoutMs;
  let env;
  try {
    env = await reflectApply(refApply, httpRef, [undefined, [stringify(req)], HTTP_APPLY]);
  } catch {
    // Never the host's error object: it would carry host frames and paths.
    throw httpError(site, 'HOOK_HTTP_FAILED', 'http: the request could not be completed');
  }
  if (env.ok === true) {
    const res = parse(env.response);
    res.json = () => parse(res.body);
    return res;
  }
  throw httpError(site, env.code === 'HOOK_HTTP_REFUSED' ? 'HOOK_HTTP_REFUSED' : 'HOOK_HTTP_FAILED', StringCtor(env.message));
};
const http = freeze({
  request,
  get: (url, o) => request({ ...(o || {}), url, method: 'GET' }),
  post: (url, body, o) => request({ ...(o || {}), url, method: 'POST', body }),
});
const defineHook = (hook, handler) => freeze({ hook, handler });
defineProp(G, '__callhook', { value: freeze({ defineHook, log, http, settings }), configurable: true, writable: false, enumerable: false });
G.console = freeze({ log: log.info, info: log.info, debug: log.debug, warn: log.warn, error: log.error, trace: log.debug });

// Reads a property without running a getter (a thrown object may be hostile); proxies still run their
// traps, which is guest code under the same CPU budget.
const readData = (obj, key) => {
  let o = obj;
  for (let depth = 0; o !== null && depth < 32; depth++) {
    const d = getOwn(o, key);
    if (d !== undefined) return 'value' in d && typeof d.value === 'string' ? d.value : undefined;
    o = getProto(o);
  }
  return undefined;
};
const describe = (e) => {
  try {
    if (e === null || (typeof e !== 'object' && typeof e !== 'function')) {
      let shown;
      try { shown = typeof e === 'string' ? stringify(cut(e, 200)) : typeof e === 'symbol' ? 'a symbol' : StringCtor(e); } catch { shown = 'an unprintable value'; }
      return { kind: 'nonerror', message: 'threw ' + typeof e + ' ' + cut(shown, 200) + ' instead of an Error' };
    }
    const name = readData(e, 'name'), message = readData(e, 'message'), stack = readData(e, 'stack');
    if (message === undefined && stack === undefined) {
      let shown;
      try { shown = stringify(e); } catch { shown = undefined; }
      return { kind: 'nonerror', message: 'threw a non-Error object' + (typeof shown === 'string' ? ' ' + cut(shown, 200) : '') };
    }
    const code = reflectApply(weakGet, apiErrors, [e]);
    const overflow = name === 'RangeError' && typeof message === 'string' && reflectApply(strIncludes, message, ['Maximum call stack size exceeded']);
    return {
      kind: code !== undefined ? 'api' : overflow ? 'stack' : 'error', code,
      name: cut(name || 'Error', 100), message: cut(message || '', cfg.maxErrorMessageChars), stack: cut(stack || '', cfg.maxErrorStackChars),
    };
  } catch {
    return { kind: 'nonerror', message: 'threw a value that could not be read' };
  }
};

// Answers are one string, so crossing the boundary is a plain string copy: 'o' + result JSON on the fast
// path (ok, nothing logged), 'p' for pending, otherwise 'E' + the envelope, written by hand from strings.
const q = (v) => typeof v === 'string' ? stringify(v) : 'null';
const recordJson = (r) => '{"kind":' + q(r.kind) + ',"code":' + q(r.code) + ',"name":' + q(r.name) + ',"message":' + q(r.message) + ',"stack":' + q(r.stack) + '}';
const logsJson = (list) => {
  let out = '[';
  for (let i = 0; i < list.length; i++) {
    const entry = list[i];
    out += (i === 0 ? '[' : ',[') + q(entry[0]) + ',' + q(entry[1]) + (entry.length > 2 ? ',' + q(entry[2]) : '') + ']';
  }
  return out + ']';
};
const envelope = (status, payload) => {
  if (status === 'ok' && logs.length === 0 && dropped === 0) return 'o' + payload;
  const out = takeLogs();
  const body = status === 'err' ? recordJson(payload) : q(payload);
  return 'E[' + q(status) + ',' + body + ',' + logsJson(out[0]) + ',' + (+out[1]) + ']';
};
const finish = (value) => {
  if (value === undefined) return envelope('bad', 'the hook returned undefined (return null to say "no value")');
  let json;
  try { json = stringify(value); } catch (e) { return envelope('bad', 'the result is not JSON: ' + describe(e).message); }
  if (typeof json !== 'string') return envelope('bad', 'the result is not JSON (' + typeof value + ')');
  if (json.length > cfg.maxResultChars) return envelope('bad', 'the result is ' + json.length + ' characters of JSON, more than the limit of ' + cfg.maxResultChars);
  return envelope('ok', json);
};

let handler = null;
const init = () => {
  delete G.__callhook;
  const mod = G.${ENTRY_GLOBAL};
  delete G.${ENTRY_GLOBAL};
  const def = mod !== null && typeof mod === 'object' ? mod.default : undefined;
  if (typeof def === 'function') { handler = def; return ['ok', null]; }
  if (def !== null && typeof def === 'object' && typeof def.handler === 'function') {
    if (typeof def.hook !== 'string' || def.hook === '') return ['bad', 'defineHook() needs the hook name as a non-empty string'];
    handler = def.handler;
    return ['ok', def.hook];
  }
  return ['bad', 'the hook file must "export default defineHook(name, handler)" or "export default function (input) {...}"'];
};

const call = (inputJson, id) => {
  logs = []; dropped = 0;
  let r;
  try { r = handler(parse(inputJson)); } catch (e) { return envelope('err', describe(e)); }
  let thenable;
  try { thenable = r !== null && (typeof r === 'object' || typeof r === 'function') && typeof r.then === 'function'; }
  catch (e) { return envelope('err', describe(e)); }
  if (!thenable) return finish(r);
  const onValue = (v) => settle(id, finish(v)), onError = (e) => settle(id, envelope('err', describe(e)));
  // A native promise is observed with the captured then (the hook may have patched Promise.prototype.then);
  // any other thenable is adopted, which runs its own then (guest code, under the wall-clock deadline).
  try { reflectApply(promiseThen, r, [onValue, onError]); }
  catch { reflectApply(promiseThen, new PromiseCtor((resolve) => resolve(r)), [onValue, onError]); }
  return 'p';
};

return [init, call, takeLogs];
`;
