// The run report in text: each processed call on one line, then per stage every hook decision and
// every CRM request with its answer, in the order they ran. Points where no hook is installed are
// folded into one count, so the report shows customizations and CRM traffic, not the catalogue.
import { summarizeCall } from '../cel/call-summary.js';
import type { CallFull } from '../../types/call_full.js';
import type { HookStatus } from '../../hooks/index.js';
import type { CallReport, CrmStep, HookDecision, HookStep, StageTrace } from '../pipeline/index.js';
import type { JsonValue } from '../store/types.js';
import { escapeControl } from '../../sandbox/index.js';

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

function pointLines(p: HookStep): string[] {
  const verdict = p.cancelled ? `cancelled by ${p.cancelledBy ?? 'a hook'}` : show(p.value);
  const lines = [`      ${p.point.padEnd(28)} ${verdict}${p.defaultApplied !== null ? `  [default: ${p.defaultApplied}]` : ''}`];
  for (const h of p.hooks) lines.push(`        ${hookLine(h)}`);
  return lines;
}

function obj(v: JsonValue | undefined): Record<string, JsonValue> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

/** What the CRM answered, in a few words: the fields a reader checks first. */
function answerText(step: CrmStep): string {
  const o = obj(step.outcome);
  const kind = typeof o.kind === 'string' ? o.kind : step.status;
  if (kind === 'ok') {
    const r = o.result;
    if (r !== null && typeof r === 'object' && !Array.isArray(r)) {
      const keys = ['CALL_ID', 'CRM_ENTITY_TYPE', 'CRM_ENTITY_ID', 'CRM_CREATED_LEAD', 'CRM_ACTIVITY_ID', 'FILE_ID', 'ID', 'task'];
      const picked = keys.filter((k) => r[k] !== undefined && r[k] !== null && r[k] !== '').map((k) => `${k} ${show(r[k])}`);
      return picked.length > 0 ? `ok ${picked.join(', ')}` : `ok ${show(r)}`;
    }
    return `ok ${show(r)}`;
  }
  if (kind === 'cancelled') return `cancelled by customization (${String(o.by ?? 'a hook')})`;
  if (kind === 'skipped') return `not sent: ${String(o.reason ?? '')}`;
  const code = typeof o.code === 'string' && o.code !== '' ? `${o.code} ` : '';
  return `${kind} ${code}${typeof o.description === 'string' ? o.description : ''}`.trim();
}

function crmLine(step: CrmStep): string {
  const attempts = step.attempts > 1 ? ` (attempt ${step.attempts})` : '';
  const note = step.note !== undefined ? `  [${step.note}]` : '';
  return `      → ${step.method} ${show(step.params)}\n        ← ${answerText(step)}${attempts}${note}`;
}

function stageLines(stage: StageTrace): string[] {
  const who = stage.party !== '' ? ` ${stage.party}` : '';
  const lines = [`    ${stage.stage}${who} (row ${stage.atRowId})${stage.registered ? '' : ': need_registration said no'}`];
  let folded = 0;
  for (const step of stage.steps) {
    if (step.kind === 'hook') {
      if (step.hooks.length > 0) lines.push(...pointLines(step));
      else folded++;
    } else if (step.kind === 'crm') lines.push(crmLine(step));
    else lines.push(`      · ${step.text}`);
  }
  if (folded > 0) lines.push(`      (${folded} point${folded === 1 ? '' : 's'} without hooks: defaults)`);
  return lines;
}

export function renderCallReport(report: CallReport): string {
  const call = report.call_full as unknown as CallFull;
  const s = summarizeCall(call, 'linkedid_end');
  const lines = [
    `${s.time}  ${s.type}  ${s.from} → ${s.to}  answered by ${s.answeredBy}  result ${s.result}  ${s.duration}  [${report.linkedid}]`,
  ];
  for (const stage of report.stages) lines.push(...stageLines(stage));
  const summary = report.summary;
  if (report.status === 'parked') lines.push(`    PARKED: ${report.parkedReason ?? ''} (callhook reprocess --id ${report.linkedid} tries again)`);
  else if (summary !== null) {
    lines.push(summary.registered
      ? `    CRM: call ${summary.crm_call_id}${summary.client !== '' ? ` for ${summary.client}` : ''}`
      : `    CRM: not registered (${summary.not_registered ?? 'nothing sent'})`);
  }
  return terminalSafe(lines);
}

/**
 * Hook outputs, hook error messages and CRM answers are text from outside: a control, bidi or invisible
 * character in them (an ANSI escape, U+009B, U+202E) would repaint or reorder the operator's terminal, so
 * each line is shown with those characters escaped.
 */
function terminalSafe(lines: readonly string[]): string {
  return `${lines.flatMap((l) => l.split('\n')).map(escapeControl).join('\n')}\n`;
}

/**
 * Which hooks are loaded, each with its state; a hook at a point the configured pipeline never runs
 * (click-to-call, auto-distribution, Kommo's points under a Bitrix24 pipeline) says so, so "active"
 * never suggests it takes part.
 */
export function renderHooksHeader(status: readonly HookStatus[], driven: readonly string[] | null = null): string {
  if (status.length === 0) return 'hooks: none loaded (every point uses its default)\n';
  const lines = status.map((h) => {
    const err = h.lastError ? `  last error: ${h.lastError.file}:${h.lastError.line ?? 1}:${h.lastError.column ?? 1} ${h.lastError.code} ${h.lastError.message.split('\n')[0] ?? ''}` : '';
    const idle = driven !== null && h.point !== null && !driven.includes(h.point) ? '  (this pipeline never runs this point)' : '';
    return `  ${h.point ?? '?'}  ${h.hook}  ${h.source}  ${h.state}${idle}${err}`;
  });
  return terminalSafe([`hooks (${status.length}):`, ...lines]);
}
