// Channel-name parsing: Local pairs (`Local/<exten>@<context>-<id>;1|;2`) and technology channels
// (`PJSIP/<endpoint>-<id>`). Both halves of a Local pair share `pairKey`, which is how pairs collapse.

export interface ChannelName {
  isLocal: boolean;
  /** Local: the name without `;1`/`;2`; others: the full name. The key of the party this channel belongs to. */
  pairKey: string;
  /** 1 or 2 for Local halves, 0 otherwise. */
  half: 0 | 1 | 2;
  /** Local: the exten (`201` of `Local/201@phones-…`); others: the endpoint/resource (`201` of `PJSIP/201-0000001f`). */
  endpoint: string;
  /** Local: the context; others: the technology (`PJSIP`). Used to name a trunk. */
  group: string;
}

/** Parsed once per channel (newChannel): a name cache would cost more (hashing, a large Map) than parsing. */
export function parseChannelName(name: string): ChannelName {
  return parse(name);
}

function parse(name: string): ChannelName {
  if (name.startsWith('Local/')) {
    const semi = name.lastIndexOf(';');
    const half = semi > 0 ? name.slice(semi + 1) : '';
    const pairKey = semi > 0 ? name.slice(0, semi) : name;
    const at = pairKey.indexOf('@');
    const dash = pairKey.lastIndexOf('-');
    const endpoint = at > 6 ? pairKey.slice(6, at) : pairKey.slice(6);
    const group = at > 0 ? pairKey.slice(at + 1, dash > at ? dash : undefined) : '';
    return { isLocal: true, pairKey, half: half === '1' ? 1 : half === '2' ? 2 : 0, endpoint, group };
  }
  const slash = name.indexOf('/');
  const dash = name.lastIndexOf('-');
  const tech = slash > 0 ? name.slice(0, slash) : '';
  const endpoint = slash > 0 ? name.slice(slash + 1, dash > slash ? dash : undefined) : name;
  return { isLocal: false, pairKey: name, half: 0, endpoint, group: tech };
}

const PHONE_NUMBER = /^\+?[0-9*#]+$/;

export function looksLikeNumber(s: string): boolean {
  return PHONE_NUMBER.test(s);
}
