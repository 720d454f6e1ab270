// GET /metrics: Prometheus text from prom-client. Call and hook figures are counted from each processed
// call's report (the same trace the store keeps); outbox depth, parked calls and CEL lag are read from
// the store at scrape time; process metrics and event-loop lag are prom-client's defaults.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallReport } from '../pipeline/index.js';
import type { CelLag } from './status.js';
import type { ConnectorStore, LeadershipSnapshot } from '../store/index.js';

export interface ConnectorMetrics {
  readonly registry: Registry;
  recordCall(report: CallReport): void;
}

export function createMetrics(o: { store: ConnectorStore; pbx: string; celLag(): Promise<CelLag>; leadership?: () => LeadershipSnapshot }): ConnectorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const calls = new Counter({ name: 'callhook_calls_total', help: 'Processed calls by call type and result (registered, not_registered, parked).', labelNames: ['type', 'result'], registers: [registry] });
  const hookCalls = new Counter({ name: 'callhook_hook_calls_total', help: 'Hook invocations by hook, point and outcome.', labelNames: ['hook', 'point', 'outcome'], registers: [registry] });
  const hookFailures = new Counter({ name: 'callhook_hook_failures_total', help: 'Hook invocations that failed (error, timeout, bad result): the point applied its default.', labelNames: ['hook', 'point'], registers: [registry] });
  const hookDuration = new Histogram({
    name: 'callhook_hook_duration_seconds', help: 'Wall time of one hook invocation.', labelNames: ['hook', 'point'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry],
  });
  const retries = new Counter({ name: 'callhook_outbox_retries_total', help: 'CRM requests sent again after a failure (attempts beyond the first), per portal.', labelNames: ['portal'], registers: [registry] });
  new Gauge({
    name: 'callhook_outbox_actions', help: 'Outbox entries by portal and status (sending, in_doubt, failed = still to be delivered).', labelNames: ['portal', 'status'], registers: [registry],
    async collect() {
      this.reset();
      for (const p of await o.store.outboxByPortal(o.pbx)) for (const [status, n] of Object.entries(p.actions)) this.set({ portal: p.portal, status }, n);
    },
  });
  new Gauge({
    name: 'callhook_outbox_depth', help: 'Outbox entries not delivered yet (sending + in_doubt + failed).', registers: [registry],
    async collect() {
      const { actions } = await o.store.counts(o.pbx);
      this.set(actions.sending + actions.in_doubt + actions.failed);
    },
  });
  new Gauge({
    name: 'callhook_calls_in_store', help: 'Calls in the connector store by status (parked = given up, waiting for reprocess).', labelNames: ['status'], registers: [registry],
    async collect() {
      this.reset();
      for (const [status, n] of Object.entries((await o.store.counts(o.pbx)).calls)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'callhook_cel_lag_rows', help: 'CEL rows in the table after the connector\'s cursor (mariadb source).', registers: [registry],
    async collect() {
      const lag = await o.celLag();
      if (lag.lag_rows !== null) this.set(lag.lag_rows);
    },
  });
  new Gauge({
    name: 'callhook_cel_lag_seconds', help: 'PBX time between the cursor\'s row and the newest CEL row.', registers: [registry],
    async collect() {
      const lag = await o.celLag();
      if (lag.lag_seconds !== null) this.set(lag.lag_seconds);
    },
  });
  new Gauge({
    name: 'callhook_leader', help: 'This instance\'s role for its PBX: 1 while it holds the lease (reads CEL, sends to the CRM), 0 as a standby.', labelNames: ['pbx', 'instance'], registers: [registry],
    collect() {
      const l = o.leadership?.();
      if (l !== undefined) this.set({ pbx: l.pbx, instance: l.instance }, l.role === 'leader' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'callhook_leader_refused_writes', help: 'Writes the database refused because this instance no longer held the lease (fencing).', registers: [registry],
    collect() {
      const l = o.leadership?.();
      if (l !== undefined) this.set(l.refusedWrites);
    },
  });
  return {
    registry,
    recordCall(report) {
      const summary = report.summary;
      const result = report.status === 'parked' ? 'parked' : summary?.registered === true ? 'registered' : 'not_registered';
      calls.inc({ type: summary?.type ?? 'unknown', result });
      for (const stage of report.stages) {
        for (const step of stage.steps) {
          if (step.kind !== 'hook') continue;
          for (const h of step.hooks) {
            hookCalls.inc({ hook: h.hook, point: step.point, outcome: h.outcome });
            if (h.outcome === 'failed') hookFailures.inc({ hook: h.hook, point: step.point });
            hookDuration.observe({ hook: h.hook, point: step.point }, h.durationMs / 1000);
          }
        }
      }
      for (const a of report.actions) if (a.run === report.run && a.attempts > 1) retries.inc({ portal: a.portal }, a.attempts - 1);
    },
  };
}
