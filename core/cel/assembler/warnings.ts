// The assembler's warnings, and the one rule that keeps them readable: within one window (a source batch:
// the window closes at drainFinished(), flush() or summarizeWarnings()), the first PER_WINDOW warnings of
// each code are passed on one by one and the rest of that code become ONE summary warning with their count
// and row ids. A table read again after a reset, or a file full of garbage, then logs a few lines per
// batch instead of one per row; the counters in assembler.stats still count every row.

export type AssemblerWarningCode =
  | 'bad_extra' | 'missing_field' | 'duplicate_row' | 'out_of_order' | 'late_row' | 'timeout'
  | 'unknown_event' | 'bad_time' | 'no_hangup' | 'no_channel_event' | 'restore';

export interface AssemblerWarning {
  code: AssemblerWarningCode;
  message: string;
  rowId?: number;
  /** Set on a summary: how many warnings of this code it stands for (each would have been one line). */
  count?: number;
}

export const WARNINGS_PER_WINDOW = 10;

interface Held {
  passed: number;
  suppressed: number;
  firstRowId: number | undefined;
  lastRowId: number | undefined;
}

export class WarningWindow {
  private readonly held = new Map<AssemblerWarningCode, Held>();
  /** While restoring a resume state the rows' warnings were already reported by the run that saved it. */
  muted = false;

  constructor(private readonly emit: (w: AssemblerWarning) => void) {}

  warn(w: AssemblerWarning): void {
    if (this.muted) return;
    let h = this.held.get(w.code);
    if (h === undefined) {
      h = { passed: 0, suppressed: 0, firstRowId: undefined, lastRowId: undefined };
      this.held.set(w.code, h);
    }
    if (h.passed < WARNINGS_PER_WINDOW) {
      h.passed++;
      this.emit(w);
      return;
    }
    h.suppressed++;
    if (w.rowId !== undefined) {
      h.firstRowId ??= w.rowId;
      h.lastRowId = w.rowId;
    }
  }

  /** Ends the window: one summary per code that had more than PER_WINDOW warnings. */
  close(): void {
    for (const [code, h] of this.held) {
      if (h.suppressed === 0) continue;
      const rows = h.firstRowId === undefined ? '' : h.firstRowId === h.lastRowId ? ` (row ${h.firstRowId})` : ` (rows ${h.firstRowId}–${h.lastRowId})`;
      const summary: AssemblerWarning = { code, message: `… and ${h.suppressed} more ${code} warnings${rows} in this batch`, count: h.suppressed };
      if (h.firstRowId !== undefined) summary.rowId = h.firstRowId;
      this.emit(summary);
    }
    this.held.clear();
  }
}
