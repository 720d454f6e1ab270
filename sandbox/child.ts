// Entry of the sandbox child process: hosts hook isolates for the supervisor (sandbox/supervisor.ts).
// If V8 loses control of an isolate, this process aborts on purpose; the supervisor restarts it.
import { pino } from 'pino';
import { HookError } from './errors.js';
import { InlineHook, setCatastrophicHandler } from './inline-hook.js';
import type { ErrorJson, FromChild, ToChild } from './protocol.js';

setCatastrophicHandler(() => process.abort());

// Logs travel back in each outcome and are written by the supervisor; the breaker also lives there.
const silent = pino({ level: 'silent' });
const hooks = new Map<number, InlineHook>();
const schemas = new Map<number, object>();

function send(message: FromChild): void {
  process.send?.(message);
}

function errorJson(error: unknown, hook: string, file: string): ErrorJson {
  if (error instanceof HookError) return { ...error.toJSON(), stack: error.stack ?? '' };
  return { code: 'HOOK_LOAD', message: error instanceof Error ? error.message : String(error), hook, file };
}

process.on('message', (raw: unknown) => {
  const msg = raw as ToChild;
  switch (msg.op) {
    case 'load': {
      const hook = new InlineHook(msg.compiled, {
        limits: msg.limits, hookSettings: msg.hookSettings, http: msg.http, logger: silent,
        breaker: { failureThreshold: Number.MAX_SAFE_INTEGER },
      });
      try {
        hook.start();
        hooks.set(msg.hid, hook);
        send({ rid: msg.rid, loaded: { declaredHook: hook.declaredHook } });
      } catch (error) {
        send({ rid: msg.rid, loadError: errorJson(error, '', msg.compiled.source.displayName) });
      }
      return;
    }
    case 'schema':
      schemas.set(msg.schemaId, msg.schema);
      return;
    case 'invoke': {
      const hook = hooks.get(msg.hid);
      if (!hook) {
        send({ rid: msg.rid, outcome: { ok: false, error: { code: 'HOOK_DISPOSED', message: 'the hook is not loaded in the sandbox process', hook: msg.hook, file: '' }, durationMs: 0, logs: [] } });
        return;
      }
      const outputSchema = msg.schemaId !== undefined ? schemas.get(msg.schemaId) : undefined;
      void hook.invoke(msg.input, { hook: msg.hook, ...(msg.callId !== undefined ? { callId: msg.callId } : {}), ...(outputSchema ? { outputSchema } : {}) }).then((o) => {
        send({ rid: msg.rid, outcome: o.ok ? o : { ok: false, error: { ...o.error.toJSON(), stack: o.error.stack ?? '' }, durationMs: o.durationMs, logs: o.logs } });
      });
      return;
    }
    case 'dispose': {
      const hook = hooks.get(msg.hid);
      hooks.delete(msg.hid);
      void hook?.dispose();
      return;
    }
  }
});

process.on('disconnect', () => process.exit(0));
