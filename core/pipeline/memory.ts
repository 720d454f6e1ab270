// What the pipeline remembers about a call between its stages (persisted in the store with the call):
// the numbers the hooks settled on, the CRM's answers (users, entity, registration), who was shown the
// call card. Every hook sees the call through `enrich`: the assembler's snapshot of that stage with
// these filled in, so `user`, `entity` and `registration` come from the CRM and a rewritten number is
// the same at every later stage (one call, one client number).
import type { CallFull, CallNumber, Deal, Entity, Registration, User } from '../../types/call_full.js';

export interface CallMemory {
  /** The processing run this memory belongs to (a reprocess starts a new one). */
  run: number;
  /** The client's number in effect after process_client_phone, fixed at the first stage that needed it. */
  clientNumber: string | null;
  /** Per conversation: the employee's number after process_user_phone. */
  userNumbers: Record<string, string>;
  /** Per conversation: the CRM user found for its employee (null = looked up, none). */
  users: Record<string, User | null>;
  /** The client's CRM entity (null = looked up, none); undefined = not looked up yet. */
  entity?: Entity | null;
  /** Kommo: the lead (deal) the call belongs to (null = none); undefined = not looked up yet. */
  deal?: Deal | null;
  /** When the call's recording was first looked for (ms): it is waited for until recordings.wait_seconds after. */
  recordingSince?: number;
  registration: Registration | null;
  /** Why the call is not registered (need_registration, cancelled, rejected, internal call...); null while it may be. */
  notRegistered: string | null;
  /** CRM user ids the call card is shown to right now. */
  shown: string[];
  /** The CRM finished the call. */
  finished: boolean;
  /** Set when the call is our click-to-call Originate (null = looked up, it is not; undefined = not looked up). */
  clickToCall?: { crmCallId: string; userId: string; phone: string; crmRegistered: boolean } | null;
}

export function emptyMemory(): CallMemory {
  return { run: 1, clientNumber: null, userNumbers: {}, users: {}, registration: null, notRegistered: null, shown: [], finished: false };
}

export function memoryOf(value: unknown): CallMemory {
  if (value === null || typeof value !== 'object') return emptyMemory();
  return { ...emptyMemory(), ...(value as Partial<CallMemory>) };
}

/**
 * Memory for a new run (reprocess): what the CRM has stays (registration, finish, the numbers it was
 * registered with); what the hooks decided without reaching the CRM is asked again.
 */
export function memoryForRun(memory: CallMemory, run: number): CallMemory {
  if (memory.run === run) return memory;
  const next: CallMemory = { ...memory, run, notRegistered: null };
  if (memory.registration === null) {
    next.clientNumber = null;
    next.userNumbers = {};
    next.users = {};
    delete next.entity;
    delete next.deal;
  }
  return next;
}

function withCustom(n: CallNumber, custom: string | undefined): CallNumber {
  return custom === undefined || custom === n.custom ? n : { ...n, custom };
}

/**
 * The call as hooks and CRM requests see it at this stage. A new object: the snapshot is not changed.
 * A Number gets the rewritten `custom` wherever the same original number appears (main channel and
 * conversations), so every hook reads one value.
 */
export function enrich(snapshot: CallFull, memory: CallMemory, clientOriginal: string | null): CallFull {
  const userOriginals = new Map<string, string>();
  const fixNumber = (n: CallNumber, convId: string | null): CallNumber => {
    if (clientOriginal !== null && memory.clientNumber !== null && n.original === clientOriginal) return withCustom(n, memory.clientNumber);
    if (convId !== null) {
      const u = memory.userNumbers[convId];
      if (u !== undefined && n.is_local) {
        userOriginals.set(n.original, u);
        return withCustom(n, u);
      }
    }
    const shared = userOriginals.get(n.original);
    return shared !== undefined ? withCustom(n, shared) : n;
  };
  const conversations: CallFull['conversations'] = {};
  for (const [id, conv] of Object.entries(snapshot.conversations)) {
    const ch = conv.channel;
    const user = memory.users[id];
    conversations[id] = {
      ...conv,
      channel: { ...ch, from: fixNumber(ch.from, id), to: fixNumber(ch.to, id), trunk: ch.trunk },
      user: user === undefined ? conv.user : user,
    };
  }
  const main = snapshot.channel;
  return {
    ...snapshot,
    channel: { ...main, from: fixNumber(main.from, null), to: fixNumber(main.to, null) },
    conversations,
    entity: memory.entity === undefined ? snapshot.entity : memory.entity,
    deal: memory.deal === undefined ? snapshot.deal : memory.deal,
    registration: memory.registration ?? snapshot.registration,
  };
}
