// The call_full shapes the assembler produces are the contract's generated types (types/call_full.d.ts,
// from types/call_full.schema.json); this module only adds what the assembler needs from the number model.
import type { NumberModel as FullNumberModel } from '../../numbers/index.js';

export type { CallFull, CallNumber, CallStage, CallType, Channel, ChannelState, Conversation } from '../../../types/call_full.js';
export { NO_TIME } from '../../contract/schema.js';

/** What the assembler needs from the number model (core/numbers createNumberModel). */
export type NumberModel = Pick<FullNumberModel, 'build' | 'isInternal'>;
