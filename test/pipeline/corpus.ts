// Many calls from a few recorded ones, for volume and kill tests: each copy of a recorded call gets its
// own uniqueids/linkedid (everywhere they appear, extra and peer included), its own channel-name
// suffixes, fresh ids in write order and event times moved to a chosen start. The copies are the same
// calls, so what the CRM must receive for each is known from its original.
import type { CelRow } from '../../core/cel/row.js';

const TEXT_FIELDS = ['channame', 'peer', 'extra', 'appdata', 'uniqueid', 'linkedid'] as const satisfies readonly (keyof CelRow)[];

export interface CloneOptions {
  /** First id of the generated rows (ids then increase by one per row). */
  firstId: number;
  /** Start of the first call, ms since the epoch (PBX local time, read as UTC). */
  startMs: number;
  /** Time between the starts of consecutive copies, ms. */
  spacingMs: number;
  /** Prefix of the generated uniqueids (seconds part), so runs don't collide. */
  idSeconds: number;
  /** Which recorded calls to copy (by the linkedid of their first row); default all. */
  only?(linkedid: string): boolean;
}

export interface ClonedCall {
  linkedid: string;
  /** linkedid of the recorded call it copies. */
  original: string;
  rows: CelRow[];
}

/**
 * Rows grouped into calls the way the assembler joins them: rows whose uniqueid or linkedid meet are one
 * call (a parked call's retrieval leg has a linkedid of its own until it meets the parked channel). The
 * key is the linkedid of the call's first row.
 */
function groupByCall(rows: readonly CelRow[]): Map<string, CelRow[]> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== undefined && parent.get(r) !== r) r = parent.get(r) as string;
    parent.set(x, r);
    return r;
  };
  const union = (a: string, b: string): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(rb, ra);
  };
  for (const row of rows) {
    if (!parent.has(row.linkedid)) parent.set(row.linkedid, row.linkedid);
    if (!parent.has(row.uniqueid)) parent.set(row.uniqueid, row.uniqueid);
    union(row.linkedid, row.uniqueid);
  }
  const calls = new Map<string, CelRow[]>();
  const keyOf = new Map<string, string>();
  for (const row of rows) {
    const component = find(row.linkedid);
    const key = keyOf.get(component) ?? row.linkedid;
    keyOf.set(component, key);
    const list = calls.get(key) ?? [];
    list.push(row);
    calls.set(key, list);
  }
  return calls;
}

function pbxTime(ms: number, micros: string): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}${micros}`;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `count` copies of the recorded calls, round robin, rows interleaved in write order per copy. */
export function cloneCalls(recorded: readonly CelRow[], count: number, o: CloneOptions): ClonedCall[] {
  const originals = [...groupByCall(recorded).entries()].filter(([id]) => o.only?.(id) ?? true);
  const out: ClonedCall[] = [];
  let nextId = o.firstId;
  let serial = 0;
  for (let k = 0; k < count; k++) {
    const [originalId, rows] = originals[k % originals.length] as [string, CelRow[]];
    const ids = new Set<string>();
    const suffixes = new Set<string>();
    for (const r of rows) {
      ids.add(r.uniqueid);
      ids.add(r.linkedid);
      for (const f of TEXT_FIELDS) for (const m of String(r[f]).matchAll(/-([0-9a-f]{8})(?=[;,"\s]|$)/g)) suffixes.add(m[1] as string);
    }
    const idMap = new Map([...ids].map((id) => [id, `${o.idSeconds + k}.${serial++}`]));
    const suffixMap = new Map([...suffixes].map((s) => [s, (serial++ + 0x10000000).toString(16).slice(-8)]));
    const idPattern = new RegExp(`(?<![0-9.])(${[...idMap.keys()].map(escape).join('|')})(?![0-9])`, 'g');
    const suffixPattern = suffixMap.size > 0 ? new RegExp(`-(${[...suffixMap.keys()].join('|')})(?=[;,"\\s]|$)`, 'g') : null;
    const remap = (s: string): string => {
      let t = s.replace(idPattern, (id) => idMap.get(id) ?? id);
      if (suffixPattern !== null) t = t.replace(suffixPattern, (_m, sfx: string) => `-${suffixMap.get(sfx) ?? sfx}`);
      return t;
    };
    const t0 = Date.parse(`${(rows[0] as CelRow).eventtime.slice(0, 19).replace(' ', 'T')}Z`);
    const shift = o.startMs + k * o.spacingMs - t0;
    const copy = rows.map((r): CelRow => {
      const t = Date.parse(`${r.eventtime.slice(0, 19).replace(' ', 'T')}Z`) + shift;
      const out: CelRow = { ...r, id: nextId++, eventtime: pbxTime(t, r.eventtime.slice(19)) };
      for (const f of TEXT_FIELDS) (out as unknown as Record<string, string>)[f] = remap(String(r[f]));
      return out;
    });
    out.push({ linkedid: idMap.get(originalId) as string, original: originalId, rows: copy });
  }
  return out;
}
