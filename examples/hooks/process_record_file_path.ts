// Dated recording path: <root>/YYYY/MM/DD/<time>_<from>_<to>_<uniqueid>.wav, so recordings can be
// archived per day. The result is relative to the recordings root; the host refuses anything that
// leaves it ('..', absolute paths elsewhere, symlinks out).
import { defineHook } from 'callhook';

/** Keeps digits, letters, '+' and '-' so a caller id cannot smuggle path separators into the name. */
function safe(part: string): string {
  return part.replace(/[^0-9A-Za-z+-]/g, '') || 'unknown';
}

export default defineHook('process_record_file_path', ({ call_full, path }) => {
  const start = call_full.channel.start_time; // "YYYY-MM-DD HH:MM:SS", or 0001-01-01 00:00:00 when unknown
  if (start.startsWith('0001-')) return path; // no start time: keep the default name
  const [date = '', time = ''] = start.split(' ');
  const [year, month, day] = date.split('-');
  const from = safe(call_full.channel.from.custom || call_full.channel.from.original);
  const to = safe(call_full.channel.to.custom || call_full.channel.to.original);
  const name = `${time.replace(/:/g, '')}_${from}_${to}_${safe(call_full.channel.id)}.wav`;
  return `${year}/${month}/${day}/${name}`;
});
