// Who called whom: the raw caller/dialled/trunk numbers and the call type (local/incoming/outgoing).
// Trunks come from the `calls` settings (channel-name patterns, start contexts, outbound contexts);
// "internal" comes from the number model (number length, FMC numbers), so one place owns each rule.
import type { CallState } from './call.js';
import type { ChanState, Party } from './channel-model.js';
import { looksLikeNumber } from './channel-names.js';
import type { CompiledCallsSettings } from './settings.js';
import type { CallType, NumberModel } from './types.js';

export interface CallIdentity {
  from: string;
  to: string;
  trunk: string;
  type: CallType;
  originate: boolean;
}

/** The number a party stands for: its endpoint when that is a number, else the caller ID it showed. */
export function partyNumber(p: Party): string {
  const face = p.face;
  if (looksLikeNumber(face.parsed.endpoint)) return face.parsed.endpoint;
  for (const c of p.channels) if (c.cidNum !== '') return c.cidNum;
  return face.parsed.endpoint;
}

/** Click-to-call: the primary's first ANSWER came from AppDial2 (Originate) before it was ever bridged. */
export function isOriginate(primary: ChanState | undefined, settings: CompiledCallsSettings): boolean {
  return settings.detectOriginate && primary !== undefined && primary.answerApp === 'AppDial2';
}

function trunkName(p: Party): string {
  const n = p.face.parsed;
  // Local/…@pstn-in-… → "pstn-in"; PJSIP/my-provider-0000002a → "my-provider"; DAHDI/1-1 → "1".
  return n.isLocal ? n.group : n.endpoint;
}

export function identify(call: CallState, numbers: NumberModel, settings: CompiledCallsSettings): CallIdentity {
  const primary = call.primary();
  const origin = call.originParty();
  const originate = isOriginate(primary, settings);
  let from = '';
  if (origin !== undefined && primary !== undefined) {
    if (origin.trunk) from = primary.cidNum !== '' ? primary.cidNum : partyNumber(origin);
    else if (originate) from = partyNumber(origin);
    else from = primary.cidNum !== '' ? primary.cidNum : partyNumber(origin);
  }
  let to = '';
  if (primary !== undefined) {
    const startExten = primary.startExten !== 's' ? primary.startExten : '';
    // A technology channel starts on the number it dialled (or the DID of a trunk); a Local channel
    // starts on its own target, so for Local the number it went on to dial is the first new context's exten.
    to = primary.parsed.isLocal ? primary.movedExten : startExten !== '' ? startExten : primary.movedExten;
  }
  let otherTrunk: Party | undefined;
  let firstConversation: Party | undefined;
  for (const p of call.partyList) {
    if (!call.isConversation(p, origin)) continue;
    firstConversation ??= p;
    if (p.trunk) otherTrunk ??= p;
  }
  if (to === '' && firstConversation !== undefined) to = partyNumber(firstConversation);

  const dialsOut = otherTrunk !== undefined || (primary?.passedOutbound ?? false);
  let type: CallType;
  if (origin?.trunk === true) {
    // FMC: an employee's mobile calling in over the trunk is internal.
    type = numbers.isInternal(from) ? (dialsOut ? 'outgoing' : 'local') : 'incoming';
  } else if (dialsOut) {
    type = 'outgoing';
  } else {
    const fromInternal = from !== '' && numbers.isInternal(from);
    const toInternal = to === '' || numbers.isInternal(to);
    if (fromInternal && toInternal) type = 'local';
    else if (fromInternal && !toInternal) type = 'outgoing';
    else if (!fromInternal && from !== '' && toInternal) type = 'incoming';
    else type = 'unknown';
  }
  const trunkParty = origin?.trunk === true ? origin : otherTrunk;
  return { from, to, trunk: trunkParty === undefined ? '' : trunkName(trunkParty), type, originate };
}
