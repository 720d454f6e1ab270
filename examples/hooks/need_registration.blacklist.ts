// Blacklist: calls that must never reach the CRM.
//
// need_registration runs at every stage of every conversation ("all" composition: every
// need_registration hook must say yes). Returning false at any stage drops the call from the CRM;
// keep the check cheap and the same at every stage so a call is never half-registered.
import { defineHook, type CallFull } from 'callhook';

/** Internal numbers whose calls are never logged: 204 is the lobby phone in the demo office. */
const BLOCKED_EXTENSIONS = new Set(['204']);

/** Client numbers never logged (known robocallers). Compared on `base`, the number without prefixes. */
const BLOCKED_CLIENTS = new Set(['5550000', '15550000']);

/** The numbers of the parties of the call's main channel, split into employees and clients. */
function parties(call: CallFull): { employees: string[]; clients: string[] } {
  const employees: string[] = [];
  const clients: string[] = [];
  for (const n of [call.channel.from, call.channel.to]) {
    const number = n.custom || n.original;
    if (number === '') continue;
    (n.is_local ? employees : clients).push(n.is_local ? number : n.base || number);
  }
  // Every conversation leg that rang an employee (ring groups, queues, transfers) counts too.
  for (const conversation of Object.values(call.conversations)) {
    const leg = conversation.channel.to;
    if (leg.is_local && leg.original !== '') employees.push(leg.original);
  }
  return { employees, clients };
}

export default defineHook('need_registration', ({ call_full }) => {
  const { employees, clients } = parties(call_full);
  if (employees.some((e) => BLOCKED_EXTENSIONS.has(e))) return false;
  if (clients.some((c) => BLOCKED_CLIENTS.has(c))) return false;
  return true;
});
