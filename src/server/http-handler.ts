/**
 * The HTTP request handler: request id, the request's log line, CORS, then the routes (/healthz,
 * /readyz, the static board, /graphql). Unexpected failures answer 500 without details.
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import type { Config } from '../config';
import { keyPrefixOf } from './security';
import { sendError, sendJson } from '../http/json';
import { serveStatic } from '../http/static';
import type { Logger } from '../log';
import { applyCors } from './cors';
import { serveGraphql, type GraphqlHttpDeps, type RequestRecord } from './graphql-http';
import { readyz, type Readiness } from './readiness';

export interface HandlerDeps extends GraphqlHttpDeps {
  config: Config;
  log: Logger;
  state: Readiness;
}

const REQUEST_ID = /^[\w-]{1,64}$/;

/** One info line per request (probes excepted): what ran, for which key prefix, how it ended. */
function logWhenFinished(req: http.IncomingMessage, res: http.ServerResponse, url: URL, rec: RequestRecord, log: Logger): void {
  res.on('finish', () => {
    if (url.pathname === '/healthz' || url.pathname === '/readyz' || !log.enabled('info')) return;
    const { observed } = rec;
    const cost = observed.reduce((n, o) => n + (o.cost ?? 0), 0);
    log.info('request', {
      requestId: rec.requestId,
      method: req.method,
      path: url.pathname,
      ...(observed.length ? { operation: observed.map((o) => o.operation).join(','), type: observed.map((o) => o.type).join(',') } : {}),
      keyPrefix: keyPrefixOf(rec.auth),
      status: res.statusCode,
      ms: Math.round((performance.now() - rec.started) * 10) / 10,
      ...(observed.length ? { cost } : {}),
    });
  });
}

async function route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, deps: HandlerDeps, rec: RequestRecord): Promise<void> {
  if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (url.pathname === '/readyz') return readyz(res, deps.state, deps.log);
  if (await serveStatic(req, res, url, deps.config)) return;
  if (url.pathname !== '/graphql') return sendError(res, 404, 'Not found. GraphQL is served at /graphql', 'NOT_FOUND');
  const app = deps.state.app;
  if (!app)
    return sendError(
      res,
      503,
      'The service is starting; retry shortly',
      'UNAVAILABLE',
      { 'retry-after': '1' },
      { retryable: true, retryAfterMs: 1000 },
    );
  return serveGraphql(req, res, url, app, deps, rec);
}

export function createRequestHandler(deps: HandlerDeps): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> {
  const { config, log } = deps;
  return async (req, res) => {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    res.setHeader('x-request-id', requestId);
    const rec: RequestRecord = { requestId, started: performance.now(), observed: [], auth: null };
    const url = new URL(req.url ?? '/', 'http://localhost');
    logWhenFinished(req, res, url, rec, log);
    if (applyCors(config.corsOrigins, req, res) && req.method === 'OPTIONS') {
      res.statusCode = 204;
      res.end();
      return;
    }
    try {
      await route(req, res, url, deps, rec);
    } catch (e) {
      log.error('request failed', { requestId, err: e as Error });
      if (!res.headersSent) sendError(res, 500, 'Internal server error', 'INTERNAL_SERVER_ERROR');
      else res.end();
    }
  };
}
