// Click-to-call: a CRM request (Bitrix24 ONEXTERNALCALLSTART, Kommo's call request) → the Originate
// parameters from settings → process_originate_params (an empty answer cancels) → a record in the
// connector store under our ChannelId → AMI Originate (async) with that ChannelId, so the CEL rows of
// the call carry it as uniqueid/linkedid and the Bitrix24 stage program finishes the call on the CRM's
// CALL_ID (core/pipeline/bitrix24.ts recallClickToCall). A failure (no extension, AMI down, Originate
// refused, the employee's phone busy/offline) finishes the CRM's call with a failure status, so the user
// sees it in the CRM, and stays in the record's trace.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { HookHost } from '../../hooks/index.js';
import type { Settings } from '../../types/settings.js';
import type { AmiClient, OriginateOutcome } from '../ami/client.js';
import { AmiError } from '../ami/client.js';
import type { CrmClient, JsonParams, JsonValue } from '../crm/types.js';
import type { ClickToCallRecord, ClickToCallStatus, ConnectorStore } from '../store/types.js';
import type { User } from '../../types/call_full.js';

export type ClickToCallSettings = Settings['click_to_call'];

export interface ClickToCallDeps {
  settings: ClickToCallSettings;
  store: ConnectorStore;
  pbx: string;
  host: Pick<HookHost, 'runPoint'>;
  ami: Pick<AmiClient, 'originate' | 'state'>;
  /** The Bitrix24 client (finish on failure); null = none. */
  crm: CrmClient | null;
  users: { byId(id: string): Promise<User | null> } | null;
  logger: Logger;
}

export interface ClickRequest {
  crm: 'bitrix24' | 'kommo';
  userId: string;
  /** The employee's internal number when the request names it (else from the CRM user / settings). */
  extension: string;
  /** The client's number as the CRM sent it. */
  phone: string;
  /** Bitrix24 CALL_ID ('' when none). */
  crmCallId: string;
  /** The request as received (secrets removed), for the hook's request_data. */
  requestData: JsonValue;
}

export interface ClickResult {
  status: ClickToCallStatus;
  channelId: string;
  code?: string;
  message: string;
}

export interface ClickToCallService {
  start(request: ClickRequest): Promise<ClickResult>;
  /** Resolves when every Originate started so far has its outcome handled (tests, shutdown). */
  settled(): Promise<void>;
}

/** OriginateResponse Reason → Bitrix24 finish STATUS_CODE (crm-apis.md §1.4). */
function failureStatus(reason: number): string {
  switch (reason) {
    case 5: return '486';
    case 3: return '480';
    case 1: return '603';
    case 8: return '503';
    default: return '503';
  }
}

/** ≤ 32 characters: FreePBX's cel.uniqueid/linkedid are varchar(32) and cel_odbc truncates silently. */
export function newChannelId(): string {
  return `c2c-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

const fill = (template: string, values: Record<string, string>): string => template.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);

export function createClickToCall(d: ClickToCallDeps): ClickToCallService {
  const s = d.settings;
  const log = d.logger.child({ component: 'click-to-call' });
  const inflight = new Set<Promise<void>>();

  async function extensionOf(r: ClickRequest): Promise<string> {
    if (r.extension !== '') return r.extension;
    const mapped = (s.originate.extension_by_user as Record<string, string>)[r.userId];
    if (mapped !== undefined && mapped !== '') return mapped;
    const user = await d.users?.byId(r.userId).catch(() => null);
    const inner = user?.raw?.UF_PHONE_INNER;
    return typeof inner === 'string' || typeof inner === 'number' ? String(inner) : '';
  }

  async function finishFailed(record: ClickToCallRecord, statusCode: string, why: string): Promise<string> {
    if (record.crm !== 'bitrix24' || record.crmCallId === '' || d.crm === null) return 'no CRM call to finish';
    const params: JsonParams = { CALL_ID: record.crmCallId, USER_ID: Number(record.userId), DURATION: 0, STATUS_CODE: statusCode, ADD_TO_CHAT: 1 };
    const o = await d.crm.call('telephony.externalcall.finish', params);
    if (o.kind === 'ok') return `finished in Bitrix24 with STATUS_CODE ${statusCode} (${why})`;
    return `Bitrix24 finish failed: ${o.kind} ${'code' in o ? o.code : ''} ${'description' in o ? o.description : ''}`.trim();
  }

  async function save(record: ClickToCallRecord, status: ClickToCallStatus, step: JsonValue): Promise<void> {
    record.status = status;
    const trace = Array.isArray(record.detail) ? record.detail : [];
    record.detail = [...trace, step];
    await d.store.saveClickToCall(d.pbx, record);
  }

  async function fail(record: ClickToCallRecord, code: string, message: string, statusCode: string): Promise<ClickResult> {
    const crmNote = await finishFailed(record, statusCode, message).catch((e: unknown) => `Bitrix24 finish failed: ${String(e)}`);
    await save(record, 'failed', { step: 'failed', code, message, crm: crmNote });
    log.warn({ code, channelId: record.channelId, crmCallId: record.crmCallId }, `click-to-call failed: ${message}; ${crmNote}`);
    return { status: 'failed', channelId: record.channelId, code, message };
  }

  async function onOutcome(record: ClickToCallRecord, outcome: Promise<OriginateOutcome>): Promise<void> {
    try {
      const o = await outcome;
      if (o.ok) {
        await save(record, 'answered', { step: 'originate_response', ok: true, reason: o.reason, channel: o.channel });
        return;
      }
      await fail(record, 'C2C_ORIGINATE_FAILED', `the employee's phone did not take the call: ${o.reasonText}`, failureStatus(o.reason));
    } catch (error) {
      // The connection dropped after Asterisk queued the call: it may still ring. The CEL rows settle it.
      const message = error instanceof Error ? error.message : String(error);
      await save(record, 'unknown', { step: 'originate_response', error: message });
      log.warn({ channelId: record.channelId }, `click-to-call: the Originate's outcome is unknown (${message}); its CEL rows decide`);
    }
  }

  return {
    async start(r) {
      const channelId = newChannelId();
      const record: ClickToCallRecord = {
        channelId, crm: r.crm, crmCallId: r.crmCallId, userId: r.userId, phone: r.phone,
        crmRegistered: r.crm === 'bitrix24' && r.crmCallId !== '' && s.bitrix24.crm_registers !== 'no',
        status: 'originating', detail: [{ step: 'request', crm: r.crm, user_id: r.userId, phone: r.phone, crm_call_id: r.crmCallId }], createdAt: 0, updatedAt: 0,
      };
      if (r.crm === 'bitrix24' && s.bitrix24.crm_registers === 'yes' && r.crmCallId === '') {
        record.detail = [...(record.detail as JsonValue[]), { step: 'note', text: 'click_to_call.bitrix24.crm_registers is yes but the event has no CALL_ID: the connector registers the call' }];
      }
      const extension = await extensionOf(r);
      if (extension === '') {
        return fail(record, 'C2C_NO_EXTENSION', `CRM user ${r.userId} has no internal number: set it in their profile (UF_PHONE_INNER) or in click_to_call.originate.extension_by_user`, '403');
      }
      const base = {
        caller_id: fill(s.originate.caller_id, { number: r.phone, name: '' }),
        channel: fill(s.originate.channel, { extension }),
        context: s.originate.context,
        extension: r.phone,
        priority: s.originate.priority,
        request_data: JSON.stringify(r.requestData),
      };
      const hooked = await d.host.runPoint('process_originate_params', base, { callId: channelId, stage: 'click_to_call' });
      const hookStep = { step: 'hook', point: 'process_originate_params', input: base, value: hooked.value, cancelled: hooked.cancelled, by: hooked.trace.cancelledBy ?? null };
      if (hooked.cancelled) {
        const crmNote = await finishFailed(record, '603', 'cancelled by process_originate_params').catch((e: unknown) => String(e));
        await save(record, 'cancelled', { ...hookStep, crm: crmNote });
        return { status: 'cancelled', channelId, code: 'C2C_CANCELLED', message: 'process_originate_params cancelled the call' };
      }
      const p = (hooked.value ?? base) as typeof base;
      record.detail = [...(record.detail as JsonValue[]), hookStep];
      // Saved before the Originate: the first CEL row of the call can never arrive before its record.
      await save(record, 'originating', { step: 'originate', channel: p.channel, context: p.context, exten: p.extension, priority: p.priority });
      let sent: ReturnType<AmiClient['originate']>;
      try {
        sent = d.ami.originate({
          channel: p.channel, context: p.context, exten: p.extension, priority: p.priority, callerId: p.caller_id, channelId,
          timeoutMs: s.originate.timeout_seconds * 1000, variables: { CALLHOOK_C2C: channelId },
        });
        await sent.queued;
      } catch (error) {
        const e = error instanceof AmiError ? error : null;
        const code = e?.code === 'AMI_NOT_CONNECTED' || e?.code === 'AMI_DISCONNECTED' || e?.code === 'AMI_TIMEOUT' ? 'C2C_AMI_DOWN' : e?.code === 'AMI_PERMISSION_DENIED' ? 'C2C_AMI_PERMISSION' : 'C2C_ORIGINATE_REFUSED';
        return fail(record, code, error instanceof Error ? error.message : String(error), '503');
      }
      await save(record, 'queued', { step: 'queued' });
      const done = onOutcome(record, sent.outcome);
      inflight.add(done);
      void done.finally(() => inflight.delete(done));
      return { status: 'queued', channelId, message: `calling ${p.channel}, then ${p.extension} in ${p.context}` };
    },
    async settled() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
  };
}
