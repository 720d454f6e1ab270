// `callhook replay <file>`: assembles a recorded CEL file (JSON Lines or CSV, FreePBX column names)
// into calls. With --out, one JSON line per finished call `{"linkedid", "call_full"}` (and with
// --stages every stage event before it); without --out, a readable table on stdout.
// Calls still open at the end of the file are finished as by the safety timeout and counted on stderr.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { CallAssembler, CallsSettingsError, type CallsSettings, type FinishedCall, type StageEvent } from '../cel/assembler/index.js';
import { readCelFile } from '../cel/sources/index.js';
import type { CelRow } from '../cel/row.js';
import { summarizeCall } from '../cel/call-summary.js';
import { createNumberModel, NumberSettingsError, type NumberModel } from '../numbers/index.js';
import { loadSettings, SettingsError } from '../settings/index.js';

const USAGE = 'usage: callhook replay <file.jsonl|file.csv> [--settings settings.json] [--out calls.jsonl] [--stages]';

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
        warnings.set(w.code, (warnings.get(w.code) ?? 0) + 1);
        if (w.code !== 'duplicate_row' && w.code !== 'out_of_order') process.stderr.write(`${file}: ${w.message}\n`);
      },
    });
  } catch (error) {
    if (error instanceof CallsSettingsError) {
      process.stderr.write(`callhook replay: ${args.values.settings ?? 'settings'}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }

  const rows: CelRow[] = [];
  let badLines = 0;
  try {
    for await (const row of readCelFile(file, { onBadLine: ({ message }) => { badLines++; process.stderr.write(`${message}\n`); } })) rows.push(row);
  } catch (error) {
    process.stderr.write(`callhook replay: cannot read ${file}: ${(error as Error).message}\n`);
    return 1;
  }
  // A recorded file is usually in id order already; sorting (stable) makes a shuffled export equal to it.
  rows.sort((a, b) => a.id - b.id);

  const out = args.values.out === undefined ? undefined : createWriteStream(args.values.out);
  const finished: FinishedCall[] = [];
  const stageLines: StageEvent[] = [];
  const write = async (text: string): Promise<void> => {
    if (out !== undefined && !out.write(text)) await once(out, 'drain');
  };
  const drain = async (): Promise<void> => {
    const stages = assembler.drainStages();
    const done = assembler.drainFinished();
    if (out === undefined) {
      if (args.values.stages === true) stageLines.push(...stages);
      finished.push(...done);
      return;
    }
    if (args.values.stages === true) {
      for (const s of stages) {
        await write(`${JSON.stringify({ stage: s.stage, linkedid: s.linkedid, conversation_id: s.conversationId, row_id: s.atRowId, call_full: s.callFull })}\n`);
      }
    }
    for (const c of done) await write(`${JSON.stringify({ linkedid: c.linkedid, call_full: c.callFull })}\n`);
    finished.push(...done);
  };

  for (const row of rows) {
    assembler.push(row);
    if (assembler.stats.callsFinished > finished.length) await drain();
  }
  const open = assembler.stats.callsInProgress;
  assembler.flush();
  await drain();
  if (out !== undefined) {
    out.end();
    await once(out, 'finish');
  } else {
    process.stdout.write(renderTable(finished, stageLines));
  }

  const s = assembler.stats;
  const counted = [...warnings].map(([k, v]) => `${k} ${v}`).join(', ');
  process.stderr.write(
    `replayed ${s.rows} rows from ${file}: ${s.callsFinished} calls` +
      (open > 0 ? ` (${open} without LINKEDID_END, finished at end of file)` : '') +
      `; ignored ${s.ignored}, duplicates ${s.duplicates}, out of order ${s.outOfOrder}, bad extra ${s.badExtra}, bad lines ${badLines}` +
      (counted !== '' ? ` [warnings: ${counted}]` : '') +
      (out !== undefined ? `; wrote ${args.values.out}` : '') + '\n',
  );
  numbers.close();
  return 0;
}

export function renderTable(calls: readonly FinishedCall[], stages: readonly StageEvent[] = []): string {
  const header = ['time', 'type', 'from', 'to', 'answered by', 'result', 'duration'];
  const body = calls.map((c) => {
    const s = summarizeCall(c.callFull, c.complete);
    return [s.time, s.type, s.from, s.to, s.answeredBy, s.result, s.duration];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  const lines = [line(header), line(widths.map((w) => '-'.repeat(w)))];
  for (const [i, row] of body.entries()) {
    lines.push(line(row));
    const linkedid = calls[i]!.linkedid;
    for (const s of stages.filter((x) => x.linkedid === linkedid)) {
      const conv = s.callFull.conversations[s.conversationId];
      lines.push(`    ${s.stage}${conv !== undefined ? ` ${conv.channel.to.original || conv.channel.name}` : ''} (row ${s.atRowId})`);
    }
  }
  return `${lines.join('\n')}\n`;
}
