/**
 * The Prometheus endpoint: GET /metrics on its own server (METRICS_PORT, METRICS_HOST), apart
 * from the API port, so that it can be firewalled separately and never shares the API's
 * middleware, CORS or limits. It serves metrics only: no GraphQL, no store data.
 */
import http from 'node:http';
import type { Logger } from '../log';
import { collectProcessMetrics, register } from './metrics';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(port: number, host: string, log: Logger): Promise<MetricsServer> {
  collectProcessMetrics();
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      return res.end('Not found: metrics are served at GET /metrics\n');
    }
    register.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': register.contentType });
        res.end(text);
      },
      (e: Error) => {
        log.warn('metrics collection failed', { err: e.message });
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('metrics collection failed\n');
      },
    );
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  log.info('metrics listening', { url: `http://${host === '0.0.0.0' ? 'localhost' : host}:${bound}/metrics` });
  return {
    port: bound,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
