/**
 * Scenario 5: N graphql-ws subscribers of `inventoryChanged` on one gateway process while one
 * `inventoryAdjust` is sent every `fanoutIntervalMs`. Delivery latency = client receipt time −
 * the event's `occurredAt` (the outbox row's timestamp, taken inside the committing transaction, so
 * the figure slightly over-states commit → receipt). The subscribers speak the graphql-transport-ws
 * protocol directly on `ws` and only pick `occurredAt` out of each message, so the client side
 * costs as little CPU as possible on this shared 2-core machine.
 */
import WebSocket from 'ws';
import { authHeaders, type BenchContext } from '../lib/context';
import type { ExtraFigure } from '../lib/report';
import { Histogram, cpuMeter, fmtMs, median, rssSampler, sleep } from '../lib/util';

export const SUBSCRIPTION = `subscription {
  inventoryChanged {
    cursor occurredAt reason expiredQuantity
    before { onHand reserved available status }
    after { onHand reserved available status }
  }
}`;

const ADJUST = `mutation Adjust($input: InventoryAdjustInput!) {
  inventoryAdjust(input: $input) { inventoryLevel { id onHand } userErrors { code message } }
}`;

interface Subscriber {
  ws: WebSocket;
  received: number;
  closeCode: number | null;
}

function connect(url: string, key: string, onEvent: (occurredAt: number) => void): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const sub: Subscriber = { ws, received: 0, closeCode: null };
    let subscribed = false;
    const timer = setTimeout(() => reject(new Error('subscriber not acknowledged in 30 s')), 30_000);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${key}` } })));
    ws.on('message', (raw: Buffer) => {
      const now = Date.now();
      const s = raw.toString();
      if (s.startsWith('{"id":"1","type":"next"') || s.includes('"type":"next"')) {
        const i = s.indexOf('"occurredAt":"');
        if (i >= 0) {
          sub.received++;
          onEvent(now - Date.parse(s.slice(i + 14, s.indexOf('"', i + 14))));
        }
        return;
      }
      const m = JSON.parse(s) as { type: string; payload?: unknown };
      if (m.type === 'connection_ack' && !subscribed) {
        subscribed = true;
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION } }));
        clearTimeout(timer);
        resolve(sub);
      } else if (m.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
      else if (m.type === 'error') reject(new Error(`subscription error: ${JSON.stringify(m.payload)}`));
    });
    ws.on('close', (code) => {
      sub.closeCode = code;
      clearTimeout(timer);
      if (!subscribed) reject(new Error(`closed before ack: ${code}`));
    });
    ws.on('error', (e) => {
      if (!subscribed) reject(e);
    });
  });
}

interface RateResult {
  p50: number;
  p99: number;
  max: number;
  delivered: number;
  expected: number;
  events: number;
  adjustFailures: number;
  runs: { p50: number; p99: number; delivered: number; expected: number }[];
  rssPeakMb: number;
}

export async function fanout(
  ctx: BenchContext,
): Promise<{ extras: ExtraFigure[]; summary: { p50: number; p99: number; rssPeakMb: number } }> {
  const { opts } = ctx;
  let hist = new Histogram();
  const subs: Subscriber[] = [];
  const t0 = Date.now();
  for (let i = 0; i < opts.subscribers; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, opts.subscribers - i) }, () => connect(ctx.gateway.url, ctx.data.key, (ms) => hist.record(ms))),
    );
    subs.push(...batch);
  }
  ctx.log(`fan-out: ${subs.length} subscribers connected in ${Date.now() - t0} ms`);
  const level = ctx.data.levels[0];
  let sent = 0;
  let failed = 0;
  const adjust = async () => {
    const r = await fetch(ctx.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders(ctx) },
      body: JSON.stringify({
        query: ADJUST,
        variables: { input: { sku: level.sku, warehouseCode: ctx.data.warehouseCode, delta: 1, reason: 'CORRECTION' } },
      }),
    });
    const body = await r.text();
    if (r.status === 200 && body.includes('"userErrors":[]')) sent++;
    else failed++;
  };
  const receivedTotal = () => subs.reduce((s, x) => s + x.received, 0);
  const live = () => subs.filter((s) => s.closeCode === null).length;
  const waitDelivered = async (expected: number, timeoutMs: number) => {
    const end = Date.now() + timeoutMs;
    while (receivedTotal() < expected && Date.now() < end) await sleep(50);
  };
  // Every subscriber live: one event reaches all of them.
  await adjust();
  await waitDelivered(subs.length, 60_000);
  if (receivedTotal() < subs.length)
    ctx.warnings.push(`fan-out: only ${receivedTotal()} of ${subs.length} subscribers received the first event`);

  /** Sends one adjust per `intervalMs` for `windowS` seconds; resolves when every one answered. */
  const window = async (intervalMs: number, windowS: number) => {
    const start = Date.now();
    const inflight: Promise<void>[] = [];
    for (let k = 0; Date.now() - start < windowS * 1000; k++) {
      const wait = start + k * intervalMs - Date.now();
      if (wait > 0) await sleep(wait);
      inflight.push(adjust().catch(() => void failed++));
    }
    await Promise.all(inflight);
  };

  /**
   * A warm-up window at the rate (not measured, like every other scenario's: JIT, socket buffers,
   * heap size), then `runs` windows of `windowS` seconds at one adjust per `intervalMs`; each
   * drained (or given up) before the next.
   */
  const measure = async (intervalMs: number, windowS: number, runs: number, drainMs: number): Promise<RateResult> => {
    const results: RateResult['runs'] = [];
    let max = 0;
    const sentBeforeWarmUp = sent;
    const receivedBeforeWarmUp = receivedTotal();
    await window(intervalMs, opts.warmupS);
    await waitDelivered(receivedBeforeWarmUp + (sent - sentBeforeWarmUp) * live(), drainMs);
    const failedBefore = failed;
    const rss = rssSampler(ctx.gateway.pid);
    let allEvents = 0;
    for (let run = 0; run < runs; run++) {
      hist = new Histogram();
      const base = receivedTotal();
      const sentBefore = sent;
      const cpu = cpuMeter(ctx.gateway.pid, ctx.dbName);
      await window(intervalMs, windowS);
      const events = sent - sentBefore;
      allEvents += events;
      const expected = events * live();
      await waitDelivered(base + expected, drainMs);
      const delivered = receivedTotal() - base;
      const used = cpu.stop();
      const missing = Math.max(0, expected - delivered);
      results.push({ p50: hist.percentile(50, missing), p99: hist.percentile(99, missing), delivered, expected });
      max = Math.max(max, hist.max);
      ctx.log(
        `  fan-out 1 adjust/${intervalMs} ms run ${run + 1}/${runs}: ${events} events × ${live()} subscribers, delivered ${delivered}/${expected}` +
          `${missing ? ` (rest not within ${drainMs / 1000} s)` : ''}, p50 ${fmtMs(hist.percentile(50, missing))} ms, p99 ${fmtMs(hist.percentile(99, missing))} ms, max ${fmtMs(hist.max)} ms; ` +
          `CPU s gateway ${used.gateway.toFixed(1)} (${((used.gateway * 1e6) / Math.max(1, delivered)).toFixed(1)} µs/delivery), load gen ${used.loadgen.toFixed(1)}, PostgreSQL ${used.postgres.toFixed(1)} in ${used.wallS.toFixed(1)} s`,
      );
      if (missing) {
        // Let the backlog go before the next window, so that windows do not pile up.
        await waitDelivered(receivedTotal() + missing, 120_000);
      }
    }
    const { peak } = rss.stop();
    return {
      p50: median(results.map((r) => r.p50)),
      p99: median(results.map((r) => r.p99)),
      max,
      delivered: results.reduce((s, r) => s + r.delivered, 0),
      expected: results.reduce((s, r) => s + r.expected, 0),
      events: allEvents,
      adjustFailures: failed - failedBefore,
      runs: results,
      rssPeakMb: peak,
    };
  };

  const extras: ExtraFigure[] = [];
  const describe = (r: RateResult, intervalMs: number) =>
    `${fmtMs(r.p50)} / ${fmtMs(r.p99)} ms (runs p99: ${r.runs.map((x) => fmtMs(x.p99)).join(', ')}; max ${fmtMs(r.max)} ms; ` +
    `delivered ${r.delivered.toLocaleString('en-US')} of ${r.expected.toLocaleString('en-US')}${r.adjustFailures ? `; ${r.adjustFailures} adjusts failed` : ''}; ` +
    `${((1000 / intervalMs) * subs.length).toLocaleString('en-US')} deliveries/s offered)`;
  const main = await measure(opts.fanoutIntervalMs, opts.fanoutS, opts.runs, opts.quick ? 5_000 : 30_000);
  extras.push({
    name: `fan-out: ${subs.length} subscribers, 1 adjust / ${opts.fanoutIntervalMs} ms, commit → receipt p50 / p99`,
    value: describe(main, opts.fanoutIntervalMs),
    target: 'p99 ≤ 100 ms',
    pass: Number.isFinite(main.p99) && main.p99 <= 100 && main.delivered === main.expected,
  });
  let rssPeak = main.rssPeakMb;
  if (!opts.quick) {
    // For scale, no target: the same subscribers at a tenth of the rate.
    const slow = await measure(opts.fanoutIntervalMs * 10, 4, opts.runs, 30_000);
    rssPeak = Math.max(rssPeak, slow.rssPeakMb);
    extras.push({
      name: `fan-out (for scale): ${subs.length} subscribers, 1 adjust / ${opts.fanoutIntervalMs * 10} ms, commit → receipt p50 / p99`,
      value: describe(slow, opts.fanoutIntervalMs * 10),
      target: '',
      pass: null,
    });
  }
  extras.push({
    name: `fan-out: gateway RSS peak with ${subs.length} subscribers`,
    value: `${rssPeak.toFixed(0)} MB`,
    target: '≤ 250 MB',
    pass: rssPeak <= 250,
  });
  const closed = subs.filter((s) => s.closeCode !== null);
  if (closed.length)
    ctx.warnings.push(
      `fan-out: ${closed.length} subscribers were disconnected (close codes ${[...new Set(closed.map((s) => s.closeCode))].join(', ')})`,
    );
  if (failed) ctx.warnings.push(`fan-out: ${failed} adjust requests failed`);
  for (const s of subs) s.ws.terminate();
  return { extras, summary: { p50: main.p50, p99: main.p99, rssPeakMb: rssPeak } };
}
