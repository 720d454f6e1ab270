// Post-registration webhook: after the call is logged in the CRM, tell another system (a helpdesk, a
// BI collector) about it. post_registration hooks run in parallel and their results are ignored; a
// failing webhook never affects the call's registration or other hooks.
//
// The host's `http` only reaches the host:port entries the operator lists in settings (hooks.allow_hosts for
// loose files, hooks.packs[i].allow_hosts for a pack); anything else is refused with HOOK_HTTP_REFUSED.
import { defineHook, http, log } from 'callhook';

/** Where to send events; '' = only log what would be sent (the demo runs without a receiver). */
const WEBHOOK_URL = '';

export default defineHook('post_registration', async ({ call_full }) => {
  const ch = call_full.channel;
  const event = {
    call_id: ch.id,
    type: ch.type,
    from: ch.from.custom || ch.from.original,
    to: ch.to.custom || ch.to.original,
    trunk: ch.trunk.original,
    answered: ch.was_answered,
    result: call_full.result,
    crm_call_id: call_full.registration?.id ?? null,
    record: call_full.record,
  };
  if (WEBHOOK_URL === '') {
    log.info('post_registration webhook (not sent: WEBHOOK_URL is empty)', event);
    return null;
  }
  const res = await http.post(WEBHOOK_URL, event, { timeoutMs: 2000 });
  if (res.status >= 300) log.warn('webhook answered with an error status', { status: res.status });
  return null; // the result of a post_registration hook is ignored; null says "nothing"
});
