// Missing ids in a live table. Concurrent inserts commit out of id order: id n+1 can become visible
// after n+2, by the commit lag (bench/cel-commit-lag: p99.9 ~110 ms, worst ~350 ms on this machine under
// load). A reader that moves its cursor past n+1 must not lose it, so:
//   - a gap is HELD: rows after it are not handed over until it fills, or until it has been missing for
//     `holdMs` (gap_wait_ms). "Missing for" is measured on the wall clock since the gap was first seen,
//     or, when the rows themselves prove it (the newest row read is more than holdMs + 1 s younger than the
//     row right after the gap, by eventtime), at once: an old gap in a backlog is not waited for;
//   - a gap given up on is WATCHED for `watchMs` (gap_watch_ms): the source keeps re-reading those ids,
//     and a row that turns up is handed over late (below the cursor) instead of being lost;
//   - gaps older than the watch time by the rows' clock (history: purged rows, rollbacks long ago) are
//     accepted without watching.
// Pure bookkeeping: the MariaDB source does the reading.
import type { CelRow } from '../row.js';
import { eventTimeToMs } from '../assembler/time.js';
import type { WatchedGap } from './source.js';

export interface GapPolicy {
  holdMs: number;
  watchMs: number;
  /** Id step of consecutive inserts (@@auto_increment_increment). */
  step: number;
  /** Gap ranges watched at most; the oldest are given up first. */
  maxWatched: number;
  now?: () => number;
}

export interface GapCut {
  /** How many of the rows may be handed over now (all of them, or those before a gap still held). */
  take: number;
  /** Gaps passed over in those rows, now watched (to warn about). */
  skipped: WatchedGap[];
  /** Gaps passed over that are older than the watch time by the rows' clock: accepted silently but counted. */
  old: number;
}

/** Slack for whole-second eventtimes (a FreePBX DATETIME drops the fraction). */
const TIME_SLACK_MS = 1000;

export class GapTracker {
  /** Gap (keyed by its first id) → when it was first seen missing (wall clock). */
  private readonly held = new Map<number, number>();
  private watchedGaps: WatchedGap[] = [];
  private readonly now: () => number;
  /** The id step, known once the table's server was asked (@@auto_increment_increment). */
  step: number;

  constructor(private readonly policy: GapPolicy) {
    this.now = policy.now ?? Date.now;
    this.step = policy.step;
  }

  get watched(): readonly WatchedGap[] {
    return this.watchedGaps;
  }

  /** Gaps carried over from a resume state. */
  restore(gaps: readonly WatchedGap[] | undefined): void {
    if (gaps !== undefined) this.watchedGaps = gaps.map((g) => ({ ...g }));
  }

  reset(): void {
    this.held.clear();
    this.watchedGaps = [];
  }

  /**
   * rows: read after `cursor`, ascending, the cursor row not included. `headTime`: the eventtime of the
   * table's newest row when known (else the newest of `rows` is used). With cursor 0 (a first start) the
   * ids before the first row are history, not gaps.
   */
  cut(rows: readonly CelRow[], cursor: number, headTime?: string): GapCut {
    const now = this.now();
    const skipped: WatchedGap[] = [];
    let old = 0;
    if (rows.length === 0) return { take: 0, skipped, old };
    // The newest time is only needed (and parsed) once a gap shows up.
    let newest: number | undefined;
    const newestMs = (): number => {
      if (newest === undefined) {
        newest = headTime === undefined ? NaN : eventTimeToMs(headTime, '');
        if (!Number.isFinite(newest)) newest = newestTime(rows);
      }
      return newest;
    };
    const step = this.step;
    let expected = cursor > 0 ? cursor + step : (rows[0] as CelRow).id;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as CelRow;
      if (row.id > expected) {
        const since = this.held.get(expected) ?? now;
        this.held.set(expected, since);
        const age = newestMs() - eventTimeToMs(row.eventtime, '');
        const provenOld = Number.isFinite(age) && age > this.policy.holdMs + TIME_SLACK_MS;
        if (!provenOld && now - since < this.policy.holdMs) return { take: i, skipped, old };
        this.held.delete(expected);
        const gap = { from: expected, to: row.id - 1, since: now };
        if (Number.isFinite(age) && age > this.policy.watchMs + TIME_SLACK_MS) old++;
        else {
          this.watch(gap);
          skipped.push(gap);
        }
      }
      expected = row.id + step;
    }
    for (const key of this.held.keys()) if (key < expected) this.held.delete(key);
    return { take: rows.length, skipped, old };
  }

  /** Ids of watched gaps that turned up: no longer watched. */
  filled(ids: readonly number[]): void {
    for (const id of ids) {
      const next: WatchedGap[] = [];
      for (const g of this.watchedGaps) {
        if (id < g.from || id > g.to) {
          next.push(g);
          continue;
        }
        if (g.from < id) next.push({ from: g.from, to: id - 1, since: g.since });
        if (id < g.to) next.push({ from: id + 1, to: g.to, since: g.since });
      }
      this.watchedGaps = next;
    }
  }

  /** Drops gaps watched for longer than watchMs; returns how many. */
  expire(): number {
    const limit = this.now() - this.policy.watchMs;
    const before = this.watchedGaps.length;
    this.watchedGaps = this.watchedGaps.filter((g) => g.since > limit);
    return before - this.watchedGaps.length;
  }

  /** Forgets watched gaps above `cursor` (the source started over below them). */
  below(cursor: number): void {
    this.watchedGaps = this.watchedGaps.filter((g) => g.to <= cursor);
  }

  private watch(gap: WatchedGap): void {
    this.watchedGaps.push(gap);
    if (this.watchedGaps.length > this.policy.maxWatched) this.watchedGaps.shift();
  }
}

function newestTime(rows: readonly CelRow[]): number {
  let newest = NaN;
  for (const r of rows) {
    const t = eventTimeToMs(r.eventtime, '');
    if (Number.isFinite(t) && !(t <= newest)) newest = t;
  }
  return newest;
}
