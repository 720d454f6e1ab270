// Which CEL event types the assembler acts on, and which it knowingly ignores.
// Noise (counted as `ignored`): DTMF and STREAM_* (Asterisk ≥ 20.16/21.11/22.6 with events=all),
// LOCAL_OPTIMIZE(_BEGIN), and any other name — USER_DEFINED rows carry the user's name in eventtype.
// User-defined events are still kept in the channel's `extra` (name → text) so hooks can read dialplan tags.

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
