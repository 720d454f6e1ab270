// The run report in text: each finished call on one line, then per stage what every hook decided.
// Points where no hook is installed are folded into one count, so the report shows customizations,
// not the catalogue.
import { summarizeCall } from '../cel/call-summary.js';
import type { HookStatus } from '../../hooks/index.js';
import type { CallReport } from './connector.js';
import type { HookDecision, PointDecision } from './decisions.js';

const MAX_VALUE = 100;

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…` : text;
}

function hookLine(h: HookDecision): string {
  const ms = `${h.durationMs < 1 ? h.durationMs.toFixed(2) : Math.round(h.durationMs)} ms`;
  const source = h.source === 'file' ? '' : ` (${h.source})`;
  switch (h.outcome) {
    case 'ok':
      return `${h.hook}${source} → ${show(h.output)} (${ms})`;
    case 'cancelled':
      return `${h.hook}${source} → cancelled the CRM request (${ms})`;
    case 'skipped':
      return `${h.hook}${source} → skipped: ${h.fallback ?? 'cooling down'}`;
    case 'failed':
      return `${h.hook}${source} → FAILED ${h.error ?? ''}; ${h.fallback ?? 'default used'}`;
  }
}

function pointLines(p: PointDecision): string[] {
  const verdict = p.cancelled ? `cancelled by ${p.cancelledBy ?? 'a hook'}` : show(p.value);
  const lines = [`      ${p.point.padEnd(28)} ${verdict}${p.defaultApplied !== null ? `  [default: ${p.defaultApplied}]` : ''}`];
  for (const h of p.hooks) lines.push(`        ${hookLine(h)}`);
  return lines;
}

export function renderCallReport(report: CallReport): string {
  const s = summarizeCall(report.call_full, report.complete);
  const lines = [
    `${s.time}  ${s.type}  ${s.from} → ${s.to}  answered by ${s.answeredBy}  result ${s.result}  ${s.duration}  [${report.linkedid}]`,
  ];
  for (const stage of report.stages) {
    const who = stage.party !== '' ? ` ${stage.party}` : '';
    lines.push(`    ${stage.stage}${who} (row ${stage.atRowId})${stage.registered ? '' : ': not registered (need_registration said no; the stage stops)'}`);
    const withHooks = stage.points.filter((p) => p.hooks.length > 0);
    for (const p of withHooks) lines.push(...pointLines(p));
    const folded = stage.points.length - withHooks.length;
    if (folded > 0) lines.push(`      (${folded} point${folded === 1 ? '' : 's'} without hooks: defaults)`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderHooksHeader(status: readonly HookStatus[]): string {
  if (status.length === 0) return 'hooks: none loaded (every point uses its default)\n';
  const lines = status.map((h) => {
    const err = h.lastError ? `  last error: ${h.lastError.file}:${h.lastError.line ?? 1}:${h.lastError.column ?? 1} ${h.lastError.code} ${h.lastError.message.split('\n')[0] ?? ''}` : '';
    return `  ${h.point ?? '?'}  ${h.hook}  ${h.source}  ${h.state}${err}`;
  });
  return `hooks (${status.length}):\n${lines.join('\n')}\n`;
}
