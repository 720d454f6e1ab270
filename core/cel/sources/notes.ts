// Per-row problems a source tolerates (a NULL read as '', bytes that are not UTF-8, a line that is not a
// CEL row) are reported so nothing degrades silently, but as a few lines per batch: the first
// INDIVIDUAL of each code one by one, the rest as one summary naming how many and where. A table re-read
// after a reset or a file of garbage then logs a handful of lines per batch, not one per row.
import type { CelSourceEvent, CelSourceEventCode } from './source.js';

const INDIVIDUAL = 10;
const NAMED_IN_SUMMARY = 5;

interface Kind {
  level: CelSourceEvent['level'];
  individual: number;
  rest: string[];
  restCount: number;
  lastWhere: string;
  /** How the summary describes the rows, e.g. "rows with NULL fields read as ''". */
  what: string;
}

export class BatchNotes {
  private readonly kinds = new Map<CelSourceEventCode, Kind>();

  constructor(private readonly report: (event: CelSourceEvent) => void) {}

  /**
   * One problem. `message` is the full line reported while under the per-batch limit; `where` + `detail`
   * ("row 12", "cid_num") is what the summary names; `what` describes the kind in the summary.
   */
  add(code: CelSourceEventCode, level: CelSourceEvent['level'], what: string, where: string, message: string, detail?: string): void {
    let kind = this.kinds.get(code);
    if (kind === undefined) {
      kind = { level, individual: 0, rest: [], restCount: 0, lastWhere: '', what };
      this.kinds.set(code, kind);
    }
    if (kind.individual < INDIVIDUAL) {
      kind.individual++;
      this.report({ level, code, message });
      return;
    }
    kind.restCount++;
    kind.lastWhere = where;
    if (kind.rest.length < NAMED_IN_SUMMARY) kind.rest.push(detail === undefined ? where : `${where} (${detail})`);
  }

  /** The end of a batch: one summary per code that had more than INDIVIDUAL problems. */
  flush(prefix: string): void {
    for (const [code, kind] of this.kinds) {
      if (kind.restCount === 0) continue;
      const more = kind.restCount - kind.rest.length;
      const named = kind.rest.join(', ') + (more > 0 ? `, and ${more} more up to ${kind.lastWhere}` : '');
      this.report({ level: kind.level, code, message: `${prefix}… and ${kind.restCount} more ${kind.what} in this batch: ${named}` });
    }
    this.kinds.clear();
  }
}
