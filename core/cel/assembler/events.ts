// Which CEL event types the assembler acts on, and which it knowingly ignores.
// Noise (counted as `ignored`): DTMF and STREAM_* (Asterisk ≥ 20.16/21.11/22.6 with events=all),
// LOCAL_OPTIMIZE(_BEGIN) and pre-12 names. USER_DEFINED rows carry the user's name in eventtype (and in
// userdeftype, see isUserDefined); they are kept in the channel's `extra` (name → text) so hooks can read
// dialplan tags. Any other name is an unknown event: counted, warned and not applied.

export const HANDLED_EVENTS = new Set([
  'CHAN_START', 'CHAN_END', 'HANGUP', 'ANSWER', 'APP_START', 'APP_END', 'BRIDGE_ENTER', 'BRIDGE_EXIT',
  'PARK_START', 'PARK_END', 'BLINDTRANSFER', 'ATTENDEDTRANSFER', 'LINKEDID_END', 'PICKUP', 'FORWARD',
]);

/** Known Asterisk event types that carry nothing about who talked to whom. */
export const NOISE_EVENTS = new Set([
  'DTMF', 'STREAM_BEGIN', 'STREAM_END', 'LOCAL_OPTIMIZE', 'LOCAL_OPTIMIZE_BEGIN',
  // Removed in Asterisk 12; pre-12 data is out of scope for call assembly but must not be fatal.
  'BRIDGE_START', 'BRIDGE_END', 'BRIDGE_UPDATE', 'CONF_START', 'CONF_END', 'CONF_ENTER', 'CONF_EXIT',
  'HOOKFLASH', '3WAY_START', '3WAY_END', 'TRANSFER',
]);

/** Events whose `extra` is worth keeping in call_full's channel.extra. */
export const EXTRA_KEPT_EVENTS = new Set([
  'HANGUP', 'BLINDTRANSFER', 'ATTENDEDTRANSFER', 'PARK_START', 'PARK_END', 'PICKUP', 'FORWARD',
]);

/** Applications whose ANSWER means "a device/agent answered", not "the dialplan answered". */
export const DEVICE_ANSWER_APPS = new Set(['AppDial', 'AppDial2', 'AppQueue', 'Dial', 'Queue', '']);

/** Every event name Asterisk writes (handled or knowingly ignored). */
export const KNOWN_EVENTS: ReadonlySet<string> = new Set([...HANDLED_EVENTS, ...NOISE_EVENTS, 'USER_DEFINED']);

/**
 * A USER_DEFINED row: cel_odbc writes the user's event name into eventtype and userdeftype (or, with
 * show_user_defined=yes, `USER_DEFINED` into eventtype). Any other unknown name (a lowercase
 * `hangup`, a trailing space, garbage) is not an event the assembler can trust and is rejected.
 */
export function isUserDefined(eventtype: string, userdeftype: string): boolean {
  return eventtype === 'USER_DEFINED' || (userdeftype !== '' && userdeftype === eventtype);
}

/** Rows that show a channel existed: a "call" without any of them (user-defined/noise rows only) is not reported. */
export function isChannelEvent(eventtype: string): boolean {
  return eventtype !== 'LINKEDID_END' && HANDLED_EVENTS.has(eventtype);
}
