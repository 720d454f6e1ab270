// GENERATED from types/call_full.schema.json by `npm run types`. DO NOT EDIT BY HAND.
/**
 * Channel state: `ringing` (dialing; the subscriber's phone rings, no answer yet), `talking` (answered, not yet hung up), `ended` (finished), `processed` (processed by the connector).
 */
export type ChannelState = 'ringing' | 'talking' | 'ended' | 'processed';
/**
 * Call type: `local` (internal number to internal number), `incoming` (external number to internal number), `outgoing` (internal number to external number), `unknown` (could not be determined).
 */
export type CallType = 'local' | 'incoming' | 'outgoing' | 'unknown';
/**
 * `YYYY-MM-DD HH:MM:SS` in the Asterisk server's time zone; `0001-01-01 00:00:00` when the event did not happen.
 */
export type DateTime = string;
/**
 * The stage at which a hook runs: `conversation_requested` (a phone starts ringing), `conversation_accepted` (it is answered), `conversation_ended` (that leg ends), `call_ended` (the whole call is over).
 */
export type CallStage = 'conversation_requested' | 'conversation_accepted' | 'conversation_ended' | 'call_ended';

/**
 * One call: every channel whose linkedid chain connects, assembled from Asterisk's CEL rows.
 */
export interface CallFull {
  /**
   * Uniqueid of the current conversation (a key of `conversations`), or an empty string.
   */
  active_conversation_id: string;
  /**
   * The call's main channel: the one whose uniqueid equals the linkedid.
   */
  channel: Channel;
  /**
   * The legs on which an employee's or a client's phone rang, keyed by the conversation channel's uniqueid. A call has several under transfer, ring group or queue.
   */
  conversations: {
    [k: string]: Conversation;
  };
  /**
   * The deal (Kommo lead) the call belongs to, or null. Always null for Bitrix24.
   */
  deal: Deal | null;
  /**
   * The CRM entity (contact, company or lead) the call is registered to, or null.
   */
  entity: Entity | null;
  /**
   * Is this a missed call on an IVR: answered by the dialplan, never reached a person.
   */
  is_ivr: boolean;
  /**
   * Link to (or path of) the call recording, or an empty string.
   */
  record: string;
  /**
   * The call's registration in the CRM, or null (not registered yet). Bitrix24 only; always null for Kommo.
   */
  registration: Registration | null;
  /**
   * The call result as a SIP status code (200 answered, 486 busy, 480 no answer, 487 cancelled, 503 congestion or unavailable, 404 unallocated number, ...). See docs/cel.md for how it derives from CEL dialstatus / hangupcause.
   */
  result: number;
}
/**
 * A leg on which an employee's or a client's phone rang.
 */
export interface Conversation {
  /**
   * The channel of this conversation.
   */
  channel: Channel;
  /**
   * Is the conversation on hold / parked.
   */
  is_parked: boolean;
  /**
   * The CRM user found by the conversation's internal number, or null.
   */
  user: User | null;
}
/**
 * An employee as the CRM knows them.
 */
export interface User {
  /**
   * E-mail.
   */
  email: string;
  /**
   * User id in the CRM.
   */
  id: string;
  /**
   * User name.
   */
  name: string;
  /**
   * The user's phone numbers as the CRM stores them (Bitrix24: UF_PHONE_INNER, PERSONAL_MOBILE, WORK_PHONE, PERSONAL_PHONE).
   */
  phones: string[];
  /**
   * Position.
   */
  position: string;
  /**
   * The user as the CRM returns it (non-empty, non-zero fields only; any keys).
   */
  raw: {
    [k: string]: unknown;
  };
}
/**
 * A Kommo deal (lead). The reference does not publish its fields; callhook defines these, named like Entity's.
 */
export interface Deal {
  /**
   * Deal (lead) id.
   */
  id: string;
  /**
   * Was the deal created when this call was registered.
   */
  is_new: boolean;
  /**
   * Deal name.
   */
  name: string;
  /**
   * Pipeline id.
   */
  pipeline_id: string;
  /**
   * The lead as Kommo returns it (non-empty, non-zero fields only; any keys).
   */
  raw: {
    [k: string]: unknown;
  };
  /**
   * The responsible user's id.
   */
  responsible_id: string;
  /**
   * Status (pipeline stage) id.
   */
  status_id: string;
}
/**
 * The CRM entity the call is registered to.
 */
export interface Entity {
  /**
   * Entity id.
   */
  id: string;
  /**
   * Was the entity created when this call was registered.
   */
  is_new: boolean;
  /**
   * Entity name.
   */
  name: string;
  /**
   * The entity's phone numbers, as Number objects.
   */
  phones: CallNumber[];
  /**
   * The entity as the CRM returns it (non-empty, non-zero fields only; any keys).
   */
  raw: {
    [k: string]: unknown;
  };
  /**
   * The user responsible for the entity.
   */
  responsible: User;
  /**
   * The responsible user's id.
   */
  responsible_id: string;
  /**
   * Entity type: for Bitrix24 one of `company`, `contact`, `lead`; for Kommo `contact` or `company`.
   */
  type: string;
}
/**
 * A phone number as the connector sees it (`from`, `to`, `trunk`, an entity's phones). The connector uses `custom` when it is set, `original` otherwise.
 */
export interface CallNumber {
  /**
   * The number without any configured prefix (the longest matching prefix is removed).
   */
  base: string;
  /**
   * The customized number (auto-replacement or a hook), or an empty string.
   */
  custom: string;
  /**
   * Is the number internal (an employee's extension or FMC mobile).
   */
  is_local: boolean;
  /**
   * The number as received from Asterisk.
   */
  original: string;
  /**
   * `base`, then prefix + base for each prefix configured in the connector settings, in configured order.
   */
  variants: string[];
}
/**
 * The call's registration in Bitrix24 (telephony.externalcall.register).
 */
export interface Registration {
  /**
   * Activity id, or an empty string.
   */
  activity_id: string;
  /**
   * Company created during registration, or an empty string.
   */
  created_company_id: string;
  /**
   * Contact created during registration, or an empty string.
   */
  created_contact_id: string;
  /**
   * Deal created during registration, or an empty string.
   */
  created_deal_id: string;
  /**
   * Lead created during registration, or an empty string.
   */
  created_lead_id: string;
  /**
   * Id of the entity used.
   */
  entity_id: string;
  /**
   * Type of the entity used (Bitrix24: `company`, `contact` or `lead`).
   */
  entity_type: string;
  /**
   * The call id in Bitrix24 (CALL_ID).
   */
  id: string;
  /**
   * Id of the user responsible for the call.
   */
  responsible_id: string;
}
/**
 * One Asterisk channel of the call, as the CEL table shows it.
 */
export interface Channel {
  /**
   * Answer time, or 0001-01-01 00:00:00 when not answered.
   */
  answer_time: DateTime;
  /**
   * End time, or 0001-01-01 00:00:00 while the channel is up.
   */
  end_time: DateTime;
  /**
   * Extra fields from the CEL table, parsed (any keys).
   */
  extra: {
    [k: string]: unknown;
  };
  /**
   * The number the call was made from.
   */
  from: CallNumber;
  /**
   * The channel's uniqueid (a string such as `1795500122.54`; never parse it as a number).
   */
  id: string;
  /**
   * Is this the call's main channel (uniqueid = linkedid).
   */
  is_primary: boolean;
  /**
   * The channel name from the CEL table, e.g. `PJSIP/201-00000012`.
   */
  name: string;
  /**
   * Start time, or 0001-01-01 00:00:00 when unknown.
   */
  start_time: DateTime;
  state: ChannelState;
  /**
   * The number called.
   */
  to: CallNumber;
  /**
   * The number of the trunk the call went through (empty Number for an internal call).
   */
  trunk: CallNumber;
  type: CallType;
  /**
   * Was there an answer: the channel was bridged with the other party (not a bare ANSWER by a queue or IVR).
   */
  was_answered: boolean;
}
