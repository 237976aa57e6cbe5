import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import type { SyntaxNode } from '@lezer/common';
import { parse } from 'yaml';
import hotStandby from '../../plugins/hot-standby.ts';
import { startGateway } from '../helpers/gateway.ts';
import { eventually, request } from '../helpers/http.ts';
import { repoRoot } from '../helpers/process.ts';
import { closedPort, startUpstream } from '../helpers/upstream.ts';

// The Grafana dashboard and the Prometheus service of docker/compose.yaml, checked against the
// repository and against Baton's real /metrics output (no Docker engine runs here).

interface Service {
  image?: string;
  volumes?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: string[];
}
interface Target {
  expr?: string;
  legendFormat?: string;
  datasource?: { uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { uid?: string };
  targets?: Target[];
  panels?: Panel[];
}

const docker = join(repoRoot, 'docker');
const services = (
  parse(readFileSync(join(docker, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service> }
).services;
const dashboardFile = join(docker, 'grafana/dashboards/baton.json');
const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query?: { query: string } | string }> };
  annotations: { list: Array<{ expr?: string; datasource?: { uid?: string } }> };
};
const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
const targets = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })));

/** Host path (resolved from docker/) → container path, for one service's bind mounts. */
function mounts(service: Service): Map<string, string> {
  return new Map(
    (service.volumes ?? []).map((volume) => {
      const [host, container] = volume.split(':');
      return [join(docker, host!), container!];
    }),
  );
}

test('compose provisions Grafana from files that exist, with the Prometheus data source and the dashboard', (t) => {
  const grafana = services.grafana!;
  t.deepEqual(grafana.depends_on, ['prometheus']);
  const mounted = mounts(grafana);
  for (const host of mounted.keys()) t.true(existsSync(host), host);
  const provisioning = [...mounted].find(([, inside]) => inside === '/etc/grafana/provisioning')![0];
  const datasources = parse(readFileSync(join(provisioning, 'datasources/prometheus.yml'), 'utf8'))
    .datasources as Array<{ uid: string; type: string; url: string }>;
  t.is(datasources.length, 1);
  t.is(datasources[0]!.type, 'prometheus');
  const prometheusUrl = new URL(datasources[0]!.url);
  t.truthy(services[prometheusUrl.hostname], 'the data source is the compose Prometheus service');
  t.true(services.prometheus!.ports!.some((p) => p.endsWith(`:${prometheusUrl.port}`)));
  const providers = parse(readFileSync(join(provisioning, 'dashboards/baton.yml'), 'utf8')).providers as Array<{
    options: { path: string };
  }>;
  const dashboardsHost = [...mounted].find(([, inside]) => inside === providers[0]!.options.path)?.[0];
  t.is(dashboardsHost, join(docker, 'grafana/dashboards'), 'the provider reads the mounted dashboards folder');
  t.is(grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH, `${providers[0]!.options.path}/baton.json`);
  const uid = datasources[0]!.uid;
  for (const { panel, target } of targets) {
    t.is(panel.datasource?.uid, uid, panel.title);
    t.is(target.datasource?.uid, uid, panel.title);
  }
  for (const annotation of dashboard.annotations.list) t.is(annotation.datasource?.uid, uid);
});

test('Prometheus scrapes /metrics on the admin port of every gateway service', (t) => {
  const prometheus = services.prometheus!;
  const [host, inside] = [...mounts(prometheus)][0]!;
  t.is(inside, '/etc/prometheus/prometheus.yml');
  const config = parse(readFileSync(host!, 'utf8')) as {
    scrape_configs: Array<{ metrics_path: string; static_configs: Array<{ targets: string[] }> }>;
  };
  const job = config.scrape_configs[0]!;
  t.is(job.metrics_path, '/metrics');
  const gateways = Object.keys(services).filter((name) => name.startsWith('gateway-'));
  // The admin API's container port is the second published port (see compose.test.ts).
  const expected = gateways.map((name) => `${name}:${services[name]!.ports![1]!.split(':')[1]}`);
  t.deepEqual(job.static_configs.flatMap((c) => c.targets).sort(), expected.sort());
  t.deepEqual(prometheus.depends_on?.sort(), gateways.sort());
});

test('the dashboard: unique panel ids, panels within the 24-column grid, every query valid PromQL', (t) => {
  const ids = panels.map((p) => p.id);
  t.is(new Set(ids).size, ids.length);
  for (const panel of panels) t.true(panel.gridPos.x >= 0 && panel.gridPos.x + panel.gridPos.w <= 24, panel.title);
  t.true(targets.length >= 15);
  for (const expr of expressions()) t.deepEqual(errorsIn(expr), [], expr);
});

/** Every PromQL expression of the dashboard: panel targets, annotations, variables' label_values(). */
function expressions(): string[] {
  const variables = dashboard.templating.list.map((v) =>
    typeof v.query === 'string' ? v.query : (v.query?.query ?? ''),
  );
  const fromVariables = variables
    .map((q) => /^label_values\((.+),\s*\w+\)$/.exec(q)?.[1])
    .filter((q): q is string => q !== undefined);
  return [
    ...targets.map(({ target }) => target.expr!),
    ...dashboard.annotations.list.map((a) => a.expr!),
    ...fromVariables,
  ];
}

/** Grafana's own variables stand for durations; the rest ($pool) only appear inside strings. */
const withGrafanaVariables = (expr: string) => expr.replace(/\$__(rate_interval|interval|range)/g, '5m');

function errorsIn(expr: string): string[] {
  const source = withGrafanaVariables(expr);
  const errors: string[] = [];
  parser.parse(source).iterate({
    enter: (node) =>
      void (
        node.type.isError && errors.push(`syntax error at ${node.from}: ${source.slice(node.from, node.from + 20)}`)
      ),
  });
  return errors;
}

interface Use {
  metric: string;
  matchers: Array<{ label: string; op: string; value: string }>;
}

/** The metrics an expression selects with their label matchers, and the labels it groups by. */
function usesOf(expr: string): { selectors: Use[]; grouping: string[] } {
  const source = withGrafanaVariables(expr);
  const text = (node: SyntaxNode) => source.slice(node.from, node.to);
  const selectors: Use[] = [];
  const grouping: string[] = [];
  parser.parse(source).iterate({
    enter: (ref) => {
      if (ref.name === 'VectorSelector') {
        const node = ref.node;
        const use: Use = { metric: text(node.getChild('Identifier')!), matchers: [] };
        for (const matcher of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
          use.matchers.push({
            label: text(matcher.getChild('LabelName')!),
            op: text(matcher.getChild('MatchOp')!),
            value: JSON.parse(text(matcher.getChild('StringLiteral')!)) as string,
          });
        }
        selectors.push(use);
      }
      if (ref.name === 'GroupingLabels')
        for (const label of ref.node.getChildren('LabelName')) grouping.push(text(label));
    },
  });
  return { selectors, grouping };
}

/**
 * Label values a short test run cannot produce (an attempt aborted by its client, one refused by
 * an open breaker) must at least be documented for that metric in the README's metrics table.
 */
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
function documented(metric: string, value: string): boolean {
  const base = metric.replace(/_(bucket|sum|count)$/, '');
  const row = readme.split('\n').find((line) => line.startsWith(`| \`${base}\``));
  return row?.includes(`\`${value}\``) === true;
}

/** Prometheus adds these to every scraped series: they are never in Baton's own output. */
const targetLabels = new Set(['instance', 'job']);

/** metric → label → values seen, from Prometheus text. */
function seriesOf(text: string): Map<string, Map<string, Set<string>>> {
  const series = new Map<string, Map<string, Set<string>>>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (!match) continue;
    const labels = series.get(match[1]!) ?? new Map<string, Set<string>>();
    series.set(match[1]!, labels);
    for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (!labels.has(name!)) labels.set(name!, new Set());
      labels.get(name!)!.add(value!);
    }
  }
  return series;
}

test("every metric, label and label value the dashboard queries is in Baton's /metrics after traffic and a failover", async (t) => {
  const a = await startUpstream('a', (req, res) => {
    res.writeHead(req.url === '/fail' ? 500 : 200).end('a');
  });
  const primary = await startUpstream('primary');
  const standby = await startUpstream('standby');
  t.teardown(() => Promise.all([a.close(), primary.close(), standby.close()]));
  const dead = await closedPort();
  const { url, adminUrl, gateway } = await startGateway(t, {
    pools: {
      web: {
        policy: 'round-robin',
        nodes: [
          { url: a.url, id: 'a' },
          { url: `http://127.0.0.1:${dead}`, id: 'dead' },
        ],
        health: false,
      },
      db: {
        policy: hotStandby({ failbackDelay: '1h' }),
        nodes: [
          { url: primary.url, id: 'primary' },
          { url: standby.url, id: 'standby', tier: 1 },
        ],
        health: false,
      },
    },
    routes: [
      { path: '/db', pool: 'db' },
      { path: '/', pool: 'web' },
    ],
  });
  await eventually(() => gateway.status().pools.db!.active === 'primary', 2000);
  for (let i = 0; i < 4; i++) await request(`${url}/ok`); // one meets the dead node: connect, retry, ejection
  await request(`${url}/fail`); // a 5xx answer
  await request(`${url}/db`);
  t.is((await request(`${adminUrl}/pools/db/failover`, { method: 'POST' })).status, 200);
  const series = seriesOf((await request(`${adminUrl}/metrics`)).body);

  let checked = 0;
  for (const expr of expressions()) {
    const { selectors, grouping } = usesOf(expr);
    const labelsOfExpr = new Set<string>(targetLabels);
    for (const { metric, matchers } of selectors) {
      const labels = series.get(metric);
      t.truthy(labels, `${metric} is not in /metrics (in: ${expr})`);
      if (!labels) continue;
      for (const label of labels.keys()) labelsOfExpr.add(label);
      for (const { label, op, value } of matchers) {
        checked += 1;
        if (targetLabels.has(label)) continue;
        t.true(labels.has(label), `${metric} has no label ${label}`);
        // A literal value must be one Baton produces (a typo would match nothing, silently).
        const literals =
          op === '=' || op === '!=' ? [value] : value.split('|').filter((v) => !v.includes('$') && v !== '.*');
        for (const literal of literals) {
          t.true(
            labels.get(label)!.has(literal) || documented(metric, literal),
            `${metric}{${label}${op}"…${literal}…"}: neither seen nor documented`,
          );
        }
      }
    }
    for (const label of grouping)
      t.true(labelsOfExpr.has(label), `grouping by ${label}, which no metric of this expression has: ${expr}`);
  }
  t.true(checked > 40, `${checked} label matchers checked`);

  // Legends name only labels the series of their query carry.
  for (const { panel, target } of targets) {
    const { selectors, grouping } = usesOf(target.expr!);
    const available =
      grouping.length > 0
        ? new Set(grouping)
        : new Set([...targetLabels, ...selectors.flatMap((s) => [...(series.get(s.metric)?.keys() ?? [])])]);
    for (const [, label] of (target.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g))
      t.true(available.has(label!), `${panel.title}: legend {{${label}}}`);
  }
});
