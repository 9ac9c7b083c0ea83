/**
 * Summarises a V8 .cpuprofile (node --cpu-prof) into self time per category: GraphQL
 * parse/validate/execute, Apollo, type-graphql, Prisma, the pg driver, JSON, Node's http/net,
 * GC, the gateway's own code, …
 *
 *   node dist/bench/lib/profile.js <file.cpuprofile>     prints the markdown summary
 */
import fs from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function pkgOf(url: string): string | null {
  const i = url.lastIndexOf('/node_modules/');
  if (i < 0) return null;
  const rest = url.slice(i + 14).split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

export function categoryOf(f: CallFrame): string {
  const { url, functionName: fn } = f;
  if (!url) {
    if (fn === '(idle)') return 'idle';
    if (fn === '(garbage collector)') return 'GC';
    if (fn === '(program)') return 'V8/native (program)';
    if (fn === 'stringify' || fn === 'parse') return 'JSON.parse / JSON.stringify';
    if (/^(writev|writeBuffer|writeUtf8String|writeLatin1String|writeAsciiString|readStart|readStop|shutdown|close)$/.test(fn))
      return 'socket I/O syscalls (incl. time the kernel had the process waiting for a CPU)';
    if (/digest|update|randomUUID|Hash|Hmac|secureBuffer|randomFill/i.test(fn)) return 'crypto';
    return 'other V8 builtins / native (regexp, Buffer, …)';
  }
  const pkg = pkgOf(url);
  if (pkg === 'graphql') {
    if (url.includes('/language/')) return 'graphql-js: parse (lexer/parser)';
    if (url.includes('/validation/')) return 'graphql-js: validate';
    if (url.includes('/execution/')) return 'graphql-js: execute';
    return 'graphql-js: other (types, values, utilities)';
  }
  if (pkg === '@prisma/client' || pkg === '.prisma') return 'Prisma client (query build/compile/interpret)';
  if (pkg === '@prisma/adapter-pg' || pkg === '@prisma/driver-adapter-utils') return 'Prisma adapter-pg';
  if (pkg && pkg.startsWith('@prisma/')) return `Prisma (${pkg})`;
  if (
    pkg === 'pg' ||
    pkg === 'pg-protocol' ||
    pkg === 'pg-pool' ||
    pkg === 'pg-types' ||
    pkg === 'postgres-array' ||
    pkg === 'postgres-date' ||
    pkg === 'buffer-writer' ||
    pkg === 'packet-reader'
  )
    return 'pg driver (protocol, parsing rows)';
  if (pkg === '@apollo/server' || pkg?.startsWith('@apollo/') || pkg === '@graphql-tools/schema' || pkg === '@graphql-tools/utils')
    return 'Apollo Server (request pipeline, plugins)';
  if (pkg === 'type-graphql') return 'type-graphql (resolver wrappers, validation, auth)';
  if (pkg === '@escape.tech/graphql-armor' || pkg?.startsWith('@escape.tech/')) return 'graphql-armor (limits)';
  if (pkg === 'dataloader') return 'dataloader';
  if (pkg === 'class-validator' || pkg === 'validator') return 'class-validator';
  if (pkg === 'ws' || pkg === 'graphql-ws') return 'WebSocket (ws, graphql-ws)';
  if (pkg) return `other package: ${pkg}`;
  if (url.includes('/dist/src/generated/')) return 'Prisma client (query build/compile/interpret)';
  if (url.includes('/dist/src/')) return 'gateway code (dist/src)';
  if (url.startsWith('node:')) {
    if (/node:(_http|http|net|stream|internal\/(streams|http|net|stream_base|js_stream))/.test(url) || /_http_|\/net\b|stream/.test(url))
      return 'Node.js http / net / streams';
    if (/async_hooks|async_local_storage|promise|task_queues|timers/.test(url))
      return 'Node.js async plumbing (promises, timers, AsyncLocalStorage)';
    return 'Node.js other internals';
  }
  return `other: ${url.slice(0, 60)}`;
}

export interface Summary {
  totalMs: number;
  busyMs: number;
  categories: { name: string; ms: number; pct: number }[];
  functions: { name: string; ms: number; pct: number }[];
  /** Whether the load window could be applied (else: the whole process lifetime). */
  windowed: boolean;
}

/**
 * `window`: only samples taken within [fromUs, toUs] of the monotonic clock (process.hrtime, which
 * V8 profiles use too) — the measured load, without start-up and shutdown.
 */
export function summarise(p: CpuProfile, window?: { fromUs: number; toUs: number }): Summary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const overlaps = window && window.fromUs < p.endTime && window.toUs > p.startTime;
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (overlaps && (t < window!.fromUs || t > window!.toUs)) continue;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const cats = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const c = categoryOf(n.callFrame);
    total += us;
    if (c === 'idle') {
      idle += us;
      continue;
    }
    cats.set(c, (cats.get(c) ?? 0) + us);
    const short = n.callFrame.url.replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\/src\//, 'src/');
    const key = `${n.callFrame.functionName || '(anonymous)'} ${short ? `(${short}:${n.callFrame.lineNumber + 1})` : ''}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  const busy = total - idle;
  const list = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: us / 1000, pct: busy > 0 ? (100 * us) / busy : 0 }));
  return { totalMs: total / 1000, busyMs: busy / 1000, categories: list(cats), functions: list(fns).slice(0, 15), windowed: !!overlaps };
}

export function summaryMarkdown(s: Summary, context: string): string {
  const L: string[] = [];
  L.push(context);
  L.push('');
  L.push(
    `${s.windowed ? 'Samples taken during the load only' : 'Whole process lifetime (start-up included)'}: ${(s.totalMs / 1000).toFixed(1)} s, of which the main thread was busy ${(s.busyMs / 1000).toFixed(1)} s (${((100 * s.busyMs) / s.totalMs).toFixed(0)} %). Self time by category (share of busy time):`,
  );
  L.push('');
  L.push('| category | self ms | share |');
  L.push('|---|---:|---:|');
  for (const c of s.categories.slice(0, 18)) L.push(`| ${c.name} | ${c.ms.toFixed(0)} | ${c.pct.toFixed(1)} % |`);
  L.push('');
  L.push('Top functions by self time:');
  L.push('');
  L.push('| function | self ms | share |');
  L.push('|---|---:|---:|');
  for (const f of s.functions) L.push(`| \`${f.name.replace(/\|/g, '\\|')}\` | ${f.ms.toFixed(0)} | ${f.pct.toFixed(1)} % |`);
  return L.join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/bench/lib/profile.js <file.cpuprofile>\n');
    process.exit(1);
  }
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(summaryMarkdown(summarise(p), `Profile ${file}`) + '\n');
}
