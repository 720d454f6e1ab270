// The admin page: plain JS, no build step. Everything shown comes from the JSON API; every value from a
// call or a hook is put in the page as text (never as HTML), so a hostile caller id cannot script the page.
'use strict';
let csrf = null;
const $ = (sel) => document.querySelector(sel);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
const json = (v) => h('pre', {}, JSON.stringify(v, null, 2));

async function api(path, options = {}) {
  const headers = { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(csrf && options.method && options.method !== 'GET' ? { 'x-csrf-token': csrf } : {}) };
  const res = await fetch(path, { credentials: 'same-origin', ...options, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
  if (res.status === 401) { location.href = '/login'; throw new Error('signed out'); }
  const body = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new Error(body && body.message ? body.message : `${res.status}`);
  return body;
}

// ---------------------------------------------------------------- tabs
function showTab(name) {
  for (const s of document.querySelectorAll('.tab')) s.hidden = s.id !== `tab-${name}`;
  for (const a of document.querySelectorAll('header nav a')) a.classList.toggle('active', a.dataset.tab === name);
  if (name === 'overview') void loadOverview();
  if (name === 'hooks') void loadHooks();
  if (name === 'calls') void loadCalls();
  if (name === 'whatif') void loadWhatIfFiles();
}
window.addEventListener('hashchange', () => showTab(location.hash.slice(1) || 'overview'));

// ---------------------------------------------------------------- charts (inline SVG)
const COLORS = ['#1a7f37', '#9a6700', '#cf222e', '#1f6feb', '#8250df', '#bf3989', '#0a7ea4', '#6e7781'];

function barChart(container, buckets, series) {
  const W = 760, H = 220, P = 30;
  const max = Math.max(1, ...buckets.map((b) => series.reduce((s, k) => s + (b.values[k] || 0), 0)));
  const bw = buckets.length ? (W - 2 * P) / buckets.length : 0;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`); svg.setAttribute('width', W); svg.setAttribute('height', H);
  const add = (tag, attrs, text) => { const e = document.createElementNS(svg.namespaceURI, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); if (text !== undefined) e.textContent = text; svg.append(e); return e; };
  add('line', { x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: '#999' });
  add('text', { x: 2, y: P, 'font-size': 10 }, String(max));
  buckets.forEach((b, i) => {
    let y = H - P;
    series.forEach((k, si) => {
      const v = b.values[k] || 0; if (v === 0) return;
      const bh = (v / max) * (H - 2 * P); y -= bh;
      add('rect', { x: P + i * bw + 1, y, width: Math.max(1, bw - 2), height: bh, fill: COLORS[si % COLORS.length] }).append(Object.assign(document.createElementNS(svg.namespaceURI, 'title'), { textContent: `${b.label} ${k}: ${v}` }));
    });
    if (buckets.length <= 24 || i % Math.ceil(buckets.length / 12) === 0) add('text', { x: P + i * bw, y: H - P + 14, 'font-size': 9 }, b.label.slice(5));
  });
  series.forEach((k, si) => { add('rect', { x: W - 150, y: 8 + si * 14, width: 10, height: 10, fill: COLORS[si % COLORS.length] }); add('text', { x: W - 135, y: 17 + si * 14, 'font-size': 11 }, k); });
  container.replaceChildren(svg);
}

function lineChart(container, lines, unit) {
  const W = 760, H = 200, P = 34;
  const all = lines.flatMap((l) => l.points);
  const max = Math.max(1e-9, ...all);
  const n = Math.max(2, ...lines.map((l) => l.points.length));
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`); svg.setAttribute('width', W); svg.setAttribute('height', H);
  const add = (tag, attrs, text) => { const e = document.createElementNS(svg.namespaceURI, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); if (text !== undefined) e.textContent = text; svg.append(e); return e; };
  add('line', { x1: P, y1: H - P, x2: W - P, y2: H - P, stroke: '#999' });
  add('text', { x: 2, y: P, 'font-size': 10 }, `${+max.toFixed(2)}${unit}`);
  lines.forEach((l, li) => {
    const pts = l.points.map((v, i) => `${P + (i / (n - 1)) * (W - 2 * P)},${H - P - (v / max) * (H - 2 * P)}`).join(' ');
    add('polyline', { points: pts, fill: 'none', stroke: COLORS[li % COLORS.length], 'stroke-width': 2 });
    add('text', { x: W - 230, y: 12 + li * 13, 'font-size': 10, fill: COLORS[li % COLORS.length] }, l.label);
  });
  container.replaceChildren(svg);
}

// ---------------------------------------------------------------- overview
async function loadOverview() {
  const s = await api('/status');
  $('#app-status').textContent = s.app_status; $('#app-status').className = `big ${s.app_status}`;
  $('#app-state').textContent = s.app_state === '' ? 'running' : s.app_state;
  $('#cel').textContent = s.cel.lag_rows === null ? `cursor ${s.cel.cursor ?? '–'}` : `${s.cel.lag_rows} rows behind`;
  $('#cel-detail').textContent = `${s.cel.source}; ${s.cel.lag_seconds !== null ? `${s.cel.lag_seconds} s lag; ` : ''}last batch ${s.cel.committed_at ?? 'never'}`;
  const portals = Object.entries(s.outbox);
  $('#outbox').textContent = String(portals.reduce((n, [, p]) => n + p.pending, 0)) + ' pending';
  $('#outbox-detail').replaceChildren(...portals.map(([name, p]) => h('div', {}, `${name}: ${p.actions.done} done, ${p.failing} failing, ${p.parked} parked`, p.lastError ? h('div', { class: 'err' }, `last error: ${p.lastError.method} ${JSON.stringify(p.lastError.outcome)}`) : null)));
  $('#calls-count').textContent = String(Object.values(s.calls).reduce((a, b) => a + b, 0));
  $('#uptime').textContent = `up ${s.uptime_seconds} s, version ${s.version}`;
  $('#problems').replaceChildren(...s.problems.map((p) => h('li', { class: p.startsWith('Error') ? 'Error' : 'Warning' }, p)));
  const { calls } = await api('/calls?limit=1000');
  const byHour = new Map();
  for (const c of calls) {
    const hour = `${c.startTime.slice(0, 13)}:00`;
    const result = c.status === 'parked' ? 'parked' : c.summary && c.summary.registered ? 'registered' : 'not_registered';
    const b = byHour.get(hour) || { label: hour, values: {} };
    b.values[result] = (b.values[result] || 0) + 1; byHour.set(hour, b);
  }
  barChart($('#chart-calls'), [...byHour.values()].sort((a, b) => (a.label < b.label ? -1 : 1)), ['registered', 'not_registered', 'parked']);
}

// ---------------------------------------------------------------- hooks
const hookHistory = new Map();
async function loadHooks() {
  const { hooks, switchedOff } = await api('/hooks');
  const tbody = $('#hooks-table tbody');
  tbody.replaceChildren(...hooks.map((hk) => {
    const off = switchedOff.includes(hk.hook) || hk.state === 'disabled';
    const err = hk.lastError ? `${hk.lastError.file}${hk.lastError.line !== undefined ? `:${hk.lastError.line}:${hk.lastError.column ?? 1}` : ''} ${hk.lastError.code} ${hk.lastError.message}` : '';
    const toggle = h('input', { type: 'checkbox', 'data-hook': hk.hook, checked: !off, onchange: async (e) => {
      e.target.disabled = true;
      try { await api(`/hooks/${encodeURIComponent(hk.hook)}/${e.target.checked ? 'enable' : 'disable'}`, { method: 'POST' }); } catch (error) { alert(error.message); }
      await loadHooks();
    } });
    return h('tr', { 'data-hook': hk.hook },
      h('td', {}, h('a', { href: '#hooks', class: 'hook-name', onclick: (e) => { e.preventDefault(); void showSource(hk.hook); } }, hk.hook)), h('td', {}, hk.point ?? '?'), h('td', {}, hk.source), h('td', {}, hk.contentHash ? hk.contentHash.slice(0, 8) : '–'),
      h('td', { class: `state state-${hk.state}` }, hk.state + (hk.staleOnDisk ? ' (edit on disk failed)' : '')),
      h('td', {}, hk.calls), h('td', {}, hk.failures), h('td', {}, hk.p50Ms === null ? '–' : `${hk.p50Ms} / ${hk.p99Ms} ms`),
      h('td', { class: 'err last-error' }, err), h('td', {}, toggle));
  }));
  for (const hk of hooks) {
    const hist = hookHistory.get(hk.hook) || { p50: [], p99: [], fail: [] };
    hist.p50.push(hk.p50Ms || 0); hist.p99.push(hk.p99Ms || 0); hist.fail.push(hk.calls ? (100 * hk.failures) / hk.calls : 0);
    for (const k of ['p50', 'p99', 'fail']) if (hist[k].length > 120) hist[k].shift();
    hookHistory.set(hk.hook, hist);
  }
  const wrap = $('#chart-hooks');
  const timing = h('div'); const fails = h('div');
  wrap.replaceChildren(h('div', { class: 'label' }, 'p99 ms'), timing, h('div', { class: 'label' }, 'failure rate %'), fails);
  lineChart(timing, [...hookHistory].map(([name, v]) => ({ label: `${name} p99`, points: v.p99 })), ' ms');
  lineChart(fails, [...hookHistory].map(([name, v]) => ({ label: name, points: v.fail })), '%');
}

async function showSource(name) {
  const text = await api(`/hooks/${encodeURIComponent(name)}/source`);
  $('#hook-source').replaceChildren(h('h2', {}, name), h('pre', { id: 'hook-source-text' }, text));
}

// ---------------------------------------------------------------- calls + timeline
async function loadCalls(event) {
  if (event) event.preventDefault();
  const params = new URLSearchParams();
  for (const [k, v] of new FormData($('#calls-filter'))) if (v !== '') params.set(k, String(v));
  let data;
  try { data = await api(`/calls?${params}`); } catch (error) { $('#calls-table tbody').replaceChildren(h('tr', {}, h('td', { colspan: 7, class: 'err' }, error.message))); return; }
  $('#calls-table tbody').replaceChildren(...data.calls.map((c) => h('tr', { class: 'clickable', 'data-linkedid': c.linkedid, onclick: () => void openCall(c.linkedid) },
    h('td', {}, c.startTime), h('td', {}, c.linkedid), h('td', {}, c.summary?.type ?? ''), h('td', {}, `${c.summary?.from ?? ''} → ${c.summary?.to ?? ''}`),
    h('td', {}, c.status === 'parked' ? `parked: ${c.parkedReason ?? ''}` : c.summary?.answered ? 'answered' : 'missed'),
    h('td', {}, c.summary?.registered ? `registered ${c.summary.crm_call_id}` : c.summary?.not_registered ?? ''),
    h('td', { class: 'err' }, c.failedHooks.join(', ')))));
}

function hookStepView(s) {
  const inputs = s.trace && s.trace.input !== undefined ? s.trace.input : null;
  return h('div', { class: 'step hook-step' },
    h('strong', {}, `hook point ${s.point}`), ` → ${JSON.stringify(s.value)}`, s.cancelled ? ` (cancelled by ${s.cancelledBy})` : '',
    s.defaultApplied ? h('div', { class: 'default-applied' }, `default applied: ${s.defaultApplied}`) : null,
    ...s.hooks.map((d) => h('div', { class: 'step' }, `${d.hook}: ${d.outcome}`, d.output !== undefined ? ` → ${JSON.stringify(d.output)}` : '', d.error ? h('span', { class: 'err' }, ` ${d.error}`) : '', d.fallback ? ` (${d.fallback})` : '', ` ${d.durationMs} ms`)),
    h('details', {}, h('summary', {}, 'input → output'), h('div', { class: 'io' }, json(inputs), json(s.value))));
}
function crmStepView(s) {
  return h('div', { class: 'step crm-step' }, h('strong', {}, `CRM ${s.method}`), ` [${s.key}] ${s.status}, ${s.attempts} attempt(s)`, s.note ? ` — ${s.note}` : '',
    h('details', {}, h('summary', {}, 'request → answer'), h('div', { class: 'io' }, json(s.params), json(s.outcome))));
}

async function openCall(linkedid) {
  const call = await api(`/calls/${encodeURIComponent(linkedid)}`);
  const el = $('#timeline'); el.hidden = false;
  el.replaceChildren(h('h2', {}, `Call ${call.linkedid} (run ${call.run}, ${call.status})`),
    ...(call.parkedReason ? [h('div', { class: 'err' }, call.parkedReason)] : []),
    ...call.stages.map((st) => h('div', { class: 'stage' }, h('div', {}, h('strong', {}, st.stage), ` ${st.party} (row ${st.atRowId})${st.registered ? '' : ' — not registered'}`),
      ...st.steps.map((s) => (s.kind === 'hook' ? hookStepView(s) : s.kind === 'crm' ? crmStepView(s) : h('div', { class: 'step note' }, `· ${s.text}`))))),
    h('details', {}, h('summary', {}, 'call_full'), json(call.call_full)));
  el.scrollIntoView();
}

// ---------------------------------------------------------------- what-if
async function loadWhatIfFiles() {
  const { hooks } = await api('/hooks');
  const sel = $('#whatif-file');
  const current = sel.value;
  sel.replaceChildren(h('option', { value: '' }, '(pasted source, name below)'), ...hooks.filter((x) => x.source === 'file').map((x) => h('option', { value: x.hook }, x.hook)));
  if (current) sel.value = current;
}
function listOf(text) { return String(text || '').split(/[\s,]+/).filter(Boolean); }
function decisionView(title, d) {
  return h('div', {}, h('strong', {}, title), ` ${JSON.stringify(d.value)}${d.cancelled ? ' (cancelled)' : ''}`,
    ...d.hooks.map((x) => h('div', { class: 'step' }, `${x.hook}: ${x.outcome}`, x.output !== undefined ? ` → ${JSON.stringify(x.output)}` : '', x.error ? h('span', { class: 'err' }, ` ${x.error}`) : '')));
}
$('#whatif-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const f = new FormData(event.target);
  const body = {};
  const source = String(f.get('source') || '');
  const file = String(f.get('file') || '');
  if (source.trim() !== '') { body.source = source; body.name = String(f.get('name') || '') || file; } else body.file = file;
  if (f.get('from')) body.from = String(f.get('from'));
  if (f.get('to')) body.to = String(f.get('to'));
  if (listOf(f.get('ids')).length) body.ids = listOf(f.get('ids'));
  const out = $('#whatif-result');
  out.replaceChildren('running…');
  try {
    const r = await api('/whatif', { method: 'POST', body });
    if (r.loadError) { out.replaceChildren(h('div', { class: 'err' }, `${r.hook} does not load: ${r.loadError}`)); return; }
    out.replaceChildren(h('p', { id: 'whatif-summary' }, `${r.hook} at ${r.point}: ${r.calls} calls, ${r.decisions} decisions run again, ${r.differences.length} differ in ${r.changedCalls} calls (${r.durationMs} ms; nothing sent to the CRM)`),
      ...r.differences.map((d) => h('div', { class: 'diff', 'data-linkedid': d.linkedid }, h('div', { class: 'label', style: 'grid-column: 1 / 3' }, `${d.linkedid} ${d.stage} ${d.conversationId} ${d.point}`), decisionView('live', d.live), decisionView('with the change', d.candidate))));
  } catch (error) { out.replaceChildren(h('div', { class: 'err' }, error.message)); }
});
// Picking a file puts its current source in the editor, to change it there (or leave it: the file as on disk).
$('#whatif-file').addEventListener('change', async (e) => { $('#whatif-source').value = e.target.value ? await api(`/hooks/${encodeURIComponent(e.target.value)}/source`) : ''; });

// ---------------------------------------------------------------- reprocess
$('#reprocess-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const f = new FormData(event.target);
  const ids = listOf(f.get('ids'));
  const body = ids.length ? { ids } : { from: String(f.get('from') || ''), ...(f.get('to') ? { to: String(f.get('to')) } : {}) };
  const bar = $('#reprocess-progress'); const state = $('#reprocess-state');
  try {
    let job = await api('/reprocess', { method: 'POST', body });
    bar.hidden = false;
    while (job.state === 'running') {
      bar.max = job.total || 1; bar.value = job.done;
      state.textContent = job.total === null ? 'reading CEL…' : `${job.done} / ${job.total} calls`;
      await new Promise((r) => setTimeout(r, 300));
      job = await api(`/reprocess/${job.id}`);
    }
    bar.max = job.total || 1; bar.value = job.done;
    state.textContent = job.state === 'done' ? `done: ${job.done} / ${job.total} calls; ${JSON.stringify(job.result)}` : `failed: ${job.error}`;
  } catch (error) { state.textContent = error.message; }
});

// ---------------------------------------------------------------- start
$('#calls-filter').addEventListener('submit', (e) => void loadCalls(e));
$('#logout').addEventListener('click', async () => { await fetch('/logout', { method: 'POST', credentials: 'same-origin' }); location.href = '/login'; });
(async () => {
  const s = await api('/session');
  csrf = s.csrf; $('#who').textContent = s.user;
  showTab(location.hash.slice(1) || 'overview');
  setInterval(() => {
    const tab = location.hash.slice(1) || 'overview';
    if (tab === 'hooks') void loadHooks();
    if (tab === 'overview') void loadOverview();
  }, 1000);
})();
