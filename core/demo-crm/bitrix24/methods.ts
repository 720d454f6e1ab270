// The methods the local portal implements, by lower-case name (Bitrix24 method names are
// case-insensitive: `telephony.externalCall.register` and `telephony.externalcall.register` are one).
import * as crm from './crm.js';
import type { MethodRun } from './portal.js';
import type { Scope } from './state.js';
import { taskAdd, taskList } from './tasks.js';
import * as telephony from './telephony.js';
import { userGet } from './users.js';

export interface MethodSpec {
  scope: Scope;
  run: MethodRun;
}

export const METHODS: ReadonlyMap<string, MethodSpec> = new Map<string, MethodSpec>([
  ['user.get', { scope: 'user', run: userGet }],
  ['telephony.externalcall.register', { scope: 'telephony', run: telephony.register }],
  ['telephony.externalcall.finish', { scope: 'telephony', run: telephony.finish }],
  ['telephony.externalcall.show', { scope: 'telephony', run: telephony.show }],
  ['telephony.externalcall.hide', { scope: 'telephony', run: telephony.hide }],
  ['telephony.externalcall.attachrecord', { scope: 'telephony', run: telephony.attachRecord }],
  ['telephony.externalcall.searchcrmentities', { scope: 'telephony', run: telephony.searchCrmEntities }],
  ['voximplant.statistic.get', { scope: 'telephony', run: telephony.statisticGet }],
  ['crm.duplicate.findbycomm', { scope: 'crm', run: crm.findByComm }],
  ['crm.contact.get', { scope: 'crm', run: crm.get('CONTACT') }],
  ['crm.contact.update', { scope: 'crm', run: crm.update('CONTACT', 'crm.contact.update') }],
  ['crm.lead.get', { scope: 'crm', run: crm.get('LEAD') }],
  ['crm.lead.update', { scope: 'crm', run: crm.update('LEAD', 'crm.lead.update') }],
  ['crm.company.get', { scope: 'crm', run: crm.get('COMPANY') }],
  ['crm.company.update', { scope: 'crm', run: crm.update('COMPANY', 'crm.company.update') }],
  ['crm.activity.get', { scope: 'crm', run: crm.get('ACTIVITY') }],
  ['crm.activity.update', { scope: 'crm', run: crm.update('ACTIVITY', 'crm.activity.update') }],
  ['tasks.task.add', { scope: 'task', run: taskAdd }],
  ['tasks.task.list', { scope: 'task', run: taskList }],
]);

/** Whether granted scopes cover a method's scope (`user_basic` is enough for user.get). */
export function scopeGranted(granted: readonly Scope[], needed: Scope): boolean {
  return granted.includes(needed) || (needed === 'user' && granted.includes('user_basic'));
}
