// Commit lag of concurrent CEL inserts on this MariaDB: how long an id stays missing (allocated by one
// INSERT, not yet committed) while higher ids are already visible to a reader. This is the figure the
// MariaDB source's gap hold (`cel.mariadb.gap_wait_ms`) must exceed: a reader that gives up on a gap sooner
// than the writer commits loses that row (docs/cel-sources.md, "Id gaps").
// Writers: CEL_LAG_WRITERS connections (default 8) each running autocommit single-row INSERTs, as several
// Asterisk servers or cel_odbc connections writing one table do; baseline in the same run: the commit
// latency a writer itself sees (INSERT round trip). Reader: `SELECT id … WHERE id > ? ORDER BY id` every
// ~2 ms. Phases: writers alone, then writers + a CPU hog (the machine's other work) + a bulk writer.
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import mysql from 'mysql2/promise';
import { DB, freepbxCelDdl, uniqueName } from '../test/fixtures/cel-sources/db.js';

const WRITERS = Number(process.env.CEL_LAG_WRITERS ?? 8);
const PHASE_MS = Number(process.env.CEL_LAG_PHASE_MS ?? 15_000);

const INSERT = `INSERT INTO cel (eventtype, eventtime, cid_name, cid_num, cid_ani, cid_rdnis, cid_dnid, exten, context, channame,
  appname, appdata, amaflags, accountcode, uniqueid, linkedid, peer, userdeftype, extra)
  VALUES ('CHAN_START', NOW(), 'Alice', '200', '', '', '', '201', 'from-internal', 'PJSIP/200-00000001', '', '', 3, '', ?, ?, '', '', '')`;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const ms = (n: number): string => `${n.toFixed(1)} ms`;

interface PhaseResult { inserts: number; ids: number; commitMs: number[]; gaps: number; gapMs: number[]; neverFilled: number }

async function phase(db: string, withLoad: boolean): Promise<PhaseResult> {
  const pool = mysql.createPool({ ...DB, database: db, connectionLimit: WRITERS + 2 });
  const reader = await mysql.createConnection({ ...DB, database: db });
  let stop = false;
  const commitMs: number[] = [];
  let inserts = 0;
  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    const conn = await pool.getConnection();
    try {
      let k = 0;
      while (!stop) {
        const t0 = performance.now();
        await conn.query(INSERT, [`1795500000.${w}${k}`, `1795500000.${w}${k}`]);
        commitMs.push(performance.now() - t0);
        inserts++;
        k++;
      }
    } finally {
      conn.release();
    }
  });
  const hogs: Worker[] = [];
  let bulk: Promise<void> | undefined;
  if (withLoad) {
    // The shared machine: two busy threads (as other jobs) and a writer committing 500-row inserts.
    for (let i = 0; i < 2; i++) {
      hogs.push(new Worker('const end = Date.now() + Number(process.argv[2]); while (Date.now() < end) { Math.sqrt(Math.random()); }', { eval: true, argv: [String(PHASE_MS)] }));
    }
    bulk = (async () => {
      const conn = await pool.getConnection();
      try {
        const values = Array.from({ length: 500 }, (_, i) => `('CHAN_END', NOW(), '', '', '', '', '', '', '', 'PJSIP/bulk', '', '', 3, '', 'b${i}', 'b${i}', '', '', '')`).join(', ');
        while (!stop) await conn.query(`INSERT INTO cel (eventtype, eventtime, cid_name, cid_num, cid_ani, cid_rdnis, cid_dnid, exten, context, channame, appname, appdata, amaflags, accountcode, uniqueid, linkedid, peer, userdeftype, extra) VALUES ${values}`);
      } finally {
        conn.release();
      }
    })();
  }
  // The reader: every id above the cursor that is missing while a higher one is visible is a gap; it is
  // "filled" when a later poll sees it.
  const openGaps = new Map<number, number>();
  const gapMs: number[] = [];
  let cursor = 0;
  const end = performance.now() + PHASE_MS;
  while (performance.now() < end) {
    const [rows] = await reader.query('SELECT id FROM cel WHERE id > ? ORDER BY id', [cursor]);
    const ids = (rows as Array<{ id: number }>).map((r) => r.id);
    const now = performance.now();
    for (const id of ids) {
      const since = openGaps.get(id);
      if (since !== undefined) {
        gapMs.push(now - since);
        openGaps.delete(id);
      }
    }
    // Rows above the lowest open gap are re-read each poll (the cursor stays below every open gap).
    const seen = new Set(ids);
    let expected = cursor + 1;
    for (const id of ids) {
      for (let g = expected; g < id; g++) if (!seen.has(g) && !openGaps.has(g)) openGaps.set(g, now);
      expected = id + 1;
    }
    const lowestOpen = openGaps.size === 0 ? Infinity : Math.min(...openGaps.keys());
    const highest = ids.length > 0 ? ids[ids.length - 1]! : cursor;
    cursor = Math.min(highest, lowestOpen - 1);
    await new Promise((r) => setTimeout(r, 2));
  }
  stop = true;
  await Promise.all(writers);
  await bulk;
  for (const h of hogs) await h.terminate();
  // One last look for gaps that were filled after the phase ended.
  await new Promise((r) => setTimeout(r, 200));
  const [rest] = await reader.query('SELECT id FROM cel WHERE id > ? ORDER BY id', [cursor]);
  const later = new Set((rest as Array<{ id: number }>).map((r) => r.id));
  let neverFilled = 0;
  for (const [id] of openGaps) if (!later.has(id)) neverFilled++;
  const gaps = gapMs.length + openGaps.size;
  const [span] = await reader.query('SELECT COUNT(*) AS n FROM cel');
  const ids = Number((span as Array<{ n: unknown }>)[0]?.n ?? 0);
  await reader.query('TRUNCATE TABLE cel');
  await reader.end();
  await pool.end();
  return { inserts, ids, commitMs, gaps, gapMs, neverFilled };
}

function print(name: string, r: PhaseResult): void {
  const commit = [...r.commitMs].sort((a, b) => a - b);
  const gap = [...r.gapMs].sort((a, b) => a - b);
  console.log(`${name}: ${r.inserts.toLocaleString('en-US')} inserts by ${WRITERS} writers in ${PHASE_MS / 1000} s`);
  console.log(`  baseline  INSERT+commit round trip seen by a writer: p50 ${ms(percentile(commit, 50))}, p99 ${ms(percentile(commit, 99))}, max ${ms(commit[commit.length - 1] ?? 0)}`);
  console.log(`  gap lag   ids missing while a higher id was visible: ${r.gaps.toLocaleString('en-US')} gaps (${(100 * r.gaps / Math.max(1, r.ids)).toFixed(2)}% of ${r.ids.toLocaleString('en-US')} ids), ` +
    `filled after p50 ${ms(percentile(gap, 50))}, p99 ${ms(percentile(gap, 99))}, p99.9 ${ms(percentile(gap, 99.9))}, max ${ms(gap[gap.length - 1] ?? 0)}; never filled ${r.neverFilled}`);
  const maxGap = gap[gap.length - 1] ?? 0;
  const maxCommit = commit[commit.length - 1] ?? 0;
  console.log(`  ratio     max gap lag / max commit round trip: ${(maxGap / Math.max(0.001, maxCommit)).toFixed(2)}×`);
}

const root = await mysql.createConnection({ ...DB });
const db = uniqueName('cellag');
try {
  await root.query(`CREATE DATABASE \`${db}\``);
  await root.query(freepbxCelDdl(db));
  print('writers alone', await phase(db, false));
  print('writers + 2 busy threads + a 500-row bulk writer', await phase(db, true));
  console.log('gap_wait_ms default: 2000 ms (docs/cel-sources.md, "Id gaps": chosen above the worst lag measured here, with margin for a slower disk)');
} finally {
  await root.query(`DROP DATABASE IF EXISTS \`${db}\``);
  await root.end();
}
