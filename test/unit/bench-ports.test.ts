/**
 * bench/lib/proc.ts: the benchmark's servers get distinct free ports, and a server that finds its
 * port taken before it could bind it (another process took it after it was picked: a CI run's
 * bench smoke test failed so) is started again on other ports. Real processes and sockets.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts, startNode } from '../../bench/lib/proc';

/** Refuses its first start as a gateway does when its port is taken; serves /ready on PORT after. */
const SCRIPT = `
const fs = require('node:fs');
const marker = process.env.MARKER;
if (!fs.existsSync(marker)) {
  fs.writeFileSync(marker, process.env.PORT);
  process.stderr.write('Startup failed: port ' + process.env.PORT + ' (HOST 127.0.0.1) is already in use by another process.\\n');
  process.exit(1);
}
const server = require('node:http').createServer((req, res) => res.end(JSON.stringify({ port: process.env.PORT, metrics: process.env.METRICS_PORT })));
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

test('freePorts gives distinct ports', async () => {
  const ports = await freePorts(8);
  expect(new Set(ports).size).toBe(8);
  for (const p of ports) expect(p).toBeGreaterThan(0);
});

test('a server whose port was taken is started again on other ports', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ports-'));
  try {
    const script = path.join(dir, 'server.js');
    fs.writeFileSync(script, SCRIPT);
    const marker = path.join(dir, 'first-port');
    const s = await startNode(script, { MARKER: marker }, { readyPath: '/ready', portEnv: ['METRICS_PORT'], timeoutMs: 30_000 });
    try {
      const first = Number(fs.readFileSync(marker, 'utf8'));
      expect(s.port).not.toBe(first);
      expect(s.ports.PORT).toBe(s.port);
      expect(s.ports.METRICS_PORT).not.toBe(s.port);
      expect(await (await fetch(`http://127.0.0.1:${s.port}/ready`)).json()).toEqual({
        port: String(s.port),
        metrics: String(s.ports.METRICS_PORT),
      });
    } finally {
      expect(await s.stop(5_000)).toBe(0);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('any other failure to start is not retried', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ports-'));
  try {
    const script = path.join(dir, 'fails.js');
    fs.writeFileSync(
      script,
      `const fs = require('node:fs'); fs.appendFileSync(${JSON.stringify(path.join(dir, 'runs'))}, 'x'); process.exit(3);`,
    );
    await expect(startNode(script, {}, { readyPath: '/ready', timeoutMs: 30_000 })).rejects.toThrow(/server exited with 3/);
    expect(fs.readFileSync(path.join(dir, 'runs'), 'utf8')).toBe('x');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
