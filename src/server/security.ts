/**
 * The one enforcement point. Every operation, whatever carried it (HTTP POST or GET, a graphql-ws
 * message, a persisted or trusted document), passes the same steps, defined once here:
 *
 *  1. `preflight` (documents.ts): NUL in variables, nesting depth, token count — before parsing;
 *  2. `validationRules`: graphql-js's rules plus depth, aliases and directives (graphql-armor), NUL
 *     in string literals, and no introspection when it is off;
 *  3. `check`: subscriptions only over graphql-ws; publishable keys read-only (and trusted
 *     documents only, if configured); field authorization by type on every path (access.ts), with
 *     the public sort and filter rule; the query cost limit; the usage quota and the leaky bucket
 *     per key;
 *  4. `settle`: the unused cost is refunded and `extensions.cost` reported;
 *  5. `formatError`: public codes pass, transient database failures become UNAVAILABLE, anything
 *     else is masked; suggestions are stripped when introspection is off (and every code sent is
 *     counted: inventory_graphql_errors_total);
 *  6. `observe`: once per operation, the operation metrics (name, type, transport, outcome,
 *     latency) and, over graphql-ws, the operation's log line (docs/OPERATIONS.md).
 *
 * `apolloPlugin()` runs 3, 4 and 6 inside Apollo's pipeline; the graphql-ws server (server/ws.ts)
 * calls the same functions from `onSubscribe` / `onNext` / `onError`. Neither keeps a copy of a rule.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import type { Config } from '../config';
import { poolTx } from '../db/tx';
import type { Logger } from '../log';
import { m as metrics, OperationNames, type Outcome, type Transport } from '../observability/metrics';
import { chargeQuota, refundQuota, type QuotaStatus } from '../modules/auth/quota';
import { sharedBuckets, type BucketConfig, type ThrottleStatus } from '../modules/auth/rate-limit';
import { BucketLeases } from '../modules/auth/bucket-leases';
import type { AuthInfo } from '../graphql/scopes';
import { checkFieldAccess } from '../graphql/access';
import type { Context, Observed } from '../graphql/context';
import { actualCost, requestedCost } from '../graphql/cost';
import { isTransientDbError, PUBLIC_CODES, UnavailableError, unauthenticated } from '../graphql/errors';

export interface CostInfo {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: ThrottleStatus | null;
  /** Keys with a usage quota only. */
  quota?: QuotaStatus;
}

/** One operation as the guard sees it, from any transport. */
export interface OperationRequest {
  schema: GraphQLSchema;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  variables: Record<string, unknown>;
  /** sha256 of the document, when the transport knows it (trusted documents). */
  queryHash?: string;
  transport: 'http' | 'ws';
}

export interface Checked extends CostInfo {
  fragments: Record<string, FragmentDefinitionNode>;
  /** The quota period charged (for the refund). */
  quotaPeriodStart?: Date;
}

function quotaExceeded(requested: number, q: QuotaStatus): GraphQLError {
  const retryAfterS = Math.max(1, Math.ceil((Date.parse(q.resetsAt) - Date.now()) / 1000));
  return new GraphQLError(
    `Quota exceeded: this query costs ${requested} points and ${q.remaining} of the key's ${q.limit} points per ${q.period.toLowerCase()} are left; the quota resets at ${q.resetsAt}`,
    {
      extensions: { code: 'QUOTA_EXCEEDED', quota: q, http: { status: 402, headers: new Map([['retry-after', String(retryAfterS)]]) } },
    },
  );
}

const forbidden = (message: string) => new GraphQLError(message, { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });

/** Client mistakes that graphql-js or Apollo report without a code of ours. */
const CLIENT_MISTAKES: [RegExp, string][] = [
  [/^Unsupported persisted query version/, 'PERSISTED_QUERY_NOT_SUPPORTED'],
  [/^provided sha does not match query/, 'BAD_REQUEST'],
];

/** The public prefix of a key (as `key:list` shows it), never the key. */
export const keyPrefixOf = (auth: AuthInfo | null): string | undefined => (auth ? auth.actor.replace(/^key:/, '') : undefined);

/** Repeated "unexpected error" lines: at most this many per second, then one line with the count. */
const ERROR_LOG_PER_SECOND = 10;

export class OperationGuard {
  readonly validationRules: ValidationRule[];
  private readonly bucket: BucketConfig;
  private charges: BucketLeases | undefined;
  /** Field-access verdicts per document and key profile (documents are cached by the transports). */
  private readonly verdicts = new WeakMap<DocumentNode, Map<string, true>>();
  private logWindow = { second: 0, count: 0, dropped: 0 };
  /** The `operation` label of the metrics. */
  readonly operationNames: OperationNames;

  constructor(
    private readonly config: Config,
    private readonly trusted: Map<string, string>,
    private readonly log: Logger,
  ) {
    this.bucket = { size: config.rateLimitBucketSize, restoreRate: config.rateLimitRestoreRate };
    this.operationNames = new OperationNames(trusted.values(), config.metricsOperationNamesMax);
    // PostgreSQL text cannot hold NUL: refuse it in string literals (variables: preflight).
    const noNul: ValidationRule = (ctx) => ({
      StringValue(node) {
        if (node.value.includes('\u0000'))
          ctx.reportError(new GraphQLError('Strings must not contain NUL (\\u0000) characters', { nodes: [node] }));
      },
    });
    // armor's rules throw by default (a 500 in Apollo); report their refusals as validation errors.
    const report = { propagateOnRejection: false, onReject: [(ctx: ValidationContext | null, err: GraphQLError) => ctx?.reportError(err)] };
    this.validationRules = [
      maxDepthRule({ n: config.maxDepth, ignoreIntrospection: true, ...report }),
      maxAliasesRule({ n: config.maxAliases, ...report }),
      maxDirectivesRule({ n: config.maxDirectives, ...report }),
      noNul,
      ...(config.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
    ];
  }

  /**
   * Step 3: authorization, cost and the bucket, before execution. Throws a GraphQLError with its
   * HTTP status; returns the cost to report.
   */
  async check(req: OperationRequest, ctx: Context): Promise<Checked> {
    const { schema, document, operation, variables } = req;
    const auth = ctx.auth;
    if (operation.operation === 'subscription' && req.transport !== 'ws') {
      throw new GraphQLError(
        'Subscriptions are served over graphql-ws (the graphql-transport-ws protocol) on this same path; see docs/EVENTS.md',
        {
          extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
        },
      );
    }
    if (auth?.kind === 'pk') {
      if (this.config.publishableTrustedOnly && !(req.queryHash && this.trusted.has(req.queryHash))) {
        throw forbidden('Publishable keys may only run trusted documents; register this operation (see docs/SECURITY.md)');
      }
      if (operation.operation === 'subscription')
        throw forbidden('Publishable keys cannot subscribe; use a secret key with the inventory:read scope');
      if (operation.operation !== 'query') throw forbidden('Publishable keys are read-only');
    }
    this.checkAccess(req, auth);

    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
    const requested = requestedCost(schema, operation, fragments, variables);
    if (requested > this.config.maxQueryCost) {
      metrics.overQuota.inc({ transport: req.transport, reason: 'max_cost' });
      throw new GraphQLError(
        `Query cost ${requested} exceeds the maximum of ${this.config.maxQueryCost}; ask for smaller pages (first/last)`,
        {
          extensions: {
            code: 'MAX_COST_EXCEEDED',
            cost: { requestedQueryCost: requested, maximumCost: this.config.maxQueryCost },
            http: { status: 400 },
          },
        },
      );
    }
    const info: Checked = { requestedQueryCost: requested, actualQueryCost: null, throttleStatus: null, fragments };
    if (auth?.quota) {
      const q = await chargeQuota(poolTx(ctx.app.db.pool), auth.keyId, auth.quota, requested);
      info.quota = q.status;
      info.quotaPeriodStart = q.periodStart;
      if (!q.granted) {
        metrics.overQuota.inc({ transport: req.transport, reason: 'quota' });
        throw quotaExceeded(requested, q.status);
      }
    }
    if (auth && this.bucket.size > 0) {
      this.charges ??= new BucketLeases(
        this.bucket,
        sharedBuckets(() => poolTx(ctx.app.db.pool), this.bucket),
      );
      const c = await this.charges.charge(auth.keyId, requested);
      info.throttleStatus = c.status;
      if (!c.granted) {
        // Not run: give the quota its points back.
        if (auth.quota && info.quotaPeriodStart)
          await refundQuota(poolTx(ctx.app.db.pool), auth.keyId, auth.quota, info.quotaPeriodStart, requested).catch(() => null);
        const retryAfterS = Math.max(1, Math.ceil(c.retryAfterMs / 1000));
        metrics.throttled.inc({ transport: req.transport });
        throw new GraphQLError(
          `Throttled: this query costs ${requested} points and ${c.status.currentlyAvailable} are available; retry in ${retryAfterS} s`,
          {
            extensions: {
              code: 'THROTTLED',
              retryAfterMs: c.retryAfterMs,
              cost: { requestedQueryCost: requested, actualQueryCost: null, throttleStatus: c.status },
              http: { status: 429, headers: new Map([['retry-after', String(retryAfterS)]]) },
            },
          },
        );
      }
    }
    return info;
  }

  private checkAccess(req: OperationRequest, auth: AuthInfo | null): void {
    // Publishable keys' sort and filter rule reads the variables: their verdicts are not cached.
    const cacheable = auth?.kind !== 'pk' || !req.operation.variableDefinitions?.length;
    const profile = `${req.operation.name?.value ?? ''}|${auth ? `${auth.kind}:${auth.scopes.join(',')}` : '-'}`;
    let seen = this.verdicts.get(req.document);
    if (cacheable && seen?.has(profile)) return;
    checkFieldAccess(req.schema, req.document, req.operation, auth, req.variables, () => unauthenticated());
    if (!cacheable) return;
    if (!seen) this.verdicts.set(req.document, (seen = new Map()));
    seen.set(profile, true);
  }

  /** Shutdown: this process's unused rate-limit leases go back to the shared buckets. */
  async close(): Promise<void> {
    await this.charges?.close().catch((e: Error) => this.log.warn('returning rate-limit leases failed', { err: e.message }));
  }

  /** Step 4: the actual cost of what was returned; the unused part goes back to the bucket. */
  async settle(req: OperationRequest, info: Checked, ctx: Context, data: unknown): Promise<CostInfo> {
    info.actualQueryCost = Math.min(
      actualCost(req.schema, req.operation, info.fragments, data as Record<string, unknown> | null | undefined),
      info.requestedQueryCost,
    );
    const unused = info.requestedQueryCost - info.actualQueryCost;
    // Best effort: the operation's result is already decided; a refund lost to a dropped
    // connection must not turn it into an error (the client would retry a done change).
    if (ctx.auth && info.throttleStatus && unused > 0 && this.charges) {
      info.throttleStatus = { ...info.throttleStatus, currentlyAvailable: this.charges.refund(ctx.auth.keyId, unused) };
    }
    if (ctx.auth?.quota && info.quotaPeriodStart && unused > 0) {
      try {
        info.quota =
          (await refundQuota(poolTx(ctx.app.db.pool), ctx.auth.keyId, ctx.auth.quota, info.quotaPeriodStart, unused)) ?? info.quota;
      } catch (e) {
        ctx.app.log.warn('quota refund failed', { err: (e as Error).message });
      }
    }
    return {
      requestedQueryCost: info.requestedQueryCost,
      actualQueryCost: info.actualQueryCost,
      throttleStatus: info.throttleStatus,
      ...(info.quota ? { quota: info.quota } : {}),
    };
  }

  /**
   * Step 5, for every error any transport sends: public codes pass (without `http` or stacks),
   * transient database failures become UNAVAILABLE, client mistakes get their code, the rest is
   * "Internal server error" and logged (at a bounded rate).
   */
  readonly formatError = (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const out = this.mask(formatted, error);
    metrics.graphqlErrors.inc({ code: String(out.extensions?.code ?? 'INTERNAL_SERVER_ERROR') });
    return out;
  };

  private mask(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
    let code = formatted.extensions?.code as string | undefined;
    let message = formatted.message;
    const original = (error as { originalError?: unknown })?.originalError ?? error;
    if (original instanceof RangeError && /call stack/i.test(original.message)) {
      return { message: 'The document or its variables nest too deeply', extensions: { code: 'BAD_USER_INPUT' } };
    }
    if (!code || code === 'INTERNAL_SERVER_ERROR') {
      const mistake = CLIENT_MISTAKES.find(([re]) => re.test(message));
      if (mistake) code = mistake[1];
    }
    if (code && PUBLIC_CODES.has(code)) {
      const { stacktrace: _s, http: _h, ...ext } = formatted.extensions ?? {};
      if (!this.config.introspection) message = message.replace(/ ?Did you mean [^?]*\?/g, '');
      return { ...formatted, message, extensions: { ...ext, code } };
    }
    if (isTransientDbError(original)) {
      const retryAfterMs = original instanceof UnavailableError ? original.retryAfterMs : 1000;
      return {
        message: 'The service is temporarily unavailable; retry the request',
        path: formatted.path,
        extensions: { code: 'UNAVAILABLE', retryable: true, retryAfterMs },
      };
    }
    this.logUnexpected(original, formatted.path);
    return { message: 'Internal server error', path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  }

  /** An operation refused by the preflight, before it was parsed (its error skips formatError). */
  refusedEarly(transport: Transport, code: string, startedAt: number): void {
    metrics.graphqlErrors.inc({ code });
    this.observe(transport, null, startedAt, 'refused', null);
  }

  /**
   * Step 6, once per operation on every transport: the operation metrics (count by name, type,
   * transport and outcome; latency), and over graphql-ws the operation's log line (over HTTP the
   * server writes one line per request, with these fields).
   */
  observe(
    transport: Transport,
    operation: OperationDefinitionNode | null | undefined,
    startedAt: number,
    outcome: Outcome,
    cost: number | null,
    ctx?: { requestId?: string; auth: AuthInfo | null },
  ): Observed {
    const ms = performance.now() - startedAt;
    const o: Observed = { operation: this.operationNames.label(operation), type: operation?.operation ?? 'unknown', outcome, cost, ms };
    metrics.operations.inc({ operation: o.operation, type: o.type, transport, outcome });
    if (outcome !== 'refused') metrics.operationDuration.observe({ operation: o.operation, type: o.type, transport }, ms / 1000);
    if (transport === 'ws' && this.log.enabled('info')) {
      this.log.info('operation', {
        requestId: ctx?.requestId,
        transport,
        operation: o.operation,
        type: o.type,
        keyPrefix: keyPrefixOf(ctx?.auth ?? null),
        outcome,
        ms: Math.round(ms * 10) / 10,
        cost,
      });
    }
    return o;
  }

  private logUnexpected(original: unknown, path: GraphQLFormattedError['path']): void {
    const second = Math.floor(Date.now() / 1000);
    const w = this.logWindow;
    if (w.second !== second) {
      if (w.dropped > 0) this.log.error('unexpected errors not logged (rate limit)', { count: w.dropped });
      this.logWindow = { second, count: 0, dropped: 0 };
    }
    if (++this.logWindow.count > ERROR_LOG_PER_SECOND) {
      this.logWindow.dropped++;
      return;
    }
    this.log.error('unexpected error', {
      err: original instanceof Error ? { message: original.message, stack: original.stack } : String(original),
      path,
    });
  }

  /** Steps 3, 4 and 6 inside Apollo's pipeline (HTTP). */
  apolloPlugin(): ApolloServerPlugin<Context> {
    const checked = new WeakMap<object, { req: OperationRequest; info: Checked }>();
    return {
      requestDidStart: async () => {
        const startedAt = performance.now();
        let executed = false;
        return {
          didResolveOperation: async (rc) => {
            if (!rc.operation) return;
            // Persisted documents are registered for authenticated callers only (bounded memory).
            if (!rc.contextValue.auth) rc.metrics.persistedQueryRegister = false;
            const req: OperationRequest = {
              schema: rc.schema,
              document: rc.document,
              operation: rc.operation,
              variables: rc.request.variables ?? {},
              queryHash: rc.queryHash,
              transport: 'http',
            };
            checked.set(rc, { req, info: await this.check(req, rc.contextValue) });
          },
          executionDidStart: async () => {
            executed = true;
          },
          willSendResponse: async (rc) => {
            const c = checked.get(rc);
            const body = rc.response.body;
            let cost: CostInfo | null = null;
            if (c && body.kind === 'single') {
              cost = await this.settle(c.req, c.info, rc.contextValue, body.singleResult.data);
              body.singleResult.extensions = { ...body.singleResult.extensions, cost };
            }
            const errors = body.kind === 'single' ? body.singleResult.errors : undefined;
            const outcome: Outcome = !executed ? (errors?.length ? 'refused' : 'ok') : errors?.length ? 'error' : 'ok';
            const o = this.observe('http', rc.operation, startedAt, outcome, cost?.actualQueryCost ?? null);
            rc.contextValue.observed?.push(o);
          },
        };
      },
    };
  }
}
