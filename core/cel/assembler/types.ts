// The call_full shapes the assembler produces (call_full.md, field for field) and the number model it
// needs. The contract engineer's generated types/call_full.d.ts is the public source of truth; these
// local declarations are structurally identical so the assembler does not depend on generation order.

export interface CallNumber {
  base: string;
  custom: string;
  is_local: boolean;
  original: string;
  variants: string[];
}

export type ChannelState = 'ringing' | 'talking' | 'ended' | 'processed';
export type CallType = 'local' | 'incoming' | 'outgoing' | 'unknown';

export interface Channel {
  answer_time: string;
  end_time: string;
  extra: Record<string, unknown>;
  from: CallNumber;
  id: string;
  is_primary: boolean;
  name: string;
  start_time: string;
  state: ChannelState;
  to: CallNumber;
  trunk: CallNumber;
  type: CallType;
  was_answered: boolean;
}

export interface Conversation {
  channel: Channel;
  is_parked: boolean;
  user: Record<string, unknown> | null;
}

export interface CallFull {
  active_conversation_id: string;
  channel: Channel;
  conversations: Record<string, Conversation>;
  deal: Record<string, unknown> | null;
  entity: Record<string, unknown> | null;
  is_ivr: boolean;
  record: string;
  registration: Record<string, unknown> | null;
  result: number;
}

export type CallStage = 'conversation_requested' | 'conversation_accepted' | 'conversation_ended' | 'call_ended';

/** What the assembler needs from core/numbers (createNumberModel). */
export interface NumberModel {
  build(raw: string): CallNumber;
  isInternal(raw: string): boolean;
}

/** `0001-01-01 00:00:00`: call_full's "did not happen" time. */
export const NO_TIME = '0001-01-01 00:00:00';
