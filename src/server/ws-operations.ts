/**
 * One graphql-ws subscribe message up to execution, through the same guard as HTTP: its document
 * (sent in full or by persisted-query hash), preflight, parsing, validation with the guard's rules,
 * the guard's check (authorization by type, cost, the bucket) and variable coercion.
 */
import crypto from 'node:crypto';
import {
  GraphQLError,
  getOperationAST,
  getVariableValues,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type ExecutionArgs,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import type { WebSocket } from 'ws';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { App } from '../app';
import type { Config } from '../config';
import { buildContext, type Context } from '../graphql/context';
import { preflight } from '../graphql/documents';
import type { Checked, OperationGuard, OperationRequest } from './security';
import type { SharedSubscriptions } from '../graphql/shared-subscriptions';
import type { AuthInfo } from '../graphql/scopes';
import type { SpanHandle } from '../observability/tracing';
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

export interface SubscribePayload {
  query?: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

/** What graphql-ws keeps per connection: the key, and how to forget the socket. */
export type WsExtra = { auth?: AuthInfo; forget?: () => void };

/** What the guard decided for a running operation, and its timing and span. */
export interface CheckedOperation {
  req: OperationRequest;
  info: Checked;
  startedAt?: number;
  span?: SpanHandle | null;
}

/** What `prepare` got to, for the message's metrics and log line even when it is refused. */
export interface Seen {
  op?: OperationDefinitionNode;
  ctx?: Context;
}

interface Document {
  query: string;
  hash: string;
  /** Sent with a persistedQuery hash: kept for later hash-only requests. */
  register: boolean;
}

export const clientError = (message: string, code: string) => new GraphQLError(message, { extensions: { code } });

const sha256 = (q: string) => crypto.createHash('sha256').update(q).digest('hex');

export class WsOperations {
  private readonly rules: readonly ValidationRule[];
  /** What the guard decided for each running operation, by its context. */
  readonly checked = new WeakMap<Context, CheckedOperation>();

  constructor(private readonly deps: WsDeps) {
    this.rules = [...specifiedRules, ...deps.guard.validationRules];
  }

  /**
   * The document of a subscribe message and its sha256 (as Apollo computes it over HTTP, so the
   * trusted-documents rule sees the same hash on both transports).
   */
  async documentOf(payload: SubscribePayload): Promise<Document | GraphQLError> {
    const pq = payload.extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | undefined;
    if (!pq) {
      if (typeof payload.query === 'string' && payload.query) return { query: payload.query, hash: sha256(payload.query), register: false };
      return clientError('Send a "query", or a persistedQuery extension', 'BAD_REQUEST');
    }
    if (pq.version !== 1) return clientError('Unsupported persisted query version', 'PERSISTED_QUERY_NOT_SUPPORTED');
    const hash = typeof pq.sha256Hash === 'string' ? pq.sha256Hash : '';
    // graphql-ws requires a string query: a document sent by hash alone comes with query "".
    if (typeof payload.query === 'string' && payload.query !== '') {
      if (sha256(payload.query) !== hash) return clientError('provided sha does not match query', 'BAD_REQUEST');
      return { query: payload.query, hash, register: true };
    }
    const query = this.deps.trusted.get(hash) ?? (await this.deps.persisted.get(`apq:${hash}`));
    return query ? { query, hash, register: false } : clientError('PersistedQueryNotFound', 'PERSISTED_QUERY_NOT_FOUND');
  }

  /** Preflight, parse, validate and pick the operation. */
  private parsed(
    doc: Document,
    payload: SubscribePayload,
    variables: Record<string, unknown>,
  ): { document: DocumentNode; operation: OperationDefinitionNode } | readonly GraphQLError[] {
    const pre = preflight(doc.query, variables, this.deps.config);
    if (pre) return [pre];
    let document: DocumentNode;
    try {
      document = parse(doc.query);
    } catch (e) {
      return [
        e instanceof GraphQLError
          ? clientError(e.message, 'GRAPHQL_PARSE_FAILED')
          : clientError('The document could not be parsed', 'GRAPHQL_PARSE_FAILED'),
      ];
    }
    const errors = validate(this.deps.schema, document, this.rules);
    if (errors.length)
      return errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
    const operation = getOperationAST(document, payload.operationName ?? undefined);
    if (!operation) return [clientError('Unable to identify the operation: give operationName', 'OPERATION_RESOLUTION_FAILURE')];
    return { document, operation };
  }

  /** The operation's context: the key's, plus its socket and subscription id (shared delivery, flow control). */
  private contextOf(app: App, extra: WsExtra, socket: WebSocket, id: string): Context {
    return Object.assign(buildContext(app, extra.auth ?? null, crypto.randomUUID()), {
      subscriber: { socket, id },
    });
  }

  /** A subscribe message up to execution: the document, preflight, validation and the guard's check. */
  async prepare(
    ctx: { extra: WsExtra & { socket: unknown } },
    id: string,
    raw: unknown,
    seen: Seen,
  ): Promise<ExecutionArgs | readonly GraphQLError[]> {
    const { schema, guard } = this.deps;
    const payload = raw as SubscribePayload;
    const app = this.deps.app();
    if (!app) return [clientError('The service is stopping', 'UNAVAILABLE')];
    const doc = await this.documentOf(payload);
    if (doc instanceof GraphQLError) return [doc];
    const variables = (payload.variables ?? {}) as Record<string, unknown>;
    const parsed = this.parsed(doc, payload, variables);
    if (Array.isArray(parsed)) return parsed;
    const { document, operation } = parsed as { document: DocumentNode; operation: OperationDefinitionNode };
    seen.op = operation;
    const contextValue = (seen.ctx = this.contextOf(app, ctx.extra, ctx.extra.socket as WebSocket, id));
    const req: OperationRequest = { schema, document, operation, variables, queryHash: doc.hash, transport: 'ws' };
    let info: Checked;
    try {
      info = await guard.check(req, contextValue);
      this.checked.set(contextValue, { req, info });
    } catch (e) {
      return [e instanceof GraphQLError ? e : new GraphQLError('Internal server error', { originalError: e as Error })];
    }
    // Then, as Apollo does over HTTP: variables that do not fit their types are the client's mistake.
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 50 });
    if (coerced.errors) {
      // Nothing ran: the charge goes back, as Apollo's willSendResponse does over HTTP.
      await guard.settle(req, info, contextValue, null);
      return coerced.errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'BAD_USER_INPUT' } }));
    }
    if (doc.register && !this.deps.trusted.has(doc.hash) && ctx.extra.auth) await this.deps.persisted.set(`apq:${doc.hash}`, doc.query);
    return { schema, document, operationName: payload.operationName, variableValues: variables, contextValue };
  }
}
