/**
 * POST and GET /graphql: the body (size limit, JSON), the guard's preflight of every operation,
 * then Apollo; outside production inside a statement scope, so that `x-sql-statements` counts the
 * operation's SQL.
 *
 * Production runs no scope: the scope is an AsyncLocalStorage, and once one is entered Node (20)
 * keeps async hooks on for the whole process, which then pay for every promise created (measured:
 * 6–12 % of the throughput of `inventoryAdjust` at 16 clients; bench/RESULTS.md, session 20).
 */
import type http from 'node:http';
import { HeaderMap, type ApolloServer, type HTTPGraphQLRequest, type HTTPGraphQLResponse } from '@apollo/server';
import type { GatewayApp } from './gateway-app';
import type { Config } from '../config';
import { statementScope } from '../db/client';
import { buildContext, type Context, type Observed } from '../graphql/context';
import { preflight } from '../graphql/documents';
import { unauthenticated } from '../graphql/errors';
import type { OperationGuard } from './security';
import { sendError } from '../http/json';
import type { AuthInfo } from '../graphql/scopes';
import { bearer, BodyTooLarge, MAX_BODY_BYTES, parseJson, readBody } from './body';

/** Runs `f` in the statement scope `scope`, or as it is without one (production). */
function inScope<T>(scope: { statements: number } | null, f: () => T): T {
  return scope ? statementScope.run(scope, f) : f();
}

export interface GraphqlHttpDeps {
  apollo: ApolloServer<Context>;
  config: Config;
  guard: OperationGuard;
}

/** One HTTP request, as its log line reports it. */
export interface RequestRecord {
  requestId: string;
  started: number;
  /** The operations the guard observed. */
  observed: Observed[];
  /** The caller's key, once authenticated. */
  auth: AuthInfo | null;
}

type Operation = { query?: unknown; variables?: unknown };

interface ParsedRequest {
  headers: HeaderMap;
  body: unknown;
  ops: Operation[];
}

/** The request's headers, body and operations, or null once an error was answered (413, bad JSON). */
async function parseRequest(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<ParsedRequest | null> {
  let body: string;
  try {
    body = req.method === 'POST' ? await readBody(req) : '';
  } catch (e) {
    if (!(e instanceof BodyTooLarge)) throw e;
    sendError(res, 413, `Request body exceeds ${MAX_BODY_BYTES} bytes`, 'BAD_REQUEST', { connection: 'close' });
    return null;
  }
  const headers = new HeaderMap();
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  const ctype = headers.get('content-type') ?? '';
  let parsed: unknown = body;
  if (req.method === 'POST' && /application\/(graphql-response\+)?json/i.test(ctype)) {
    try {
      parsed = body ? JSON.parse(body) : undefined;
    } catch {
      sendError(res, 400, 'The request body is not valid JSON', 'BAD_REQUEST');
      return null;
    }
  }
  const ops: Operation[] =
    req.method === 'POST'
      ? (Array.isArray(parsed) ? parsed : [parsed]).map((b) => (b && typeof b === 'object' ? (b as Operation) : {}))
      : [{ query: url.searchParams.get('query'), variables: parseJson(url.searchParams.get('variables')) }];
  return { headers, body: parsed, ops };
}

/** The caller's key: null without an Authorization header; an unknown or revoked key is refused. */
async function authFrom(app: GatewayApp, header: string | undefined): Promise<AuthInfo | null> {
  const token = bearer(header);
  if (token === undefined) return null;
  const auth = await app.authenticator.authenticate(token);
  if (!auth) throw unauthenticated('The API key is invalid or revoked');
  return auth;
}

async function writeResponse(res: http.ServerResponse, response: HTTPGraphQLResponse): Promise<void> {
  for (const [k, v] of response.headers) res.setHeader(k, v);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
  } else {
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }
}

/** Answers a /graphql request (the app is ready). */
export async function serveGraphql(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  app: GatewayApp,
  deps: GraphqlHttpDeps,
  rec: RequestRecord,
): Promise<void> {
  const { apollo, config, guard } = deps;
  const parsed = await parseRequest(req, res, url);
  if (!parsed) return;
  for (const op of parsed.ops) {
    const refused = preflight(op.query, op.variables, config);
    if (refused) {
      guard.refusedEarly('http', refused.extensions.code as string, rec.started);
      return sendError(res, 400, refused.message, refused.extensions.code as string);
    }
  }
  const httpGraphQLRequest: HTTPGraphQLRequest = {
    method: (req.method ?? 'GET').toUpperCase(),
    headers: parsed.headers,
    search: url.search,
    body: parsed.body,
  };
  const scope = config.nodeEnv === 'production' ? null : { statements: 0 };
  const response = await inScope(scope, () =>
    apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      // The key lookup is not the operation's: x-sql-statements counts the operation's statements only.
      context: async () => {
        try {
          rec.auth = await statementScope.exit(() => authFrom(app, req.headers.authorization));
        } catch (e) {
          // An unknown or revoked key: Apollo answers 401 before any plugin hook runs.
          rec.observed.push(guard.observe('http', null, rec.started, 'refused', null));
          throw e;
        }
        return Object.assign(buildContext(app, rec.auth, rec.requestId), { observed: rec.observed });
      },
    }),
  );
  if (scope) res.setHeader('x-sql-statements', String(scope.statements));
  await writeResponse(res, response);
}
