// The live graphs of one pool: five uPlot charts over the pool's and its nodes' per-second points
// (GET /series). uPlot is loaded before this module, from /assets/uplot.js (a global).
/* global uPlot */
import { clock, el, formatValue, setText } from './dashboard-util.js';

const POOL_COLOR = '#1d2330';
const NODE_COLORS = ['#2456c7', '#16794a', '#c2410c', '#7a3fbf', '#0e7490', '#a16207', '#be185d', '#4d7c0f'];
export const nodeColor = (index) => NODE_COLORS[index % NODE_COLORS.length];
const HEIGHT = 150;

/**
 * What each graph draws. `of: 'pool'` lines read the pool's points, `of: 'node'` lines one per
 * node; `show: false` lines start hidden (click the legend to show them).
 */
const CHARTS = [
  {
    key: 'requests',
    title: 'Requests/s',
    unit: '/s',
    lines: [
      { of: 'pool', field: 'requests', label: 'pool' },
      { of: 'node', field: 'requests' },
    ],
  },
  {
    key: 'errors',
    title: 'Errors',
    unit: '%',
    percent: true,
    lines: [
      { of: 'pool', field: 'responses5xxPct', label: 'pool: 5xx answers', color: '#b42318' },
      { of: 'pool', field: 'failedAttemptsPct', label: 'pool: failed attempts', color: '#c2410c', dash: [6, 4] },
      { of: 'node', field: 'failedAttemptsPct', suffix: 'failed', dash: [6, 4] },
      { of: 'node', field: 'responses5xxPct', suffix: '5xx', show: false },
    ],
  },
  {
    key: 'retries',
    title: 'Retries/s',
    unit: '/s',
    lines: [
      { of: 'pool', field: 'retries', label: 'pool' },
      { of: 'node', field: 'retries' },
    ],
  },
  {
    key: 'latency',
    title: 'Latency p50 / p99',
    unit: 'ms',
    log: true,
    lines: [
      { of: 'pool', field: 'p99Ms', label: 'pool p99' },
      { of: 'pool', field: 'p50Ms', label: 'pool p50', dash: [6, 4] },
      { of: 'node', field: 'p99Ms', suffix: 'p99' },
      { of: 'node', field: 'p50Ms', suffix: 'p50', dash: [6, 4], show: false },
    ],
  },
  {
    key: 'inflight',
    title: 'In flight',
    unit: '',
    lines: [
      { of: 'pool', field: 'inflight', label: 'pool' },
      { of: 'node', field: 'inflight' },
    ],
  },
];

/** The chart's lines for these nodes, in order: each with where its values come from. */
function linesFor(chart, nodeIds) {
  const lines = [];
  for (const line of chart.lines) {
    if (line.of === 'pool') {
      lines.push({ ...line, node: null, color: line.color ?? POOL_COLOR, width: 2 });
    } else {
      nodeIds.forEach((id, index) => {
        lines.push({
          ...line,
          node: id,
          label: line.suffix ? `${id}: ${line.suffix}` : id,
          color: nodeColor(index),
          width: 1.5,
        });
      });
    }
  }
  return lines;
}

function powersOfTen(min, max) {
  const out = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++)
    if (10 ** e >= min && 10 ** e <= max) out.push(10 ** e);
  return out;
}

function yRange(chart) {
  if (chart.log) {
    return (_u, min, max) =>
      min === null || max === null || !(max > 0)
        ? [0.1, 10]
        : [10 ** Math.floor(Math.log10(Math.max(min, 0.01))), 10 ** Math.ceil(Math.log10(max))];
  }
  if (chart.percent) return (_u, _min, max) => [0, Math.min(100, Math.max(5, (max ?? 0) * 1.15))];
  return (_u, _min, max) => [0, Math.max(chart.unit === '/s' ? 1 : 2, (max ?? 0) * 1.15)];
}

function buildChart(chart, nodeIds, width) {
  const lines = linesFor(chart, nodeIds);
  const now = el('span', { class: 'now', 'data-field': 'now' });
  const plot = el('div', { class: 'plot' });
  const figure = el(
    'figure',
    { class: 'chart', 'data-chart': chart.key },
    el('figcaption', null, el('span', { class: 'title', text: chart.title }), now),
    plot,
  );
  const options = {
    width,
    height: HEIGHT,
    scales: { x: { time: true }, y: chart.log ? { distr: 3, range: yRange(chart) } : { range: yRange(chart) } },
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    legend: { live: true },
    axes: [
      {
        stroke: '#5c6577',
        space: 70,
        grid: { stroke: '#eceef2' },
        ticks: { stroke: '#dde1e8' },
        values: (_u, splits) => splits.map((s) => clock(s * 1000)),
      },
      {
        stroke: '#5c6577',
        size: 58,
        grid: { stroke: '#eceef2' },
        ticks: { stroke: '#dde1e8' },
        // A log axis: lines and labels at the powers of ten only.
        splits: chart.log ? (_u, _axis, min, max) => powersOfTen(min, max) : undefined,
        values: (_u, splits) => splits.map((v) => formatValue(v, chart.unit === '/s' ? '' : chart.unit)),
      },
    ],
    series: [
      { value: (_u, ts) => (ts === null ? '–' : new Date(ts * 1000).toLocaleTimeString()) },
      ...lines.map((line) => ({
        label: line.label,
        stroke: line.color,
        width: line.width,
        dash: line.dash,
        show: line.show !== false,
        spanGaps: false,
        points: { show: false },
        // Values show while the pointer is over the chart; otherwise the legend is just names.
        value: (_u, v) => formatValue(v, chart.unit),
      })),
    ],
  };
  const empty = [[], ...lines.map(() => [])];
  const u = new uPlot(options, empty, plot);
  return { chart, lines, figure, now, u };
}

/**
 * The graphs of one pool in `container`. `update(view)` takes `{ xs, pool, nodes }`: epoch
 * seconds and, per field, one value per second for the pool and for each node.
 */
export function createCharts(container, nodeIds) {
  const grid = el('div', { class: 'charts' });
  container.replaceChildren(grid);
  const widthOf = () =>
    Math.max(
      220,
      Math.floor((grid.clientWidth || 900) / Math.max(1, Math.floor((grid.clientWidth || 900) / 340))) - 12,
    );
  const charts = CHARTS.map((chart) => buildChart(chart, nodeIds, widthOf()));
  for (const { figure } of charts) grid.append(figure);
  let lastWidth = widthOf();
  const resize = new ResizeObserver(() => {
    const width = widthOf();
    if (width === lastWidth) return;
    lastWidth = width;
    for (const { u } of charts) u.setSize({ width, height: HEIGHT });
  });
  resize.observe(grid);

  return {
    update(view) {
      for (const { chart, lines, figure, now, u } of charts) {
        const columns = lines.map(
          (line) =>
            (line.node === null ? view.pool?.[line.field] : view.nodes[line.node]?.[line.field]) ??
            view.xs.map(() => null),
        );
        u.setData([view.xs, ...columns]);
        // What the page says in words (and what a test reads): the pool's latest and peak values.
        const main = columns[0];
        let latest = null;
        for (let i = main.length - 1; i >= 0 && latest === null; i--) latest = main[i];
        const peak = main.reduce((max, v) => (v !== null && v > max ? v : max), 0);
        setText(now, `now ${formatValue(latest, chart.unit) || '–'}`);
        figure.dataset.latest = latest === null ? '' : String(latest);
        figure.dataset.peak = String(peak);
      }
    },
    destroy() {
      resize.disconnect();
      for (const { u } of charts) u.destroy();
      grid.remove();
    },
  };
}
