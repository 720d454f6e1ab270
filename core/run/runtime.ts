// Everything a settings file turns into before calls flow: the connector store, the CRM (client, demo
// server), the hook host, the number model, and a pipeline factory. `callhook run` feeds the pipeline
// from the CEL source; `callhook reprocess` feeds it calls assembled again from CEL.
import type { Logger } from 'pino';
import { openCrm, type CrmRuntime } from '../crm/index.js';
import { createNumberModel, type NumberModel } from '../numbers/index.js';
import { createPipeline, runBitrix24Stage, type CallReport, type Pipeline, type StageProgram } from '../pipeline/index.js';
import { runKommoStage } from '../pipeline/kommo.js';
import { openRecordings, type Recordings } from '../recordings/index.js';
import type { Settings } from '../settings/index.js';
import { openLeadershipFromSettings, openStoreFromSettings, pbxKey, soleLeadership, type ConnectorStore, type Leadership } from '../store/index.js';
import type { CrmClient, CrmOutcome } from '../crm/types.js';
import { createHookHost, hostOptionsFromSettings, type HookHost } from '../../hooks/index.js';

export interface ConnectorRuntime {
  pbx: string;
  store: ConnectorStore;
  crm: CrmRuntime;
  host: HookHost;
  numbers: NumberModel;
  /** This instance's role for the PBX (snapshot() for /status and /metrics). */
  leadership: Leadership;
  /** Recording delivery (and for Kommo the link server). */
  recordings: Recordings;
  pipeline(onCall: (report: CallReport) => void | Promise<void>): Pipeline;
  close(): Promise<void>;
}

/**
 * The CRM client as the leader uses it: a request is sent only while the lease is certainly ours by the
 * local clock, so a process resumed after a freeze (SIGSTOP) sends nothing before it stands down. The
 * outbox write before each request is fenced by the database; this closes the gap between that write and
 * the request.
 */
export function leaderOnlyClient(client: CrmClient, leadership: Leadership): CrmClient {
  return {
    crm: client.crm,
    status: () => client.status(),
    close: () => client.close(),
    async call(method, params, options): Promise<CrmOutcome> {
      if (!leadership.mayAct()) {
        return { kind: 'transient', code: 'LEASE_LOST', description: 'this instance no longer holds the lease: nothing was sent', badAnswer: false, maybeDelivered: false, status: null, snippet: '', durationMs: 0 };
      }
      return client.call(method, params, options);
    },
  };
}

export async function openRuntime(settings: Settings, options: { logger: Logger; watchHooks: boolean; compete?: boolean }): Promise<ConnectorRuntime> {
  const { logger } = options;
  const numbers = createNumberModel(settings.numbers, { logger });
  const pbx = pbxKey(settings);
  const closers: Array<() => Promise<void> | void> = [() => numbers.close()];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c();
  };
  try {
    // `callhook run` competes for the PBX's lease; a reprocess is an operator's one-off and does not.
    const leadership = options.compete === true ? await openLeadershipFromSettings(settings, logger) : soleLeadership(pbx);
    closers.push(() => leadership.close());
    const opened = await openStoreFromSettings(settings, options.compete === true ? { fence: leadership.fence } : {});
    closers.push(() => opened.cleanup());
    const crm = await openCrm(settings, { logger, tokens: opened.store.tokens });
    closers.push(() => crm.close());
    const host = await createHookHost(hostOptionsFromSettings(settings.hooks, settings.sandbox, { logger, watch: options.watchHooks }));
    closers.push(() => host.close());
    await host.whenIdle();
    // Kommo plays recordings from a link its users' browsers fetch: the connector serves them.
    const recordings = await openRecordings(settings, { logger, serveLinks: crm.program === 'kommo' && crm.client !== null });
    closers.push(() => recordings.close());
    const buildNumber = (raw: string) => numbers.build(raw);
    let program: StageProgram;
    if (crm.program === 'kommo') {
      const env = {
        settings: crm.kommoSettings ?? settings.crm.kommo, users: crm.kommoUsers, recordings, pbx, buildNumber,
        clickToCall: (linkedid: string) => opened.store.clickToCall(pbx, linkedid),
      };
      program = (input) => runKommoStage({ ...input, env });
    } else {
      const env = {
        settings: settings.crm.bitrix24, kit: crm.kit, recordingsRoot: settings.hooks.recordings_root, recordings, pbx, buildNumber,
        clickToCall: (linkedid: string) => opened.store.clickToCall(pbx, linkedid),
      };
      program = (input) => runBitrix24Stage({ ...input, env });
    }
    return {
      pbx,
      store: opened.store,
      crm,
      host,
      numbers,
      leadership,
      recordings,
      pipeline: (onCall) => createPipeline({
        store: opened.store,
        pbx,
        host,
        client: crm.client === null ? null : leaderOnlyClient(crm.client, leadership),
        portal: crm.portal,
        program,
        delivery: settings.crm.delivery,
        logger,
        onCall,
      }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
