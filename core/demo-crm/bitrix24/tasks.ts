// tasks.task.add and tasks.task.list: enough for missed-call tasks (TITLE, RESPONSIBLE_ID, DEADLINE,
// DESCRIPTION, TAGS, UF_CRM_TASK) and for finding a task again by its unique tag when the answer to its
// creation was lost. Answers use the method's own camelCase field names (`responsibleId`, `tags`).
import { parseIsoDateTime } from '../../crm/bitrix24/time.js';
import type { JsonValue } from '../../crm/types.js';
import { coreError, RestError } from './errors.js';
import { isObject, phpInt, phpString, upperKeys, type Params } from './params.js';
import type { MethodAnswer, MethodContext, Portal } from './portal.js';
import type { JsonRecord, LocalTask } from './state.js';
import { PAGE_SIZE } from './users.js';

function list(v: JsonValue | undefined): string[] {
  if (Array.isArray(v)) return v.map(phpString).filter((s) => s !== '');
  const s = phpString(v);
  return s === '' ? [] : s.split(',').map((t) => t.trim()).filter((t) => t !== '');
}

function taskJson(portal: Portal, t: LocalTask, withTags: boolean): JsonRecord {
  const out: JsonRecord = {
    id: String(t.ID), title: t.TITLE, description: t.DESCRIPTION, responsibleId: String(t.RESPONSIBLE_ID), createdBy: String(t.CREATED_BY),
    createdDate: t.CREATED_DATE, deadline: t.DEADLINE, status: String(t.STATUS), ufCrmTask: [...t.UF_CRM_TASK],
  };
  const user = portal.state.users.get(t.RESPONSIBLE_ID);
  out['responsible'] = { id: String(t.RESPONSIBLE_ID), name: [user?.NAME, user?.LAST_NAME].filter(Boolean).join(' '), workPosition: user?.WORK_POSITION ?? '' };
  // The list answer keys tags by their id: {"35": {"id": 35, "title": "…"}}.
  if (withTags) out['tags'] = Object.fromEntries(t.TAGS.map((title, i) => [String(t.ID * 100 + i), { id: t.ID * 100 + i, title }]));
  return out;
}

export function taskAdd(portal: Portal, params: Params, ctx: MethodContext): MethodAnswer {
  const raw = upperKeys(params)['FIELDS'];
  if (!isObject(raw) || Object.keys(raw).length === 0) throw new RestError(400, '100', 'Could not find value for parameter {fields} (internal error)');
  const f = upperKeys(raw);
  const title = phpString(f['TITLE']).trim();
  if (title === '') throw coreError('Task title not specified<br>');
  const responsible = phpInt(f['RESPONSIBLE_ID']);
  if (responsible === 0) throw coreError('Assignee not specified<br>');
  if (portal.activeUser(responsible) === undefined) throw coreError('User specified in the "Assignee" field not found<br>');
  let deadline: string | null = null;
  if (phpString(f['DEADLINE']) !== '') {
    const ms = parseIsoDateTime(phpString(f['DEADLINE']).replace(' ', 'T'), portal.options.timeZone);
    if (ms === null) throw coreError('Invalid deadline<br>');
    deadline = portal.date(ms);
  }
  const task: LocalTask = {
    ID: portal.next('task'), TITLE: title, RESPONSIBLE_ID: responsible, CREATED_BY: phpInt(f['CREATED_BY']) || ctx.actingUserId,
    DEADLINE: deadline, DESCRIPTION: phpString(f['DESCRIPTION']), TAGS: list(f['TAGS']), UF_CRM_TASK: list(f['UF_CRM_TASK']),
    CREATED_DATE: portal.date(ctx.nowMs), STATUS: 2,
  };
  portal.state.tasks.set(task.ID, task);
  return { result: { task: taskJson(portal, task, false) } };
}

function taskMatches(t: LocalTask, key: string, want: JsonValue): boolean {
  const m = /^(!|>=|<=|>|<|=)?(.+)$/.exec(key);
  const op = m?.[1] ?? '';
  const field = (m?.[2] ?? key).toUpperCase();
  const wants = (Array.isArray(want) ? want : [want]).map(phpString);
  let hit: boolean;
  switch (field) {
    case 'ID': case 'RESPONSIBLE_ID': case 'CREATED_BY': case 'STATUS': case 'REAL_STATUS': {
      const have = field === 'ID' ? t.ID : field === 'RESPONSIBLE_ID' ? t.RESPONSIBLE_ID : field === 'CREATED_BY' ? t.CREATED_BY : t.STATUS;
      const n = Number(wants[0]);
      if (op === '>') return have > n;
      if (op === '>=') return have >= n;
      if (op === '<') return have < n;
      if (op === '<=') return have <= n;
      hit = wants.map(Number).includes(have);
      break;
    }
    case 'TAG': hit = wants.some((w) => t.TAGS.includes(w)); break;
    case 'TITLE': {
      // `%` and `_` are patterns, as in the docs ("can search by pattern [%_]").
      hit = wants.some((w) => new RegExp(`^${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.')}$`, 'i').test(t.TITLE));
      break;
    }
    case 'UF_CRM_TASK': hit = wants.some((w) => t.UF_CRM_TASK.includes(w)); break;
    default: return true; // other filters are not modelled: they do not narrow the list
  }
  return op === '!' ? !hit : hit;
}

export function taskList(portal: Portal, params: Params): MethodAnswer {
  const p = upperKeys(params);
  const filter = isObject(p['FILTER']) ? p['FILTER'] : {};
  const select = Array.isArray(p['SELECT']) ? p['SELECT'].map((s) => phpString(s).toUpperCase()) : [];
  const tasks = [...portal.state.tasks.values()].filter((t) => Object.entries(filter).every(([k, v]) => taskMatches(t, k, v)));
  const start = Math.max(0, phpInt(p['START']));
  const withTags = select.length === 0 || select.includes('TAGS') || select.includes('*');
  const answer: MethodAnswer = { result: { tasks: tasks.slice(start, start + PAGE_SIZE).map((t) => taskJson(portal, t, withTags)) }, total: tasks.length };
  if (start + PAGE_SIZE < tasks.length) answer.next = start + PAGE_SIZE;
  return answer;
}
