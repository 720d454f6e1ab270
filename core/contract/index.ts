// The call_full contract: its schema, validation and the stage names.
export { callFullSchema, contractDefs, CONTRACT_DEFS, NO_TIME, CALL_FULL_SCHEMA_PATH, type ContractDef, type JsonSchema } from './schema.js';
export { validateAgainst, validateCallFull, describeValue, type ContractError } from './validate.js';
export type { CallFull, CallNumber, CallStage, CallType, Channel, ChannelState, Conversation, DateTime, Deal, Entity, Registration, User } from '../../types/call_full.js';
