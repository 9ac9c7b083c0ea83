/**
 * `npm run soak -- [--duration 120] [--clients 10] [--no-pg-restart] [--nats] [--no-report]`: the
 * fault-injection soak against the local PostgreSQL (DATABASE_URL, or postgres@127.0.0.1:5432).
 * --nats: the gateways fan out through NATS JetStream (the soak's own nats-server, killed and
 * restarted once among the faults).
 * Writes docs/RELIABILITY.md with the figures unless --no-report; exits 1 if an invariant fails.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT } from '../helpers/process';
import { renderReport, runSoak } from './soak';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main() {
  const durationS = Number(arg('duration') ?? 120);
  const clients = Number(arg('clients') ?? 10);
  if (!(durationS >= 5) || !(clients >= 1))
    throw new Error('usage: npm run soak -- [--duration seconds ≥ 5] [--clients n] [--no-pg-restart] [--nats] [--no-report]');
  const report = await runSoak({
    durationS,
    clients,
    pgRestart: !process.argv.includes('--no-pg-restart'),
    nats: process.argv.includes('--nats'),
  });
  const pgVersion = (() => {
    try {
      return execFileSync('psql', ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      return 'PostgreSQL';
    }
  })();
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${pgVersion}, ${new Date().toISOString().slice(0, 10)}`;
  const command = `npm run soak -- ${process.argv.slice(2).join(' ')}`.trim();
  if (!process.argv.includes('--no-report')) {
    fs.writeFileSync(path.join(ROOT, 'docs', 'RELIABILITY.md'), renderReport(report, command, machine));
    process.stderr.write('[soak] wrote docs/RELIABILITY.md\n');
  }
  process.stdout.write(
    `${JSON.stringify({ passed: report.passed, operations: report.operations, requests: report.requests, faults: report.faults, skipped: report.skipped }, null, 2)}\n`,
  );
  process.exit(report.passed ? 0 : 1);
}

main().catch((e) => {
  process.stderr.write(`[soak] ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
