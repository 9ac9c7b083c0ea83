/**
 * graphql-ws on the HTTP server's /graphql path. Every message goes through the same guard as
 * HTTP (src/graphql/security.ts): the key is checked at connection_init (4401 without one, 4403
 * when invalid or revoked), each subscribe message is preflighted, parsed, validated with the
 * guard's rules and checked (authorization by type, cost, the bucket) before it runs, and every
 * error is formatted by the guard's formatError.
 */
import crypto from 'node:crypto';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import {
  GraphQLError,
  execute,
  getOperationAST,
  getVariableValues,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { FormattedExecutionResult } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { App } from '../app';
import type { Config } from '../config';
import { buildContext, type Context } from '../graphql/context';
import { preflight } from '../graphql/documents';
import { type Checked, type OperationGuard, type OperationRequest } from '../graphql/security';
import type { SharedSubscriptions } from '../graphql/shared-subscriptions';
import type { AuthInfo } from '../modules/auth/scopes';
import { startSpan, tracingOn, type SpanHandle } from '../observability/tracing';
import type { KeySockets } from './key-sockets';

export interface WsDeps {
  schema: GraphQLSchema;
  config: Config;
  guard: OperationGuard;
  trusted: Map<string, string>;
  /** Automatic persisted queries, shared with HTTP. */
  persisted: KeyValueCache<string>;
  app(): App | null;
  /** null: the key is unknown or revoked. */
  authenticate(token: string): Promise<AuthInfo | null>;
  subscriptions: SharedSubscriptions;
  sockets: KeySockets;
}

interface SubscribePayload {
  query?: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

type WsExtra = { auth?: AuthInfo; forget?: () => void };

/**
 * graphql-ws pings every this often and terminates a socket whose pong has not come back after as
 * long again. A pong queues behind every frame sent before the ping, so a client that reads slowly
 * answers late: 30 s (graphql-ws's default is 12 s) leaves the slow-consumer limit (close 4290,
 * with the reason) to act first, and still ends dead peers within a minute.
 */
export const WS_KEEP_ALIVE_MS = 30_000;

/** The close codes of connection_init refusals. */
export const WS_UNAUTHORIZED = 4401;
export const WS_FORBIDDEN = 4403;

function tokenOf(params: Record<string, unknown> | undefined): string | undefined {
  const p = params ?? {};
  const header = p.Authorization ?? p.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1] : '';
  }
  if (typeof p.apiKey === 'string') return p.apiKey;
  return undefined;
}

const isErrors = (r: ExecutionArgs | readonly GraphQLError[]): r is readonly GraphQLError[] => Array.isArray(r);

const clientError = (message: string, code: string) => new GraphQLError(message, { extensions: { code } });

export function serveGraphqlWs(wsServer: WebSocketServer, deps: WsDeps): { dispose(): void | Promise<void> } {
  const { schema, guard } = deps;
  const rules = [...specifiedRules, ...guard.validationRules];
  /** What the guard decided for each running operation, by its context. */
  const checked = new WeakMap<Context, { req: OperationRequest; info: Checked; startedAt?: number; span?: SpanHandle | null }>();

  /**
   * The document of a subscribe message and its sha256 (as Apollo computes it over HTTP, so the
   * trusted-documents rule sees the same hash on both transports). `register`: the client sent the
   * document with a persistedQuery hash, to be kept for later hash-only requests.
   */
  async function documentOf(payload: SubscribePayload): Promise<{ query: string; hash: string; register: boolean } | GraphQLError> {
    const sha = (q: string) => crypto.createHash('sha256').update(q).digest('hex');
    const pq = payload.extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | undefined;
    if (!pq) return typeof payload.query === 'string' && payload.query ? { query: payload.query, hash: sha(payload.query), register: false } : clientError('Send a "query", or a persistedQuery extension', 'BAD_REQUEST');
    if (pq.version !== 1) return clientError('Unsupported persisted query version', 'PERSISTED_QUERY_NOT_SUPPORTED');
    const hash = typeof pq.sha256Hash === 'string' ? pq.sha256Hash : '';
    // graphql-ws requires a string query: a document sent by hash alone comes with query "".
    if (typeof payload.query === 'string' && payload.query !== '') {
      if (sha(payload.query) !== hash) return clientError('provided sha does not match query', 'BAD_REQUEST');
      return { query: payload.query, hash, register: true };
    }
    const query = deps.trusted.get(hash) ?? (await deps.persisted.get(`apq:${hash}`));
    return query ? { query, hash, register: false } : clientError('PersistedQueryNotFound', 'PERSISTED_QUERY_NOT_FOUND');
  }


  const server = useServer<Record<string, unknown> | undefined, WsExtra>(
    {
      schema,
      onConnect: async (ctx) => {
        const token = tokenOf(ctx.connectionParams);
        if (token === undefined) {
          ctx.extra.socket.close(WS_UNAUTHORIZED, 'Unauthorized: send { "Authorization": "Bearer <key>" } in connection_init');
          return false;
        }
        if (!deps.app()) {
          ctx.extra.socket.close(1013, 'The service is starting; retry shortly');
          return false;
        }
        const auth = await deps.authenticate(token).catch(() => null);
        if (!auth) return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.auth = auth;
        ctx.extra.forget = deps.sockets.add(auth.keyId, ctx.extra.socket as WebSocket);
        return true;
      },
      onClose: (ctx) => ctx.extra.forget?.(),
      onSubscribe: async (ctx, id, raw) => {
        // Metrics, the log line and the message's span of every subscribe message (guard.observe).
        const startedAt = performance.now();
        const seen: { op?: OperationDefinitionNode; ctx?: Context } = {};
        const upgrade = ctx.extra.request.headers.traceparent;
        const span = startSpan('graphql-ws message', 'server', { 'rpc.system': 'graphql-ws' }, typeof upgrade === 'string' ? upgrade : null);
        const r = span ? await span.run(() => prepare(ctx, id, raw, seen)) : await prepare(ctx, id, raw, seen);
        if (isErrors(r)) {
          guard.observe('ws', seen.op, startedAt, 'refused', null, seen.ctx ?? { auth: ctx.extra.auth ?? null });
          span?.end(true);
          return r;
        }
        const c = checked.get(r.contextValue as Context);
        if (c) Object.assign(c, { startedAt, span });
        if (seen.op?.operation === 'subscription') {
          guard.observe('ws', seen.op, startedAt, 'ok', null, seen.ctx);
          span?.end();
        }
        return r;
      },
      execute: tracingOn() ? (args) => checked.get(args.contextValue as Context)?.span?.run(() => execute(args)) ?? execute(args) : undefined,
      onNext: async (_ctx, _id, _payload, args, result) => {
        const out: FormattedExecutionResult = { ...result, errors: result.errors?.map((e) => guard.formatError(e.toJSON(), e)) };
        if (!out.errors) delete out.errors;
        const c = checked.get(args.contextValue as Context);
        if (c && c.req.operation.operation !== 'subscription') {
          const cost = await guard.settle(c.req, c.info, args.contextValue as Context, result.data);
          out.extensions = { ...result.extensions, cost };
          guard.observe('ws', c.req.operation, c.startedAt ?? performance.now(), result.errors?.length ? 'error' : 'ok', cost.actualQueryCost, args.contextValue as Context);
          c.span?.end(!!result.errors?.length);
        }
        return out;
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => guard.formatError(e.toJSON(), e)),
      subscribe: deps.subscriptions.subscribe,
    },
    wsServer,
    WS_KEEP_ALIVE_MS,
  );
  return server;

  /** A subscribe message up to execution: the document, preflight, validation and the guard's check. */
  async function prepare(
    ctx: { extra: WsExtra & { socket: unknown } },
    id: string,
    raw: unknown,
    seen: { op?: OperationDefinitionNode; ctx?: Context },
  ): Promise<ExecutionArgs | readonly GraphQLError[]> {
    const payload = raw as SubscribePayload;
    const app = deps.app();
    if (!app) return [clientError('The service is stopping', 'UNAVAILABLE')];
    const doc = await documentOf(payload);
    if (doc instanceof GraphQLError) return [doc];
    const variables = (payload.variables ?? {}) as Record<string, unknown>;
    const pre = preflight(doc.query, variables, deps.config);
    if (pre) return [pre];
    let document: DocumentNode;
    try {
      document = parse(doc.query);
    } catch (e) {
      return [e instanceof GraphQLError ? clientError(e.message, 'GRAPHQL_PARSE_FAILED') : clientError('The document could not be parsed', 'GRAPHQL_PARSE_FAILED')];
    }
    const errors = validate(schema, document, rules);
    if (errors.length) return errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
    const operation = getOperationAST(document, payload.operationName ?? undefined);
    if (!operation) return [clientError('Unable to identify the operation: give operationName', 'OPERATION_RESOLUTION_FAILURE')];
    seen.op = operation;
    const socket = ctx.extra.socket as WebSocket;
    const contextValue: Context = Object.assign(buildContext(app, ctx.extra.auth ?? null, crypto.randomUUID()), {
      closeSocket: (code: number, reason: string) => socket.close(code, reason),
      subscriber: { socket, id },
    });
    seen.ctx = contextValue;
    const req: OperationRequest = { schema, document, operation, variables, queryHash: doc.hash, transport: 'ws' };
    try {
      checked.set(contextValue, { req, info: await guard.check(req, contextValue) });
    } catch (e) {
      return [e instanceof GraphQLError ? e : new GraphQLError('Internal server error', { originalError: e as Error })];
    }
    // Then, as Apollo does over HTTP: variables that do not fit their types are the client's mistake.
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 50 });
    if (coerced.errors) {
      // Nothing ran: the charge goes back, as Apollo's willSendResponse does over HTTP.
      const c = checked.get(contextValue);
      if (c) await guard.settle(req, c.info, contextValue, null);
      return coerced.errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'BAD_USER_INPUT' } }));
    }
    if (doc.register && !deps.trusted.has(doc.hash) && ctx.extra.auth) await deps.persisted.set(`apq:${doc.hash}`, doc.query);
    const args: ExecutionArgs = { schema, document, operationName: payload.operationName, variableValues: variables, contextValue };
    return args;
  }
}
