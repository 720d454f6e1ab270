// +7 → 8: the CRM stores Russian numbers in the domestic 8XXXXXXXXXX format, Asterisk delivers +7XXXXXXXXXX.
//
// A waterfall: `number.custom` holds the number in effect (the auto-replaced one, or the previous hook's
// result); return the number the CRM should see. Numbers that are not Russian pass unchanged, e.g. the
// demo trunk's 15551234.
import { defineHook } from 'callhook';

export default defineHook('process_client_phone', ({ number }) => {
  const current = number.custom || number.original;
  const digits = current.replace(/[^\d+]/g, '');
  if (/^\+7\d{10}$/.test(digits)) return '8' + digits.slice(2);
  if (/^7\d{10}$/.test(digits)) return '8' + digits.slice(1);
  return current;
});
