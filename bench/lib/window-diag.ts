/**
 * What the server was doing during one window of a sustained run, so that a slow window can be
 * explained rather than guessed at: the wait events of the bench database's active backends
 * (sampled every `everyMs` from pg_stat_activity), WAL written and its full-page images and
 * fsyncs (pg_stat_wal), checkpoints (pg_stat_bgwriter), and the CPU of the gateway and of the
 * database's backends.
 */
import pg from 'pg';
import { cpuMeter } from './util';

export interface WindowDiag {
  /** Mean number of active backends of the bench database waiting on each event, e.g. `Lock:tuple` → 3.1. */
  waits: Array<{ event: string; mean: number }>;
  /** Mean number of active backends (waiting or not). */
  active: number;
  walMb: number;
  walFpi: number;
  walSyncs: number;
  checkpoints: number;
  cpuGatewayS: number;
  cpuPostgresS: number;
  /** Requests offered to the group-committed statements, per batch: served by them, or left to the general path. */
  batched: Record<string, { served: number; generalPath: number }>;
}

/** inventory_batched_requests_total from the gateway's metrics endpoint: `<batch>:<outcome>` → count. */
async function batchedCounters(metricsUrl: string | undefined): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  if (!metricsUrl) return m;
  try {
    const text = await (await fetch(metricsUrl)).text();
    for (const x of text.matchAll(/^inventory_batched_requests_total\{batch="(\w+)",outcome="(\w+)"\} (\d+(?:\.\d+)?)/gm))
      m.set(`${x[1]}:${x[2]}`, Number(x[3]));
  } catch {
    /* no endpoint: no figures */
  }
  return m;
}

interface WalCounters {
  bytes: number;
  fpi: number;
  syncs: number;
  checkpoints: number;
}

async function walCounters(c: pg.Client): Promise<WalCounters> {
  const r = await c.query<{ bytes: string; fpi: string; syncs: string; checkpoints: string }>(
    `SELECT w.wal_bytes::text AS bytes, w.wal_fpi::text AS fpi, w.wal_sync::text AS syncs,
            (b.checkpoints_timed + b.checkpoints_req)::text AS checkpoints
       FROM pg_stat_wal w, pg_stat_bgwriter b`,
  );
  const x = r.rows[0];
  return { bytes: Number(x.bytes), fpi: Number(x.fpi), syncs: Number(x.syncs), checkpoints: Number(x.checkpoints) };
}

export async function startWindowDiag(
  dbUrl: string,
  dbName: string,
  gatewayPid: number | null,
  metricsUrl?: string,
  everyMs = 250,
): Promise<{ stop(): Promise<WindowDiag> }> {
  const c = new pg.Client({ connectionString: dbUrl, application_name: 'bench-window-diag' });
  await c.connect();
  const w0 = await walCounters(c);
  const b0 = await batchedCounters(metricsUrl);
  const cpu = cpuMeter(gatewayPid, dbName);
  const counts = new Map<string, number>();
  let samples = 0;
  let active = 0;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    c.query<{ event: string | null; n: number }>(
      `SELECT wait_event_type || ':' || wait_event AS event, count(*)::int AS n
         FROM pg_stat_activity
        WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()
        GROUP BY 1`,
      [dbName],
    )
      .then((r) => {
        samples++;
        for (const { event, n } of r.rows) {
          active += n;
          if (event) counts.set(event, (counts.get(event) ?? 0) + n);
        }
      })
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      const used = cpu.stop();
      const w1 = await walCounters(c);
      const b1 = await batchedCounters(metricsUrl);
      await c.end();
      const batched: WindowDiag['batched'] = {};
      for (const [k, v] of b1) {
        const [batch, outcome] = k.split(':');
        const e = (batched[batch] ??= { served: 0, generalPath: 0 });
        const d = v - (b0.get(k) ?? 0);
        if (outcome === 'served') e.served += d;
        else e.generalPath += d;
      }
      const n = Math.max(1, samples);
      return {
        waits: [...counts.entries()].map(([event, k]) => ({ event, mean: k / n })).sort((a, b) => b.mean - a.mean),
        active: active / n,
        walMb: (w1.bytes - w0.bytes) / 1e6,
        walFpi: w1.fpi - w0.fpi,
        walSyncs: w1.syncs - w0.syncs,
        checkpoints: w1.checkpoints - w0.checkpoints,
        cpuGatewayS: used.gateway,
        cpuPostgresS: used.postgres,
        batched,
      };
    },
  };
}

/** `reserve 97 % served, adjust 100 % served` — the share of each batch's requests its statement answered. */
export function fmtBatched(d: WindowDiag): string {
  const parts = Object.entries(d.batched)
    .filter(([, v]) => v.served + v.generalPath > 0)
    .map(([b, v]) => `${b} ${((100 * v.served) / (v.served + v.generalPath)).toFixed(0)} % served`);
  return parts.length ? parts.join(', ') : '—';
}

/** `Lock:tuple 3.1, LWLock:WALWrite 0.4` — the `top` events with a mean of at least 0.05 backends. */
export function fmtWaits(d: WindowDiag, top = 4): string {
  const shown = d.waits.filter((w) => w.mean >= 0.05).slice(0, top);
  return shown.length ? shown.map((w) => `${w.event} ${w.mean.toFixed(1)}`).join(', ') : '—';
}
