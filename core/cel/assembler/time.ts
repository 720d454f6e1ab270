// CEL eventtime (`YYYY-MM-DD HH:MM:SS[.ffffff]`, local PBX time, no zone) → epoch milliseconds.
// Only the safety timeout needs this; call_full keeps the PBX's local text as call_full.md requires.
const PATTERN = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?/;
const formatters = new Map<string, Intl.DateTimeFormat>();

export function eventTimeToMs(eventtime: string, timeZone: string): number {
  const m = PATTERN.exec(eventtime);
  if (m === null) {
    // Some sources write epoch seconds (`<sec>.<usec>`, cel_custom's default dateformat).
    const n = Number(eventtime);
    return Number.isFinite(n) && eventtime !== '' ? n * 1000 : NaN;
  }
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const ms = m[7] === undefined ? 0 : Math.floor(Number(m[7].padEnd(6, '0')) / 1000);
  if (timeZone === '') return new Date(y, mo - 1, d, h, mi, s, ms).getTime();
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  return asUtc - zoneOffsetMs(asUtc, timeZone);
}

/** Offset of `timeZone` from UTC at (about) the given instant. */
function zoneOffsetMs(utcMs: number, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(utcMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const local = Date.UTC(parts['year']!, parts['month']! - 1, parts['day']!, parts['hour']!, parts['minute']!, parts['second']!);
  return local - Math.floor(utcMs / 1000) * 1000;
}
