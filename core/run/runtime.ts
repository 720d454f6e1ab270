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
import { openStoreFromSettings, pbxKey, type ConnectorStore } from '../store/index.js';
import { createHookHost, hostOptionsFromSettings, type HookHost } from '../../hooks/index.js';

export interface ConnectorRuntime {
  pbx: string;
  store: ConnectorStore;
  crm: CrmRuntime;
  host: HookHost;
  numbers: NumberModel;
  /** Recording delivery (and for Kommo the link server). */
  recordings: Recordings;
  pipeline(onCall: (report: CallReport) => void | Promise<void>): Pipeline;
  close(): Promise<void>;
}

export async function openRuntime(settings: Settings, options: { logger: Logger; watchHooks: boolean }): Promise<ConnectorRuntime> {
  const { logger } = options;
  const numbers = createNumberModel(settings.numbers, { logger });
  const pbx = pbxKey(settings);
  const closers: Array<() => Promise<void> | void> = [() => numbers.close()];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c();
  };
  try {
    const opened = await openStoreFromSettings(settings);
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
      const env = { settings: crm.kommoSettings ?? settings.crm.kommo, users: crm.kommoUsers, recordings, pbx, buildNumber };
      program = (input) => runKommoStage({ ...input, env });
    } else {
      const env = { settings: settings.crm.bitrix24, kit: crm.kit, recordingsRoot: settings.hooks.recordings_root, recordings, pbx, buildNumber };
      program = (input) => runBitrix24Stage({ ...input, env });
    }
    return {
      pbx,
      store: opened.store,
      crm,
      host,
      numbers,
      recordings,
      pipeline: (onCall) => createPipeline({
        store: opened.store,
        pbx,
        host,
        client: crm.client,
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
