/** Small helpers shared by the benchmark harness: statistics, formatting, process sampling. */
import fs from 'node:fs';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Percentile (0..100) of an unsorted sample; nearest-rank. */
export function percentile(xs: ArrayLike<number>, p: number, n = xs.length): number {
  if (n === 0) return NaN;
  const v = Float64Array.from({ length: n }, (_, i) => xs[i]).sort();
  const idx = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
  return v[idx];
}

/**
 * Latency recorder with fixed memory: a histogram of 10 µs buckets up to 10 s (beyond: last bucket).
 * Good to ±10 µs, which is far below what we report (0.01 ms resolution is printed).
 */
export class Histogram {
  private readonly buckets = new Uint32Array(1_000_000);
  /** Values of 10 s and more, kept exactly (rare outside overload). */
  private readonly slow: number[] = [];
  count = 0;
  max = 0;
  sum = 0;
  record(ms: number): void {
    const b = Math.max(0, Math.round(ms * 100));
    if (b >= this.buckets.length) this.slow.push(ms);
    else this.buckets[b]++;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }
  /** `missing`: values never recorded that count as larger than any (e.g. events never delivered). */
  percentile(p: number, missing = 0): number {
    if (this.count + missing === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * (this.count + missing)));
    if (rank > this.count) return Infinity;
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i];
      if (seen >= rank) return i / 100;
    }
    this.slow.sort((a, b) => a - b);
    return this.slow[Math.min(this.slow.length - 1, rank - seen - 1)];
  }
}

export function fmtNum(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function fmtMs(n: number): string {
  if (n === Infinity) return '∞';
  if (!Number.isFinite(n)) return '—';
  return n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0);
}

export function fmtRatio(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(2)}×` : '—';
}

/** Resident set size of a process in MB (Linux /proc; NaN elsewhere). */
export function rssMb(pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(s);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds (user + system) used so far by a process (Linux /proc; NaN elsewhere). */
export function cpuSeconds(pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds per PostgreSQL process serving `database` (backends show it in their command line),
 * plus the WAL writer — not the other databases' backends of a shared server.
 */
function postgresCpu(database: string | null): Map<string, number> {
  const m = new Map<string, number>();
  let dirs: string[];
  try {
    dirs = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return m;
  }
  for (const d of dirs) {
    try {
      const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')) !== 'postgres') continue;
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (database ? !(cmd.includes(` ${database} `) || cmd.includes('walwriter')) : false) continue;
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      m.set(d, (Number(f[11]) + Number(f[12])) / TICKS);
    } catch {
      /* process gone */
    }
  }
  return m;
}

/**
 * CPU used between start() and stop(), in seconds: the server process, PostgreSQL (the backends of
 * `database` and the WAL writer, sampled every 100 ms so that connections closed before the end
 * still count) and this process (the load generator).
 */
export function cpuMeter(
  serverPid: number | null,
  database: string | null,
): { stop(): { gateway: number; postgres: number; loadgen: number; wallS: number } } {
  const t0 = process.hrtime.bigint();
  const g0 = serverPid ? cpuSeconds(serverPid) : 0;
  const first = postgresCpu(database);
  const last = new Map(first);
  const sample = () => {
    for (const [pid, v] of postgresCpu(database)) last.set(pid, v);
  };
  const timer = setInterval(sample, 100);
  const l0 = process.cpuUsage();
  return {
    stop() {
      clearInterval(timer);
      sample();
      const l = process.cpuUsage(l0);
      let pgCpu = 0;
      for (const [pid, v] of last) pgCpu += v - (first.get(pid) ?? 0);
      return {
        gateway: serverPid ? cpuSeconds(serverPid) - g0 : 0,
        postgres: pgCpu,
        loadgen: (l.user + l.system) / 1e6,
        wallS: Number(process.hrtime.bigint() - t0) / 1e9,
      };
    },
  };
}

/** Samples the RSS of a process every `everyMs` until stopped; returns the peak and the median. */
export function rssSampler(pid: number, everyMs = 200): { stop(): { peak: number; median: number } } {
  const samples: number[] = [];
  const t = setInterval(() => {
    const r = rssMb(pid);
    if (Number.isFinite(r)) samples.push(r);
  }, everyMs);
  const first = rssMb(pid);
  if (Number.isFinite(first)) samples.push(first);
  return {
    stop() {
      clearInterval(t);
      const last = rssMb(pid);
      if (Number.isFinite(last)) samples.push(last);
      return { peak: samples.length ? Math.max(...samples) : NaN, median: median(samples) };
    },
  };
}

export function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}
