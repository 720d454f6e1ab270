// Click-to-call dial prefix: the CRM sends numbers as +1 555 512 345 or 155512345; the demo PBX dials
// external numbers through the outbound route "0" + number (see 0155512345 in the recorded calls).
// Internal numbers (up to 4 digits) are dialed as they are.
import { defineHook } from 'callhook';

const OUTSIDE_LINE_PREFIX = '0';

export default defineHook('process_originate_params', (params) => {
  const digits = params.extension.replace(/\D/g, '');
  if (digits.length <= 4) return { ...params, extension: digits };
  // Already prefixed by the CRM user: keep it.
  const extension = digits.startsWith(OUTSIDE_LINE_PREFIX) ? digits : OUTSIDE_LINE_PREFIX + digits;
  return { ...params, extension };
});
