// Bridge membership: the evidence for "answered". A channel counts as connected once it shares a
// non-holding bridge with another channel (not merely ANSWER: a queue or IVR answers the caller too).
// holding_bridge (parking, music-on-hold) never connects anyone.
import type { ChanState } from './channel-model.js';

interface Bridge {
  technology: string;
  members: Map<string, ChanState>;
}

export const HOLDING_BRIDGE = 'holding_bridge';

export class BridgeTracker {
  private readonly bridges = new Map<string, Bridge>();
  private readonly bridgeOf = new Map<string, string>();

  /** Channel enters a bridge; returns the other members already there (the caller decides merges). */
  enter(bridgeId: string, technology: string, chan: ChanState, time: string): ChanState[] {
    let bridge = this.bridges.get(bridgeId);
    if (bridge === undefined) {
      bridge = { technology, members: new Map() };
      this.bridges.set(bridgeId, bridge);
    }
    const others = [...bridge.members.values()].filter((m) => m.uid !== chan.uid);
    bridge.members.set(chan.uid, chan);
    this.bridgeOf.set(chan.uid, bridgeId);
    chan.bridgedOnce = true;
    if (technology !== HOLDING_BRIDGE && others.length > 0) {
      if (chan.connectedAt === '') chan.connectedAt = time;
      for (const m of others) if (m.connectedAt === '') m.connectedAt = time;
    }
    return technology === HOLDING_BRIDGE ? [] : others;
  }

  exit(bridgeId: string, uid: string): void {
    const bridge = this.bridges.get(bridgeId);
    if (bridge !== undefined) {
      bridge.members.delete(uid);
      if (bridge.members.size === 0) this.bridges.delete(bridgeId);
    }
    if (this.bridgeOf.get(uid) === bridgeId) this.bridgeOf.delete(uid);
  }

  /** Drops a channel wherever it is (its call finished without a BRIDGE_EXIT row). */
  forget(uid: string): void {
    const id = this.bridgeOf.get(uid);
    if (id !== undefined) this.exit(id, uid);
  }

  get size(): number {
    return this.bridges.size;
  }
}
