// `callhook replay <file>`: assembles a recorded CEL file (JSON Lines or CSV, FreePBX column names) into
// calls. With --out, one JSON line per finished call `{"linkedid", "call_full"}` (and with --stages every
// stage event before it); without --out, a readable table on stdout. The file is streamed through the
// replay source and runIngest (the same path as `callhook run`), so memory stays bounded whatever its
// size: with --out nothing is kept per call; the table keeps one summary line per call.
// Calls still open at the end of the file are finished as by the safety timeout and counted on stderr.
// Exits 1 when nothing valid was read (an empty file, a compressed or binary one, every line rejected).
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { CallAssembler, CallsSettingsError, type CallsSettings, type FinishedCall, type StageEvent } from '../cel/assembler/index.js';
import { runIngest } from '../cel/ingest.js';
import { createReplaySource, escapeControls, type CelSourceEvent, type StateStore } from '../cel/sources/index.js';
import { summarizeCall, type CallSummary } from '../cel/call-summary.js';
import { createNumberModel, NumberSettingsError, type NumberModel } from '../numbers/index.js';
import { loadSettings, SettingsError } from '../settings/index.js';

const USAGE = 'usage: callhook replay <file.jsonl|file.csv> [--settings settings.json] [--out calls.jsonl] [--stages]';

/** What the table needs of a call: its summary and, with --stages, one line per stage. */
export interface TableCall {
  linkedid: string;
  summary: CallSummary;
  stages: string[];
}

/** A replay does not resume: its state is thrown away. */
const NO_STATE: StateStore = { load: async () => ({ cursor: 0, pendingRows: [] }), save: async () => {}, close: async () => {} };

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { settings: { type: 'string' }, out: { type: 'string' }, stages: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    process.stderr.write(`callhook replay: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.positionals.length !== 1) {
    process.stderr.write(`callhook replay: expected exactly one CEL file, got ${args.positionals.length}\n${USAGE}\n`);
    return 2;
  }
  const file = args.positionals[0]!;
  const say = (text: string): void => void process.stderr.write(`${escapeControls(text, 2000)}\n`);

  // The whole settings file is validated (core/settings); the replay uses its `calls` and `numbers` sections.
  let calls: CallsSettings;
  let numbers: NumberModel;
  try {
    const settings = await loadSettings(args.values.settings !== undefined ? { file: args.values.settings } : {});
    calls = settings.calls;
    numbers = createNumberModel(settings.numbers);
  } catch (error) {
    if (error instanceof NumberSettingsError) {
      process.stderr.write(`callhook replay: ${args.values.settings ?? 'settings'}: ${error.message}\n`);
      return 1;
    }
    if (error instanceof SettingsError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }

  let assembler: CallAssembler;
  const warnings = new Map<string, number>();
  try {
    assembler = new CallAssembler({
      calls,
      numbers,
      onWarning: (w) => {
        warnings.set(w.code, (warnings.get(w.code) ?? 0) + (w.count ?? 1));
        if (w.code !== 'duplicate_row' && w.code !== 'out_of_order') say(`${file}: ${w.message}`);
      },
    });
  } catch (error) {
    if (error instanceof CallsSettingsError) {
      process.stderr.write(`callhook replay: ${args.values.settings ?? 'settings'}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }

  let notCel: string | undefined;
  const onEvent = (event: CelSourceEvent): void => {
    if (event.code === 'CEL_NOT_CEL') notCel = event.message;
    else say(event.message);
  };
  const source = createReplaySource({ path: file, onEvent });

  let out: WriteStream | undefined;
  if (args.values.out !== undefined) {
    out = createWriteStream(args.values.out);
    try {
      await once(out, 'open');
    } catch (error) {
      process.stderr.write(`callhook replay: cannot write ${args.values.out}: ${(error as Error).message}\n`);
      return 1;
    }
  }
  const withStages = args.values.stages === true;
  const table: TableCall[] = [];
  /** Table mode with --stages: the stage lines of calls not finished yet. */
  const openStages = new Map<string, string[]>();
  let timedOut = 0;
  const write = async (text: string): Promise<void> => {
    if (out !== undefined && !out.write(text)) await once(out, 'drain');
  };
  const onStage = async (stages: StageEvent[]): Promise<void> => {
    for (const s of stages) {
      if (out !== undefined) {
        if (!withStages) continue;
        await write(`${JSON.stringify({ stage: s.stage, linkedid: s.linkedid, conversation_id: s.conversationId, row_id: s.atRowId, call_full: s.callFull })}\n`);
        // call_ended carries the call's final call_full: its line follows at once, as without --stages.
        if (s.stage === 'call_ended') await write(`${JSON.stringify({ linkedid: s.linkedid, call_full: s.callFull })}\n`);
      } else if (withStages) {
        const conv = s.callFull.conversations[s.conversationId];
        const list = openStages.get(s.linkedid) ?? [];
        list.push(`    ${s.stage}${conv !== undefined ? ` ${conv.channel.to.original || conv.channel.name}` : ''} (row ${s.atRowId})`);
        openStages.set(s.linkedid, list);
      }
    }
  };
  const onFinished = async (finished: FinishedCall[]): Promise<void> => {
    for (const c of finished) {
      if (c.complete === 'timeout') timedOut++;
      if (out !== undefined) {
        if (!withStages) await write(`${JSON.stringify({ linkedid: c.linkedid, call_full: c.callFull })}\n`);
        continue;
      }
      table.push({ linkedid: c.linkedid, summary: summarizeCall(c.callFull, c.complete), stages: openStages.get(c.linkedid) ?? [] });
      openStages.delete(c.linkedid);
    }
  };

  let readError: unknown;
  try {
    await runIngest({ source, assembler, store: NO_STATE, flushAtEnd: true, onStage, onFinished });
  } catch (error) {
    readError = error;
  }
  if (out !== undefined) {
    out.end();
    await once(out, 'finish');
  }
  numbers.close();
  if (readError !== undefined) {
    process.stderr.write(`callhook replay: cannot read ${file}: ${escapeControls((readError as Error).message)}\n`);
    return 1;
  }
  const read = source.stats;
  if (read.rowsRead === 0) {
    const why = notCel ?? (read.badLines > 0 ? `${file}: none of its ${read.badLines} lines is a CEL row` : `${file}: no CEL rows in it (only blank lines)`);
    say(`callhook replay: nothing to replay: ${why}`);
    return 1;
  }
  if (out === undefined) process.stdout.write(renderTable(table));

  const s = assembler.stats;
  const counted = [...warnings].map(([k, v]) => `${k} ${v}`).join(', ');
  process.stderr.write(
    `replayed ${s.rows} rows from ${file}: ${s.callsFinished} calls` +
      (timedOut > 0 ? ` (${timedOut} without LINKEDID_END, finished at end of file)` : '') +
      `; ignored ${s.ignored}, duplicates ${s.duplicates + read.duplicates}, out of order ${s.outOfOrder}, bad extra ${s.badExtra}, bad lines ${read.badLines}` +
      (s.unknownEvents > 0 ? `, unknown events ${s.unknownEvents}` : '') +
      (counted !== '' ? ` [warnings: ${counted}]` : '') +
      (out !== undefined ? `; wrote ${args.values.out}` : '') + '\n',
  );
  return 0;
}

export function renderTable(calls: readonly TableCall[]): string {
  const header = ['time', 'type', 'from', 'to', 'answered by', 'result', 'duration'];
  const body = calls.map(({ summary: s }) => [s.time, s.type, s.from, s.to, s.answeredBy, s.result, s.duration]);
  const widths = header.map((h, i) => body.reduce((w, r) => Math.max(w, r[i]!.length), h.length));
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  const lines = [line(header), line(widths.map((w) => '-'.repeat(w)))];
  for (const [i, row] of body.entries()) {
    lines.push(line(row));
    lines.push(...calls[i]!.stages);
  }
  return `${lines.join('\n')}\n`;
}
