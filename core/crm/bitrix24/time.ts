// Times as Bitrix24 wants them: ISO-8601 with the explicit offset of a given IANA zone at that moment
// (CALL_START_DATE: "the date must include the time zone to avoid distortion of the call time"; the
// "wrong time in created cases" complaint). The PBX writes local wall time without a zone
// (`YYYY-MM-DD HH:MM:SS`), so the offset has to be found for that wall time in `calls.pbx_time_zone`,
// which is ambiguous once a year (the repeated hour when clocks go back) and impossible once a year (the
// skipped hour when they go forward). Rules: a repeated wall time is the FIRST occurrence; a skipped one
// is read with the offset in force before the jump (02:30 in a 02:00→03:00 jump is 03:30 after it),
// which is what JavaScript's own Date does for the host zone.

const formatters = new Map<string, Intl.DateTimeFormat>();
const DAY_MS = 86_400_000;

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    // Throws RangeError for an unknown zone: callers turn that into a settings error.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether `timeZone` is '' (the host's zone) or an IANA zone this Node knows. */
export function isKnownTimeZone(timeZone: string): boolean {
  if (timeZone === '') return true;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC in ms at an instant ('' = the host's zone). */
export function zoneOffsetMs(epochMs: number, timeZone: string): number {
  if (timeZone === '') return -new Date(epochMs).getTimezoneOffset() * 60_000;
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(epochMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts['year']!, parts['month']! - 1, parts['day']!, parts['hour']!, parts['minute']!, parts['second']!);
  return wall - Math.floor(epochMs / 1000) * 1000;
}

/** Wall time (given as if it were UTC ms) in a zone → the instant, with the ambiguity rules above. */
export function wallTimeToEpoch(wallAsUtcMs: number, timeZone: string): number {
  const before = zoneOffsetMs(wallAsUtcMs - DAY_MS, timeZone);
  const after = zoneOffsetMs(wallAsUtcMs + DAY_MS, timeZone);
  const candidates = [wallAsUtcMs - before, wallAsUtcMs - after].filter((t) => t + zoneOffsetMs(t, timeZone) === wallAsUtcMs);
  if (candidates.length === 0) return wallAsUtcMs - before; // a skipped wall time
  return Math.min(...candidates);
}

function pad(n: number, width = 2): string {
  return String(Math.abs(n)).padStart(width, '0');
}

/** `+03:00` / `-05:30` / `+00:00` for an offset in ms. */
export function formatOffset(offsetMs: number): string {
  const minutes = Math.round(offsetMs / 60_000);
  return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
}

/** An instant as `YYYY-MM-DDTHH:MM:SS±HH:MM` in a zone ('' = the host's zone). */
export function isoWithOffset(epochMs: number, timeZone: string): string {
  const offset = zoneOffsetMs(epochMs, timeZone);
  const wall = new Date(Math.floor(epochMs / 1000) * 1000 + offset);
  return (
    `${pad(wall.getUTCFullYear(), 4)}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}` +
    `T${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}${formatOffset(offset)}`
  );
}

const PBX_LOCAL = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/**
 * A PBX local time (`YYYY-MM-DD HH:MM:SS`, call_full's DateTime) → ISO-8601 with the explicit offset of
 * `timeZone` at that moment ('' = the host's zone), e.g. ('2026-03-07 10:20:30', 'Europe/Moscow') →
 * '2026-03-07T10:20:30+03:00'. Throws for a malformed time or an unknown zone (both are the caller's bug
 * or a settings error, never a CRM problem).
 */
export function bitrixDateTime(pbxLocal: string, timeZone: string): string {
  const m = PBX_LOCAL.exec(pbxLocal);
  if (m === null) throw new Error(`bitrixDateTime: ${JSON.stringify(pbxLocal)} is not YYYY-MM-DD HH:MM:SS`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(wall);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw new Error(`bitrixDateTime: ${JSON.stringify(pbxLocal)} is not a valid date and time`);
  }
  if (!isKnownTimeZone(timeZone)) throw new Error(`bitrixDateTime: unknown time zone ${JSON.stringify(timeZone)}`);
  return isoWithOffset(wallTimeToEpoch(wall, timeZone), timeZone);
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * ISO-8601 as Bitrix24 reads CALL_START_DATE: with an offset it is exact; without one it is read in
 * `defaultZone` (the portal's zone: the "distortion" the docs warn about). Null when unparseable.
 */
export function parseIsoDateTime(text: string, defaultZone: string): number | null {
  const m = ISO.exec(text.trim());
  if (m === null) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [h, mi, s] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(wall);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null;
  const zone = m[7];
  if (zone === undefined) return wallTimeToEpoch(wall, defaultZone);
  if (zone === 'Z') return wall;
  const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
  const offset = (Number(z[2]) * 60 + Number(z[3])) * 60_000 * (z[1] === '-' ? -1 : 1);
  return wall - offset;
}
