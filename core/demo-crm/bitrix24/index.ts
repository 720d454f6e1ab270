// The local Bitrix24 portal (tests, and the demo's CRM when `crm.type` is `demo`). See docs/bitrix24.md.
export { startLocalBitrix24, type LocalBitrix24, type LocalBitrix24Options, type ReceivedRequest } from './server.js';
export type { FaultKind, FaultRule, FaultSwitches } from './faults.js';
export { demoSeed, type LocalBitrix24State, type LocalCall, type LocalTask, type Scope, type SeedEntity, type SeedUser } from './state.js';
export { formatSummary, summarizeCalls, type CallSummary } from './summary.js';
export { NOT_FINISHED, NOT_REGISTERED } from './telephony.js';
