/**
 * The webhook SSRF guard with its default setting (WEBHOOK_ALLOW_PRIVATE_TARGETS off), against a
 * real gateway and real listeners on loopback: creation and update refuse local targets in every
 * notation and by name, and a subscription whose target is local by delivery time is not
 * delivered (and is disabled). No connection reaches the listeners; no traffic leaves 127.0.0.0/8
 * (names are only those of /etc/hosts or refused by name before any lookup).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { stockedSku } from '../helpers/factories';
import { ok } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { tuningEnv } from '../../src/config/tuning';
import { eventually } from '../helpers/poll';

jest.setTimeout(60_000);

let t: TestServer;
const listeners: http.Server[] = [];
let port = 0;
let connections = 0;
let requests = 0;

async function listenOn(host: string, p: number): Promise<number | null> {
  const server = http.createServer((_req, res) => {
    requests++;
    res.writeHead(204).end();
  });
  server.on('connection', () => connections++);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, host, () => resolve());
    });
  } catch {
    return null; // e.g. no IPv6 loopback here
  }
  listeners.push(server);
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  t = await startTestServer({
    INVENTORY_TUNING: tuningEnv({ WEBHOOK_POLL_MS: 50, EVENTS_POLL_MS: 100, WEBHOOK_RETRY_BASE_MS: 50, WEBHOOK_MAX_ATTEMPTS: 3 }),
  });
  expect(t.config.webhookAllowPrivateTargets).toBe(false);
  port = (await listenOn('127.0.0.1', 0))!;
  await listenOn('::1', port); // same port on the IPv6 loopback, when there is one
});
afterAll(async () => {
  await t?.stop();
  for (const s of listeners) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

/** Names that /etc/hosts maps to a loopback address (resolved from the file, no DNS query). */
function loopbackNamesFromHosts(): string[] {
  let text: string;
  try {
    text = fs.readFileSync('/etc/hosts', 'utf8');
  } catch {
    return [];
  }
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const [addr, ...rest] = line.replace(/#.*/, '').trim().split(/\s+/);
    if (!addr || !(/^127\./.test(addr) || addr === '::1')) continue;
    for (const n of rest) if (/^[a-z0-9.-]+$/i.test(n)) names.add(n);
  }
  return [...names];
}

const HOSTS = [
  // IPv4 in every notation WHATWG URL accepts
  '127.0.0.1',
  '127.0.0.1.',
  '127.1',
  '127.0.1',
  '2130706433',
  '0x7f000001',
  '0x7F.0.0.1',
  '0177.0.0.1',
  '017700000001',
  '%31%32%37.0.0.1',
  '127.255.255.254',
  '0',
  '0.0.0.0',
  // IPv6 loopback and the IPv4-mapped / -compatible / NAT64 forms of 127.0.0.1
  '[::1]',
  '[0:0:0:0:0:0:0:1]',
  '[::ffff:127.0.0.1]',
  '[::ffff:7f00:1]',
  '[0:0:0:0:0:ffff:7f00:1]',
  '[::127.0.0.1]',
  '[64:ff9b::127.0.0.1]',
  '[::]',
  // by name
  'localhost',
  'LOCALHOST',
  'localhost.',
  'hooks.localhost',
];
const OTHER_FORBIDDEN = [
  '10.0.0.1',
  '172.16.5.5',
  '192.168.1.1',
  '169.254.169.254',
  '100.64.0.1',
  '100.100.100.200',
  '224.0.0.1',
  '255.255.255.255',
  '[fd00:ec2::254]',
  '[fe80::1]',
  '[fc00::1]',
  '[ff02::1]',
];

const CREATE = `mutation($i: WebhookSubscriptionInput!) { webhookSubscriptionCreate(input: $i) { webhookSubscription { id } secret userErrors { code field message } } }`;
const UPDATE = `mutation($id: ID!, $i: WebhookSubscriptionInput!) { webhookSubscriptionUpdate(id: $id, input: $i) { webhookSubscription { id url status } userErrors { code field message } } }`;

test('creation and update refuse local targets in every notation and by name; nothing reaches the listeners', async () => {
  const names = loopbackNamesFromHosts();
  expect(names).toContain('localhost');
  const hosts = [...HOSTS, ...names, ...OTHER_FORBIDDEN];
  for (const scheme of ['http', 'https']) {
    for (const host of hosts) {
      const url = `${scheme}://${host}:${port}/hook`;
      const r = (await ok(t.gql(CREATE, { i: { url, topics: ['INVENTORY_UPDATED'] } }))).webhookSubscriptionCreate;
      expect([url, r.webhookSubscription, r.secret, r.userErrors.map((e: any) => [e.code, e.field.join('.')])]).toEqual([
        url,
        null,
        null,
        [['WEBHOOK_URL_FORBIDDEN', 'input.url']],
      ]);
    }
  }
  // A public literal is accepted (created inactive: nothing is ever sent to it)…
  const pub = (await ok(t.gql(CREATE, { i: { url: 'https://93.184.216.34/hooks', topics: ['INVENTORY_UPDATED'], active: false } })))
    .webhookSubscriptionCreate;
  expect(pub.userErrors).toEqual([]);
  const id = pub.webhookSubscription.id;
  // …and cannot be pointed at a local target afterwards.
  for (const host of ['127.0.0.1', '2130706433', '[::ffff:7f00:1]', 'localhost', ...names]) {
    const r = (await ok(t.gql(UPDATE, { id, i: { url: `http://${host}:${port}/hook` } }))).webhookSubscriptionUpdate;
    expect([host, r.webhookSubscription, r.userErrors.map((e: any) => e.code)]).toEqual([host, null, ['WEBHOOK_URL_FORBIDDEN']]);
  }
  const [w] = (await ok(t.gql(`{ webhookSubscriptions { url status } }`))).webhookSubscriptions;
  expect(w).toEqual({ url: 'https://93.184.216.34/hooks', status: 'PAUSED' });
  await ok(t.gql(`mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { userErrors { code } } }`, { id }));

  // Stock changes happen, the worker runs: still nothing reaches the listeners.
  await stockedSku(t.gql, 3);
  const { pool } = t.gateway.app.db;
  await eventually(
    'the events to be sequenced',
    async () => (await pool.query(`SELECT count(*)::int AS n FROM outbox_events`)).rows[0].n === 0,
  );
  // The events are sequenced, which is when deliveries are created: there are none to send (no
  // waiting for a worker run that could have sent one).
  const deliveries = await pool.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE store_id = $1`, [t.store.storeId]);
  expect(deliveries.rows[0].n).toBe(0);
  expect({ connections, requests }).toEqual({ connections: 0, requests: 0 });
});

test('a subscription whose target is local by delivery time is not delivered, and is disabled', async () => {
  // As if it had been saved before the guard existed, or its name resolved elsewhere back then.
  const [row] = (
    await t.gateway.app.db.pool.query(
      `INSERT INTO webhook_subscriptions (store_id, url, topics, secret) VALUES ($1, $2, ARRAY['INVENTORY_UPDATED'], 'whsec_test') RETURNING id`,
      [t.store.storeId, `http://localhost:${port}/legacy`],
    )
  ).rows;
  await stockedSku(t.gql, 4);
  const deadline = Date.now() + 20_000;
  let sub: any;
  for (;;) {
    sub = (await ok(t.gql(`{ webhookSubscriptions { id url status disabledReason active } }`))).webhookSubscriptions.find((w: any) =>
      w.url.endsWith('/legacy'),
    );
    if (sub.status === 'DISABLED' || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  expect(sub).toMatchObject({ status: 'DISABLED', active: false });
  expect(sub.disabledReason).toMatch(/forbidden \(loopback\) address at delivery time/);
  expect(sub.disabledReason).not.toContain('127.0.0.1');
  const d = (
    await ok(
      t.gql(`query($s: ID) { webhookDeliveries(first: 5, subscriptionId: $s) { nodes { status attempts lastStatusCode lastError } } }`, {
        s: sub.id,
      }),
    )
  ).webhookDeliveries.nodes;
  expect(d).toHaveLength(1);
  expect(d[0]).toMatchObject({ status: 'PENDING', attempts: 1, lastStatusCode: null });
  expect(d[0].lastError).toMatch(/^WEBHOOK_URL_FORBIDDEN: /);
  // Re-enabling checks the url again.
  const again = (await ok(t.gql(UPDATE, { id: sub.id, i: { active: true } }))).webhookSubscriptionUpdate;
  expect(again.userErrors.map((e: any) => e.code)).toEqual(['WEBHOOK_URL_FORBIDDEN']);
  expect({ connections, requests }).toEqual({ connections: 0, requests: 0 });
  void row;
});
