// Several PBX/CRM pairs in one process (`callhook run --settings a.json --settings b.json`): each pair is
// a whole connector of its own — CEL source and cursor, store pool, outbox rows (keyed by its PBX), hook
// host and sandbox processes, CRM client and rate limiter, lease — so one pair's dead database or failing
// CRM only slows that pair. A pair whose connector fails (its store unreachable at start, say) is started
// again with backoff; the others run on. docs/scaling.md.
import type { Logger } from 'pino';
import type { CallReport } from '../pipeline/index.js';
import type { Settings } from '../settings/index.js';
import { runConnector } from './connector.js';

export interface Pair {
  name: string;
  settings: Settings;
}

export interface PairsRunOptions {
  logger: Logger;
  signal: AbortSignal;
  onCall(pair: string, report: CallReport): void | Promise<void>;
}

const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

async function supervise(pair: Pair, o: PairsRunOptions): Promise<void> {
  const logger = o.logger.child({ pair: pair.name });
  let wait = RESTART_MIN_MS;
  while (!o.signal.aborted) {
    const started = Date.now();
    try {
      await runConnector(pair.settings, { logger, signal: o.signal, onCall: (report) => o.onCall(pair.name, report) });
    } catch (error) {
      if (o.signal.aborted) break;
      // A pair that ran a while before it failed starts again quickly; one failing at once backs off.
      if (Date.now() - started > RESTART_MAX_MS) wait = RESTART_MIN_MS;
      logger.error({ code: 'PAIR_FAILED', retryInMs: wait }, `pair ${pair.name} stopped: ${error instanceof Error ? error.message : String(error)}; starting it again in ${wait} ms (the other pairs go on)`);
      await sleep(wait, o.signal);
      wait = Math.min(RESTART_MAX_MS, wait * 2);
    }
  }
}

/** Runs every pair until the signal; resolves when all have stopped. */
export async function runPairs(pairs: readonly Pair[], o: PairsRunOptions): Promise<void> {
  await Promise.all(pairs.map((p) => supervise(p, o)));
}
