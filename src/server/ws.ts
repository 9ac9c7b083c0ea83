/**
 * graphql-ws on the HTTP server's /graphql path. Every message goes through the same guard as
 * HTTP (src/server/security.ts): the key is checked at connection_init (4401 without one, 4403
 * when invalid or revoked), each subscribe message is preflighted, parsed, validated with the
 * guard's rules and checked (authorization by type, cost, the bucket) before it runs
 * (ws-operations.ts), and every error is formatted by the guard's formatError.
 */
import type { IncomingMessage } from 'node:http';
import { execute, type ExecutionArgs, type ExecutionResult, type FormattedExecutionResult, type GraphQLError } from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Context as GraphQLContext } from '../graphql/context';
import { startSpan, tracingOn } from '../observability/tracing';
import { bearer } from './body';
import { WsOperations, type Seen, type WsDeps, type WsExtra } from './ws-operations';

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
  if (typeof header === 'string') return bearer(header) ?? '';
  if (typeof p.apiKey === 'string') return p.apiKey;
  return undefined;
}

const isErrors = (r: ExecutionArgs | readonly GraphQLError[]): r is readonly GraphQLError[] => Array.isArray(r);

type WsContext = Context<Record<string, unknown> | undefined, WsExtra & { socket: WebSocket; request: IncomingMessage }>;

/** connection_init: the key (4401 without one, 4403 when unknown or revoked), registered by key for revocation. */
async function onConnect(deps: WsDeps, ctx: WsContext): Promise<boolean> {
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
  ctx.extra.forget = deps.sockets.add(auth.keyId, ctx.extra.socket);
  return true;
}

/** A subscribe message: metrics, the log line and the message's span (guard.observe), around `prepare`. */
async function onSubscribe(
  deps: WsDeps,
  ops: WsOperations,
  ctx: WsContext,
  id: string,
  raw: unknown,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  const startedAt = performance.now();
  const seen: Seen = {};
  const upgrade = ctx.extra.request.headers.traceparent;
  const span = startSpan('graphql-ws message', 'server', { 'rpc.system': 'graphql-ws' }, typeof upgrade === 'string' ? upgrade : null);
  const r = span ? await span.run(() => ops.prepare(ctx, id, raw, seen)) : await ops.prepare(ctx, id, raw, seen);
  if (isErrors(r)) {
    deps.guard.observe('ws', seen.op, startedAt, 'refused', null, seen.ctx ?? { auth: ctx.extra.auth ?? null });
    span?.end(true);
    return r;
  }
  const c = ops.checked.get(r.contextValue as GraphQLContext);
  if (c) Object.assign(c, { startedAt, span });
  if (seen.op?.operation === 'subscription') {
    deps.guard.observe('ws', seen.op, startedAt, 'ok', null, seen.ctx);
    span?.end();
  }
  return r;
}

/** A result: errors formatted by the guard; a query or mutation is settled (actual cost) and observed. */
async function onNext(deps: WsDeps, ops: WsOperations, args: ExecutionArgs, result: ExecutionResult): Promise<FormattedExecutionResult> {
  const { guard } = deps;
  const out: FormattedExecutionResult = { ...result, errors: result.errors?.map((e) => guard.formatError(e.toJSON(), e)) };
  if (!out.errors) delete out.errors;
  const context = args.contextValue as GraphQLContext;
  const c = ops.checked.get(context);
  if (c && c.req.operation.operation !== 'subscription') {
    const cost = await guard.settle(c.req, c.info, context, result.data);
    out.extensions = { ...result.extensions, cost };
    guard.observe(
      'ws',
      c.req.operation,
      c.startedAt ?? performance.now(),
      result.errors?.length ? 'error' : 'ok',
      cost.actualQueryCost,
      context,
    );
    c.span?.end(!!result.errors?.length);
  }
  return out;
}

export function serveGraphqlWs(wsServer: WebSocketServer, deps: WsDeps): { dispose(): void | Promise<void> } {
  const { guard } = deps;
  const ops = new WsOperations(deps);
  const traced = (args: ExecutionArgs) =>
    ops.checked.get(args.contextValue as GraphQLContext)?.span?.run(() => execute(args)) ?? execute(args);
  return useServer<Record<string, unknown> | undefined, WsExtra>(
    {
      schema: deps.schema,
      onConnect: (ctx) => onConnect(deps, ctx as WsContext),
      onClose: (ctx) => ctx.extra.forget?.(),
      onSubscribe: (ctx, id, raw) => onSubscribe(deps, ops, ctx as WsContext, id, raw),
      execute: tracingOn() ? traced : undefined,
      onNext: (_ctx, _id, _payload, args, result) => onNext(deps, ops, args, result),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => guard.formatError(e.toJSON(), e)),
      subscribe: deps.subscriptions.subscribe,
    },
    wsServer,
    WS_KEEP_ALIVE_MS,
  );
}
