// The ONE place that turns what Asterisk says about a call's end into `call_full.result`, a SIP status
// code. docs/cel.md renders these tables (see renderResultTablesMarkdown) so the documentation cannot
// drift from the code.
//
// Order of evidence:
//   1. `dialstatus` of the call's primary channel (the HANGUP row's extra): the outcome of the Dial/Queue
//      the caller ran. It is the most direct answer to "did A reach B".
//   2. Otherwise the Q.850 `hangupcause`, mapped to SIP as RFC 3398 §8.2.1 does (ISUP cause → SIP response).
//      Causes RFC 3398 does not list count as 31 "normal, unspecified" → 480, as the RFC prescribes.
//   3. Cause 16 (normal clearing) and 0 (not defined; Local channels and AMI hang-ups) are not failures:
//      RFC 3398 maps 16 to a BYE, not to an error response. They give 200 when a person answered the call,
//      and 487 "Request Terminated" otherwise: the caller ended a call that no one picked up (IVR
//      hang-up, a feature code, abandoned in a queue) — the same outcome as CANCEL.

/** dialstatus (Dial/Queue `DIALSTATUS`) → SIP. CHANUNAVAIL is refined by the cause, see resultCode(). */
export const DIALSTATUS_TO_SIP: Readonly<Record<string, number>> = {
  ANSWER: 200,
  BUSY: 486,
  NOANSWER: 480,
  CANCEL: 487,
  CONGESTION: 503,
  CHANUNAVAIL: 503,
  DONTCALL: 603,
  TORTURE: 603,
  INVALIDARGS: 500,
};

/** Causes that say the number does not exist: CHANUNAVAIL with one of them is reported as 404. */
export const UNALLOCATED_CAUSES: readonly number[] = [1, 2, 3];

/** Q.850 hangup cause → SIP response, RFC 3398 §8.2.1 (16 is handled separately: it is not a failure). */
export const Q850_TO_SIP: Readonly<Record<number, number>> = {
  1: 404, // unallocated (unassigned) number
  2: 404, // no route to specified transit network
  3: 404, // no route to destination
  17: 486, // user busy
  18: 408, // no user responding
  19: 480, // no answer from user (user alerted)
  20: 480, // subscriber absent
  21: 403, // call rejected
  22: 410, // number changed
  23: 410, // redirection to new destination
  26: 404, // non-selected user clearing (RFC 3398 lists 404; Asterisk uses it for losing ring-group legs)
  27: 502, // destination out of order
  28: 484, // invalid number format (address incomplete)
  29: 501, // facility rejected
  31: 480, // normal, unspecified
  34: 503, // no circuit/channel available
  38: 503, // network out of order
  41: 503, // temporary failure
  42: 503, // switching equipment congestion
  47: 503, // resource unavailable, unspecified
  55: 403, // incoming calls barred within CUG
  57: 403, // bearer capability not authorized
  58: 503, // bearer capability not presently available
  65: 488, // bearer capability not implemented
  70: 488, // only restricted digital information bearer capability is available
  79: 501, // service or option not implemented, unspecified
  87: 403, // user not member of CUG
  88: 503, // incompatible destination
  102: 504, // recovery on timer expiry
  111: 500, // protocol error, unspecified
  127: 500, // interworking, unspecified
};

/** Causes that mean "ended normally", not a failure. */
export const NORMAL_CAUSES: readonly number[] = [0, 16];

export interface ResultEvidence {
  /** `dialstatus` from the primary channel's HANGUP extra ('' when none ran or the row had none). */
  dialstatus: string;
  /** Q.850 `hangupcause` from the primary channel's HANGUP extra (undefined when unknown). */
  hangupcause: number | undefined;
  /** Whether a person answered the call (bridge membership with the other party). */
  answered: boolean;
}

/**
 * When the main channel has no HANGUP row at all (lost, or a table without it), its dialstatus is unknown:
 * the cause of the first other leg that failed (not normal, not 26 "non-selected user clearing", which
 * only says another leg won) is the best evidence left, e.g. a callee's 17 (busy) → 486. The assembler
 * warns (`no_hangup`) whenever it has to use this.
 */
export function legFailureCause(causes: Iterable<number | undefined>): number | undefined {
  for (const cause of causes) {
    if (cause !== undefined && !NORMAL_CAUSES.includes(cause) && cause !== 26) return cause;
  }
  return undefined;
}

/** `call_full.result` for the evidence at hand. Pure; the documentation of the rules is at the top of this file. */
export function resultCode(evidence: ResultEvidence): number {
  const status = evidence.dialstatus.trim().toUpperCase();
  const fromStatus = status === '' ? undefined : DIALSTATUS_TO_SIP[status];
  if (fromStatus !== undefined) {
    if (status === 'CHANUNAVAIL' && evidence.hangupcause !== undefined && UNALLOCATED_CAUSES.includes(evidence.hangupcause)) {
      return 404;
    }
    return fromStatus;
  }
  const cause = evidence.hangupcause;
  if (cause === undefined || NORMAL_CAUSES.includes(cause)) return evidence.answered ? 200 : 487;
  return Q850_TO_SIP[cause] ?? 480;
}

/** Markdown tables of the mapping, for docs/cel.md (a test checks the doc contains exactly this). */
export function renderResultTablesMarkdown(): string {
  const lines: string[] = [];
  lines.push('| dialstatus | SIP result |', '|---|---|');
  for (const [status, sip] of Object.entries(DIALSTATUS_TO_SIP)) {
    const note = status === 'CHANUNAVAIL' ? ` (404 when hangupcause is ${UNALLOCATED_CAUSES.join('/')})` : '';
    lines.push(`| ${status} | ${sip}${note} |`);
  }
  lines.push('', '| Q.850 hangupcause | SIP result |', '|---|---|');
  lines.push(`| ${NORMAL_CAUSES.join(', ')} (normal) | 200 if a person answered, else 487 |`);
  for (const [cause, sip] of Object.entries(Q850_TO_SIP)) lines.push(`| ${cause} | ${sip} |`);
  lines.push('| any other | 480 (treated as 31, RFC 3398) |');
  return lines.join('\n');
}
