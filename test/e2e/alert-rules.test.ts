/**
 * The ready-made operations files in deploy/observability/: the alert rules pass
 * `promtool check rules`, and `promtool test rules` fires each alert from synthetic series (and
 * not before its `for`); every alert has a unit test and a section in docs/OPERATIONS.md; every
 * metric the rules and the Grafana dashboard use is one the gateway exports. Skipped (loudly)
 * only when promtool is not installed (.ci/run installs it).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/process';
import { PROMTOOL } from '../helpers/observability';
import { collectProcessMetrics, register } from '../../src/observability/metrics';

const run = promisify(execFile);
const DIR = path.join(ROOT, 'deploy', 'observability');
const installed = fs.existsSync(PROMTOOL);
if (!installed) {
  console.warn(`!! ${PROMTOOL} is missing (apt-get install -y prometheus): promtool checks of the alert rules are SKIPPED`);
}
const maybe = installed ? test : test.skip;

const rules = fs.readFileSync(path.join(DIR, 'alerts.yml'), 'utf8');
const alertNames = [...rules.matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]);

maybe('promtool check rules accepts alerts.yml', async () => {
  const { stdout } = await run(PROMTOOL, ['check', 'rules', 'alerts.yml'], { cwd: DIR });
  expect(stdout).toContain(`SUCCESS: ${alertNames.length} rules found`);
});

maybe('promtool test rules: every alert fires from its synthetic series', async () => {
  const { stdout } = await run(PROMTOOL, ['test', 'rules', 'alerts.test.yml'], { cwd: DIR });
  expect(stdout).toContain('SUCCESS');
  const tests = fs.readFileSync(path.join(DIR, 'alerts.test.yml'), 'utf8');
  for (const name of alertNames) {
    // A firing expectation (exp_labels) and a quiet one (exp_alerts: []) for each alert.
    expect(tests).toMatch(new RegExp(`alertname: ${name}\\n\\s+exp_alerts:\\n\\s+- exp_labels:`));
    expect(tests).toMatch(new RegExp(`alertname: ${name}\\n\\s+exp_alerts: \\[\\]`));
  }
});

test('every alert has a runbook section in docs/OPERATIONS.md', () => {
  expect(alertNames.length).toBeGreaterThanOrEqual(10);
  const ops = fs.readFileSync(path.join(ROOT, 'docs', 'OPERATIONS.md'), 'utf8');
  for (const name of alertNames) expect(ops).toMatch(new RegExp(`^#### ${name}$`, 'm'));
  for (const [, anchor] of rules.matchAll(/runbook: "docs\/OPERATIONS\.md#(\w+)"/g)) {
    expect(alertNames.map((n) => n.toLowerCase())).toContain(anchor);
  }
});

test('the rules and the dashboard use only metrics the gateway exports', async () => {
  collectProcessMetrics();
  const exported = new Set<string>();
  for (const m of await register.getMetricsAsJSON()) {
    exported.add(m.name);
    if (m.type === ('histogram' as unknown as typeof m.type)) for (const s of ['_bucket', '_sum', '_count']) exported.add(m.name + s);
  }
  exported.add('up');
  const dashboard = JSON.parse(fs.readFileSync(path.join(DIR, 'grafana-dashboard.json'), 'utf8')) as {
    panels: { targets?: { expr: string }[] }[];
  };
  const exprs = [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...[...rules.matchAll(/expr: (.+(?:\n {10,}.+)*)/g)].map((m) => m[1]),
  ];
  const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\b((?:inventory|nodejs|process)_\w+|up)\b/g)].map((m) => m[1])));
  expect(used.size).toBeGreaterThan(20);
  for (const name of used) expect({ name, exported: exported.has(name) }).toEqual({ name, exported: true });
  // The dashboard covers every gateway series.
  const all = [...exported].filter((n) => n.startsWith('inventory_') && !/_(sum|count)$/.test(n));
  const histograms = new Set([...exported].filter((n) => n.endsWith('_bucket')).map((n) => n.slice(0, -'_bucket'.length)));
  for (const n of all.filter((x) => !histograms.has(x)))
    expect({ n, onDashboard: dashboard.panels.some((p) => (p.targets ?? []).some((t) => t.expr.includes(n))) }).toEqual({
      n,
      onDashboard: true,
    });
});
