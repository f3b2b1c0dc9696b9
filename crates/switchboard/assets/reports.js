// Reports: read the filters, ask GET /api/v1/reports/kpis (JSON) for the
// period, show the chosen dimension's table, the formulas and two charts
// (uPlot, vendored: offered vs answered and service level per interval);
// the export links ask the same endpoint for xlsx and pdf.
import uPlot from '/assets/uPlot.esm.js';
import { t, el } from '/assets/common.js';

const $ = (id) => document.getElementById(id);
const form = $('report-form');
const charts = [];

/** The query string of the form (dimension is the page's, not the API's). */
function query(format) {
  const p = new URLSearchParams();
  for (const k of ['from', 'to', 'tz', 'interval', 'queue']) {
    const v = form.elements[k].value.trim();
    if (v) p.set(k, v);
  }
  p.set('lang', document.documentElement.lang === 'en' ? 'en' : 'fr');
  p.set('format', format);
  return `/api/v1/reports/kpis?${p}`;
}

function fmt(v, unit) {
  if (v === null || v === undefined) return '–';
  const digits = unit === 'count' ? 0 : unit === 'score' ? 2 : 1;
  return Number(v).toLocaleString(document.documentElement.lang, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function showTable(report) {
  const id = form.elements.dimension.value;
  const table = report.tables.find((x) => x.id === id) || report.tables[0];
  const head = el('tr');
  const k = el('th', table.key_heading);
  k.scope = 'col';
  head.append(k);
  for (const h of table.headings) {
    const th = el('th', h);
    th.scope = 'col';
    head.append(th);
  }
  $('report-table').tHead.replaceChildren(head);
  const rows = table.rows.map((r) => {
    const tr = el('tr');
    tr.dataset.label = r.label;
    const th = el('th', r.label);
    th.scope = 'row';
    tr.append(th);
    r.values.forEach((v, j) => {
      const td = el('td', fmt(v, table.units[j]));
      td.dataset.label = table.headings[j];
      tr.append(td);
    });
    return tr;
  });
  $('report-table').tBodies[0].replaceChildren(...rows);
  $('report-table').dataset.table = table.id;
}

function showFormulas(report) {
  const items = [];
  for (const f of report.formulas) items.push(el('dt', f.name), el('dd', f.formula));
  items.push(el('dt', t("report_events")), el('dd', String(report.events_read)));
  $('formulas').replaceChildren(...items);
}

function chart(target, series, data) {
  const box = $(target);
  box.replaceChildren();
  const width = Math.max(300, Math.min(1100, box.clientWidth || 800));
  const plot = new uPlot(
    {
      width,
      height: 260,
      series: [{ label: t("report_interval"), value: (u, v) => (v == null ? '' : new Date(v * 1000).toISOString().slice(0, 16).replace('T', ' ')) }, ...series],
      axes: [{}, {}],
      scales: { x: { time: true } },
    },
    data,
    box,
  );
  // What is drawn, for people and tests: points, and each series' total.
  box.dataset.points = String(data[0].length);
  box.dataset.sums = data
    .slice(1)
    .map((ys) => ys.reduce((a, y) => a + (y ?? 0), 0))
    .join(',');
  charts.push(plot);
}

function showCharts(report) {
  while (charts.length) charts.pop().destroy();
  const xs = report.intervals.map((r) => r.start_ms / 1000);
  const bars = uPlot.paths.bars({ size: [0.6, 40] });
  chart(
    'chart-volume',
    [
      { label: t("offered"), stroke: '#17324d', fill: 'rgba(23,50,77,.25)', paths: bars },
      { label: t("answered"), stroke: '#2e7d32', width: 2 },
    ],
    [xs, report.intervals.map((r) => r.offered), report.intervals.map((r) => r.answered)],
  );
  chart(
    'chart-sl',
    [{ label: t("sl"), stroke: '#0b57d0', width: 2, spanGaps: false, points: { show: true, size: 7, fill: '#0b57d0' } }],
    [xs, report.intervals.map((r) => r.service_level_pct)],
  );
}

async function load() {
  $('report-msg').textContent = '';
  $('export-xlsx').href = query('xlsx');
  $('export-pdf').href = query('pdf');
  document.body.dataset.report = 'loading';
  const r = await fetch(query('json'), { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (r.status === 401) {
    location.href = '/login';
    return;
  }
  const data = await r.json().catch(() => null);
  if (!r.ok) throw new Error((data && data.message) || `${t("error")} ${r.status}`);
  showTable(data);
  showFormulas(data);
  showCharts(data);
  form.report = data;
  document.body.dataset.report = 'ready';
}

function fail(e) {
  $('report-msg').textContent = e.message;
  document.body.dataset.report = 'error';
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  load().catch(fail);
});
form.elements.dimension.addEventListener('change', () => {
  if (form.report) showTable(form.report);
});
load().catch(fail);
