// The dashboard's traffic view: under each pool, live graphs (GET /series, polled every second,
// only the new seconds after the first load) and the failover timeline (GET /timeline, polled
// every second and at once on every event). The page's main script announces each status it
// renders ('baton:status', with the headers reads need) and each event ('baton:event').
import { createCharts } from './dashboard-charts.js';
import { createTimeline } from './dashboard-timeline.js';
import { el, mergeSeries, setText } from './dashboard-util.js';

const POLL_MS = 1000;
const KEEP_SECONDS = 900;
const WINDOWS = [
  ['1 min', 60],
  ['2 min', 120],
  ['5 min', 300],
  ['15 min', 900],
];
const WINDOW_KEY = 'baton.trafficWindow';

const storage = (() => {
  try {
    window.sessionStorage.getItem(WINDOW_KEY);
    return window.sessionStorage;
  } catch {
    return null; // storage disabled: the choice lasts until the page reloads
  }
})();
let windowSeconds = WINDOWS.map(([, s]) => s).find((s) => s === Number(storage?.getItem(WINDOW_KEY))) ?? 900;
let readHeaders = {};
let buffer = null;
let lastTimeline = null;
const panels = new Map();

// The first status rendered starts the polling: it brings the headers reads need (the token,
// with admin.tokenForReads) and the pool sections the graphs go in.
let started = false;
document.addEventListener('baton:status', (event) => {
  readHeaders = event.detail?.headers ?? {};
  if (!started) {
    started = true;
    poll();
  } else if (buffer && lastTimeline) render();
});
document.addEventListener('baton:event', () => pollSoon());

async function getJson(path) {
  const res = await fetch(new URL(path, document.baseURI), {
    headers: { accept: 'application/json', ...readHeaders },
    cache: 'no-store',
  });
  if (!res.ok) throw new Error(`GET /${path.split('?')[0]}: HTTP ${res.status}`);
  return res.json();
}

/** The last `seconds` points of one pool, as the charts take them. */
function viewOf(pool, seconds) {
  const start = Math.max(0, buffer.points - seconds);
  const slice = (entity) =>
    Object.fromEntries(Object.entries(entity).map(([field, values]) => [field, values.slice(start)]));
  const xs = [];
  for (let i = start; i < buffer.points; i++) xs.push((buffer.from + i * buffer.step) / 1000);
  return {
    xs,
    pool: slice(pool.pool),
    nodes: Object.fromEntries(Object.entries(pool.nodes).map(([id, node]) => [id, slice(node)])),
  };
}

function windowSelect() {
  const select = el(
    'select',
    { 'data-field': 'traffic-window', 'aria-label': 'Time window of the graphs and the timeline' },
    ...WINDOWS.map(([label, seconds]) => el('option', { value: seconds, text: `last ${label}` })),
  );
  select.value = String(windowSeconds);
  select.addEventListener('change', () => {
    windowSeconds = Number(select.value);
    storage?.setItem(WINDOW_KEY, String(windowSeconds));
    for (const panel of panels.values()) panel.select.value = select.value;
    pollSoon();
  });
  return select;
}

function panelFor(name) {
  let panel = panels.get(name);
  if (panel) return panel;
  const select = windowSelect();
  const state = el('span', { class: 'traffic-state', 'data-field': 'traffic-state' });
  const chartsBox = el('div', { class: 'charts-box' });
  const timelineBox = el('div', { class: 'timeline-box' });
  const root = el(
    'div',
    { class: 'traffic', 'data-traffic': name },
    el('div', { class: 'traffic-head' }, el('h3', { text: 'Traffic' }), select, state),
    chartsBox,
    el('h3', { class: 'timeline-title', text: 'Failover timeline' }),
    timelineBox,
  );
  const timeline = createTimeline(timelineBox, name, highlightInFeed);
  panel = { root, select, state, chartsBox, charts: null, nodesKey: '', timeline };
  panels.set(name, panel);
  return panel;
}

/** The events clicked on the timeline, highlighted in the page's event feed when they are there. */
function highlightInFeed(events) {
  for (const item of document.querySelectorAll('#events li.highlighted')) item.classList.remove('highlighted');
  let first = null;
  for (const event of events) {
    const item = document.querySelector(`#events li[data-event-id="${event.seq}"]`);
    if (!item) continue;
    item.classList.add('highlighted');
    first ??= item;
  }
  first?.scrollIntoView({ block: 'nearest' });
}

function render() {
  const names = new Set([...Object.keys(buffer.pools), ...Object.keys(lastTimeline.pools)]);
  for (const name of names) {
    const section = document.querySelector(`section.pool[data-pool="${CSS.escape(name)}"]`);
    if (!section) continue;
    const panel = panelFor(name);
    if (panel.root.parentElement !== section) section.append(panel.root);
    const timeline = lastTimeline.pools[name];
    const series = buffer.pools[name];
    const nodeIds = [...new Set([...(timeline?.nodes.map((n) => n.id) ?? []), ...Object.keys(series?.nodes ?? {})])];
    if (series) {
      if (panel.nodesKey !== nodeIds.join('\u0000') || !panel.charts) {
        panel.charts?.destroy();
        panel.charts = createCharts(panel.chartsBox, nodeIds);
        panel.nodesKey = nodeIds.join('\u0000');
      }
      panel.charts.update(viewOf(series, windowSeconds));
    }
    if (timeline) panel.timeline.update(timeline, lastTimeline.to - windowSeconds * 1000, lastTimeline.to);
  }
  for (const [name, panel] of panels) {
    if (names.has(name)) continue;
    panel.charts?.destroy();
    panel.timeline.destroy();
    panel.root.remove();
    panels.delete(name);
  }
}

let timer = null;
let polling = false;
let again = false;

async function poll() {
  if (polling) {
    again = true;
    return;
  }
  polling = true;
  clearTimeout(timer);
  try {
    if (!document.hidden) {
      // After the first load, only the seconds the page does not have yet (and a few to refresh).
      const missing = buffer
        ? Math.ceil((Date.now() - (buffer.from + buffer.points * buffer.step)) / 1000) + 3
        : KEEP_SECONDS;
      const seconds = Math.min(KEEP_SECONDS, Math.max(5, missing));
      const [series, timeline] = await Promise.all([
        getJson(`series?window=${seconds}s`),
        getJson(`timeline?window=${windowSeconds}s`),
      ]);
      buffer = mergeSeries(buffer, series);
      lastTimeline = timeline;
      render();
      for (const panel of panels.values()) {
        setText(panel.state, `updated ${new Date().toLocaleTimeString()}`);
        panel.state.classList.remove('failing');
      }
    }
  } catch (error) {
    for (const panel of panels.values()) {
      setText(panel.state, `not updating: ${error.message}`);
      panel.state.classList.add('failing');
    }
  } finally {
    polling = false;
    timer = setTimeout(poll, again ? 0 : POLL_MS);
    again = false;
  }
}

function pollSoon() {
  if (!started) return;
  if (polling) again = true;
  else poll();
}
