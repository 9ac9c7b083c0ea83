/**
 * The webhook sender against real HTTP listeners on 127.0.0.1 (no database): the SSRF guard at
 * send time with an injected resolver, connection pinning, redirects, the response cap, timeouts
 * and error causes. No traffic leaves 127.0.0.0/8.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { postWebhook, MAX_RESPONSE_BYTES } from '../../src/modules/webhooks/webhook.http';
import type { ResolveAll } from '../../src/modules/webhooks/address-check';

interface Listener {
  port: number;
  connections: number;
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

async function listen(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_q, s) => s.writeHead(204).end(),
): Promise<Listener> {
  const l = { connections: 0, requests: [] as Listener['requests'] } as Listener;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      l.requests.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res);
    });
  });
  server.on('connection', () => l.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  l.port = (server.address() as AddressInfo).port;
  l.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return l;
}

const resolver = (...answers: string[][]) => {
  const calls: string[] = [];
  const fn: ResolveAll = async (host) => {
    const a = answers[Math.min(calls.length, answers.length - 1)];
    calls.push(host);
    return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(fn, { calls });
};

const H = { 'content-type': 'application/json' };
let l: Listener;
afterEach(async () => {
  await l?.close();
});

test('guard on: a host that now resolves to loopback is not contacted at all', async () => {
  l = await listen();
  // At creation the name resolved to a public address; by delivery time it resolves to 127.0.0.1.
  const dnsNow = resolver(['127.0.0.1']);
  const r = await postWebhook(`http://hooks.partner.test:${l.port}/x`, H, '{}', { allowPrivate: false, timeoutMs: 2000, resolve: dnsNow });
  expect(r).toMatchObject({
    ok: false,
    status: null,
    cause: 'WEBHOOK_URL_FORBIDDEN',
    refusal: { category: 'loopback', address: '127.0.0.1' },
  });
  expect(dnsNow.calls).toEqual(['hooks.partner.test']);
  // A mixed answer (one public, one private) is refused too.
  const mixed = await postWebhook(`http://hooks.partner.test:${l.port}/x`, H, '{}', {
    allowPrivate: false,
    timeoutMs: 2000,
    resolve: resolver(['93.184.216.34', '127.0.0.1']),
  });
  expect(mixed).toMatchObject({ ok: false, cause: 'WEBHOOK_URL_FORBIDDEN' });
  // IP literals in any notation, without any resolver call.
  for (const host of [
    '127.0.0.1',
    '2130706433',
    '0x7f000001',
    '0177.0.0.1',
    '127.1',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]',
    'localhost',
  ]) {
    const never = resolver([]);
    const lit = await postWebhook(`http://${host}:${l.port}/x`, H, '{}', { allowPrivate: false, timeoutMs: 2000, resolve: never });
    expect([host, lit.ok, !lit.ok && lit.cause]).toEqual([host, false, 'WEBHOOK_URL_FORBIDDEN']);
    expect(never.calls).toEqual([]);
  }
  await new Promise((r) => setTimeout(r, 50));
  expect(l.connections).toBe(0);
});

test('the connection goes to the address that was checked (resolved once per attempt)', async () => {
  l = await listen();
  // The OS cannot resolve this name: reaching the listener proves the checked answer was used.
  const dnsNow = resolver(['127.0.0.1'], ['127.0.0.2']);
  const r = await postWebhook(`http://hooks.partner.test:${l.port}/in?x=1`, { ...H, 'x-test': 'a' }, '{"a":1}', {
    allowPrivate: true,
    timeoutMs: 2000,
    resolve: dnsNow,
  });
  expect(r).toMatchObject({ ok: true, status: 204 });
  expect(dnsNow.calls).toHaveLength(1);
  expect(l.requests).toHaveLength(1);
  expect(l.requests[0]).toMatchObject({
    method: 'POST',
    url: '/in?x=1',
    body: '{"a":1}',
    headers: { host: `hooks.partner.test:${l.port}`, 'x-test': 'a', 'content-length': '7' },
  });
});

test('a redirect is a failed attempt and is not followed', async () => {
  l = await listen((req, res) => (req.url === '/start' ? res.writeHead(302, { location: '/elsewhere' }).end() : res.writeHead(204).end()));
  const r = await postWebhook(`http://127.0.0.1:${l.port}/start`, H, '{}', { allowPrivate: true, timeoutMs: 2000 });
  expect(r).toMatchObject({ ok: false, status: 302, cause: 'REDIRECT' });
  expect(l.requests.map((q) => q.url)).toEqual(['/start']);
});

test('non-2xx answers fail with their status', async () => {
  l = await listen((_q, res) => res.writeHead(503).end('busy'));
  expect(await postWebhook(`http://127.0.0.1:${l.port}/`, H, '{}', { allowPrivate: true, timeoutMs: 2000 })).toEqual({
    ok: false,
    status: 503,
    cause: 'HTTP_STATUS',
    error: 'HTTP 503',
  });
});

test(`at most ${MAX_RESPONSE_BYTES} bytes of a response are read`, async () => {
  let closed = false;
  l = await listen((_q, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(16 * 1024, 120);
    let sent = 0;
    const pump = () => {
      // An endless body: stop only when the client goes away.
      while (!closed && sent < 64 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
      if (!closed && sent < 64 * 1024 * 1024) res.once('drain', pump);
    };
    res.on('close', () => (closed = true));
    pump();
  });
  const r = await postWebhook(`http://127.0.0.1:${l.port}/`, H, '{}', { allowPrivate: true, timeoutMs: 5000 });
  expect(r.ok).toBe(true);
  expect((r as { bytesRead: number }).bytesRead).toBeGreaterThanOrEqual(MAX_RESPONSE_BYTES);
  expect((r as { bytesRead: number }).bytesRead).toBeLessThan(MAX_RESPONSE_BYTES + 64 * 1024);
  const t0 = Date.now();
  while (!closed && Date.now() - t0 < 3000) await new Promise((res) => setTimeout(res, 10));
  expect(closed).toBe(true);
});

test('no answer within the timeout is TIMEOUT', async () => {
  l = await listen(() => undefined); // never answers
  const t0 = Date.now();
  const r = await postWebhook(`http://127.0.0.1:${l.port}/`, H, '{}', { allowPrivate: true, timeoutMs: 300 });
  expect(r).toMatchObject({ ok: false, status: null, cause: 'TIMEOUT', error: 'TIMEOUT: no response within 300 ms' });
  expect(Date.now() - t0).toBeLessThan(2000);
});

test('a slow resolver counts against the same timeout', async () => {
  const slow: ResolveAll = () => new Promise((r) => setTimeout(() => r([{ address: '127.0.0.1', family: 4 }]), 1000).unref());
  const r = await postWebhook('http://slow.partner.test:9/', H, '{}', { allowPrivate: true, timeoutMs: 200, resolve: slow });
  expect(r).toMatchObject({ ok: false, cause: 'TIMEOUT' });
});

test('errors carry their cause: connection refused, unresolvable name', async () => {
  l = await listen();
  const port = l.port;
  await l.close();
  const refused = await postWebhook(`http://127.0.0.1:${port}/`, H, '{}', { allowPrivate: true, timeoutMs: 2000 });
  expect(refused).toMatchObject({ ok: false, status: null, cause: 'ECONNREFUSED' });
  expect((refused as { error: string }).error).toMatch(/^connect ECONNREFUSED 127\.0\.0\.1:\d+$|^ECONNREFUSED/);
  const nx: ResolveAll = async () => {
    throw Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' });
  };
  expect(await postWebhook('http://nx.partner.test/', H, '{}', { allowPrivate: false, timeoutMs: 2000, resolve: nx })).toMatchObject({
    ok: false,
    cause: 'ENOTFOUND',
  });
  l = await listen(); // for afterEach
});
