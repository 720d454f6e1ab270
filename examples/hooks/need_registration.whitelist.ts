// Whitelist: only calls of employees who have a CRM seat are logged.
//
// Runs next to the blacklist ("all": both must say yes). Internal-only calls (type "local") are not
// customer conversations, so they are not logged either.
import { defineHook } from 'callhook';

/** Extensions with a CRM seat in the demo office: 200 reception, 201-204 sales, 211-212 support (queue 600). */
const CRM_SEATS = new Set(['200', '201', '202', '203', '204', '211', '212']);

export default defineHook('need_registration', ({ call_full }) => {
  if (call_full.channel.type === 'local') return false;
  const extensions = [call_full.channel.from, call_full.channel.to]
    .concat(Object.values(call_full.conversations).map((c) => c.channel.to))
    .filter((n) => n.is_local)
    .map((n) => n.original);
  // A call that has not reached an employee yet (still in the IVR) is kept: a later stage decides.
  if (extensions.length === 0) return true;
  return extensions.some((e) => CRM_SEATS.has(e));
});
