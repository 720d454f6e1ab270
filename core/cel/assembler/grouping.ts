// Which call a row belongs to. A call is every channel whose linkedid chain connects: linkedids that
// share a uniqueid (park retrieval, pickup, re-originate: the channel switches linkedid) are merged, as
// are calls joined by a PICKUP/PARK_END/ATTENDEDTRANSFER reference or by a shared two-party bridge.
// Instead of a textbook union-find with parent pointers, each key maps straight to its live CallState
// and a merge re-points the smaller side's keys: calls are small, and lookups stay one Map.get per row.
import type { CelRow } from '../row.js';
import { CallState } from './call.js';
import type { CompiledCallsSettings } from './settings.js';

const FINISHED_MEMORY = 50_000;

export class CallRegistry {
  readonly byLinkedid = new Map<string, CallState>();
  readonly byUniqueid = new Map<string, CallState>();
  /** Live channel name → uniqueid (PARK_END names its retriever by channel name only). */
  readonly uidByName = new Map<string, string>();
  /** Calls in progress, oldest first. */
  readonly live = new Set<CallState>();
  /** linkedids of the last FINISHED_MEMORY finished calls: rows for them arrive late and are not a new call. */
  private readonly finished = new Set<string>();
  /** The same linkedids in the order they were first remembered (a ring: the oldest is forgotten first). */
  private readonly finishedOrder: string[] = [];
  private finishedNext = 0;

  constructor(private readonly settings: CompiledCallsSettings) {}

  /** The live call of a row, without creating one. */
  find(row: CelRow): CallState | undefined {
    return this.byLinkedid.get(row.linkedid) ?? this.byUniqueid.get(row.uniqueid);
  }

  isFinishedLinkedid(linkedid: string): boolean {
    return this.finished.has(linkedid);
  }

  /** The call a row belongs to, creating or merging calls as its uniqueid/linkedid pair requires. */
  callFor(row: CelRow): CallState {
    const byLid = this.byLinkedid.get(row.linkedid);
    const byUid = this.byUniqueid.get(row.uniqueid);
    let call: CallState;
    if (byLid !== undefined && byUid !== undefined && byLid !== byUid) call = this.merge(byLid, byUid);
    else call = byLid ?? byUid ?? this.create(row);
    if (byLid === undefined) this.byLinkedid.set(row.linkedid, call);
    if (byUid === undefined) {
      this.byUniqueid.set(row.uniqueid, call);
      this.uidByName.set(row.channame, row.uniqueid);
    }
    return call;
  }

  private create(row: CelRow): CallState {
    const call = new CallState(row.linkedid, row.id, this.settings);
    this.live.add(call);
    return call;
  }

  /** Merges two live calls; the one that started first survives (its linkedid stays the call's id). */
  merge(a: CallState, b: CallState): CallState {
    if (a === b) return a;
    const [keep, gone] = a.firstRowId <= b.firstRowId ? [a, b] : [b, a];
    keep.absorb(gone);
    for (const lid of gone.linkedids.keys()) this.byLinkedid.set(lid, keep);
    for (const uid of gone.channels.keys()) this.byUniqueid.set(uid, keep);
    if (this.byLinkedid.get(gone.id) !== keep) this.byLinkedid.set(gone.id, keep);
    this.live.delete(gone);
    return keep;
  }

  /** Forgets a finished call's keys, remembering its linkedids so late rows are recognised. */
  retire(call: CallState): void {
    this.live.delete(call);
    for (const lid of call.linkedids.keys()) {
      if (this.byLinkedid.get(lid) === call) this.byLinkedid.delete(lid);
      this.rememberFinished(lid);
    }
    for (const [uid, c] of call.channels) {
      if (this.byUniqueid.get(uid) === call) this.byUniqueid.delete(uid);
      if (this.uidByName.get(c.name) === uid) this.uidByName.delete(c.name);
    }
  }

  /** The last `limit` linkedids remembered, oldest first. */
  recentlyFinished(limit: number): string[] {
    const order = this.finishedOrder;
    const n = order.length;
    // The ring's oldest entry is at finishedNext once it is full (at 0 before).
    const start = n < FINISHED_MEMORY ? 0 : this.finishedNext;
    const out: string[] = [];
    for (let k = Math.max(0, n - limit); k < n; k++) out.push(order[(start + k) % n]!);
    return out;
  }

  rememberFinished(lid: string): void {
    if (this.finished.has(lid)) return;
    this.finished.add(lid);
    const order = this.finishedOrder;
    if (order.length < FINISHED_MEMORY) {
      order.push(lid);
      return;
    }
    this.finished.delete(order[this.finishedNext]!);
    order[this.finishedNext] = lid;
    this.finishedNext = (this.finishedNext + 1) % FINISHED_MEMORY;
  }
}
