/**
 * Scenario `gateways` (issue 19): fan-out over several gateway processes on one PostgreSQL, through
 * JetStream, against the in-process path (every process reads its stores' streams from PostgreSQL)
 * in the same run: bench/fanout-nats.ts, each mode on a fresh database of its own.
 * Full: 4 gateways, 5,000 graphql-ws subscribers over 50 stores, 200 committed changes/s for 20 s;
 * target commit → receipt p99 ≤ 150 ms, every subscriber exactly its store's events, once, in order.
 */
import type { BenchContext } from '../lib/context';
import type { ExtraFigure } from '../lib/report';
import { fmtMs } from '../lib/util';
import { describeResult, fanoutOverGateways, isAcceptanceShape, P99_TARGET_MS, type Opts } from '../fanout-nats';

export async function gateways(ctx: BenchContext, adminUrl: string): Promise<ExtraFigure[]> {
  const o: Opts = ctx.opts.quick
    ? {
        gateways: 2,
        subscribers: 8,
        stores: 2,
        rate: 20,
        durationS: 0.5,
        warmupS: 0.3,
        pauseMs: 300,
        modes: ['in-process', 'jetstream'],
        natsUrl: null,
        poolSize: ctx.opts.poolSize ?? 4,
      }
    : {
        gateways: 4,
        subscribers: 5000,
        stores: 50,
        rate: 200,
        durationS: 20,
        warmupS: 3,
        modes: ['in-process', 'jetstream'],
        natsUrl: null,
      };
  ctx.log(
    `gateways: ${o.gateways} gateway processes, ${o.subscribers} subscribers over ${o.stores} stores, ${o.rate} changes/s for ${o.durationS} s, per mode`,
  );
  const results = await fanoutOverGateways(o, adminUrl);
  const shape = `${o.gateways} gateways, ${o.subscribers.toLocaleString('en-US')} subscribers / ${o.stores} stores, ${o.rate} changes/s`;
  const out: ExtraFigure[] = [];
  for (const r of results) {
    ctx.log(`gateways: ${describeResult(o, r)}`);
    const jet = r.mode === 'jetstream';
    out.push({
      name: `fan-out over ${shape}, ${jet ? 'JetStream' : 'in-process (baseline: each process reads PostgreSQL)'}: commit → receipt p50 / p99`,
      value:
        `${fmtMs(r.p50)} / ${fmtMs(r.p99)} ms (delivered ${r.delivered.toLocaleString('en-US')} of ${r.expected.toLocaleString('en-US')}; ` +
        `gateway CPU ${r.cpuUsPerEvent.toFixed(1)} µs${r.natsCpuUsPerEvent !== null ? ` + nats-server ${r.natsCpuUsPerEvent.toFixed(1)} µs` : ''} and PostgreSQL ` +
        `${r.pgTuplesPerEvent.toFixed(2)} tuples read per delivered event` +
        (r.cores
          ? `; cores busy: gateways ${r.cores.gateways.toFixed(2)}, PostgreSQL ${r.cores.postgres.toFixed(2)}, subscribers and load ${r.cores.loadgen.toFixed(2)}`
          : '') +
        ')',
      target: jet && isAcceptanceShape(o) ? `p99 ≤ ${P99_TARGET_MS} ms` : '',
      pass: jet && isAcceptanceShape(o) ? r.p99 <= P99_TARGET_MS : null,
    });
    out.push({
      name: `fan-out over ${shape}, ${jet ? 'JetStream' : 'in-process'}: every subscriber got exactly its store's events, once, in order`,
      value: r.exact ? 'yes' : `NO: ${r.problems.join('; ')}`,
      target: 'yes',
      pass: r.exact,
    });
  }
  return out;
}
