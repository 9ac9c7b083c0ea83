/**
 * Abuse limits around every operation:
 *  - graphql-armor's static limits (depth, aliases, tokens, directives; field suggestions off in
 *    production), as validation rules and plugins;
 *  - publishable keys: public fields only, and optionally trusted documents only;
 *  - query cost before execution (MAX_COST_EXCEEDED), a leaky bucket per key (THROTTLED, 429 with
 *    Retry-After), and `extensions.cost` on every response, as Shopify's Admin API reports it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, Kind, TypeInfo, visit, visitWithTypeInfo, getNamedType, type FragmentDefinitionNode, type ValidationRule } from 'graphql';
import { ConfigError, type Config } from '../config';
import { poolTx, type Tx } from '../db/tx';
import { isPublicField } from '../modules/auth/public-fields';
import { charge, refund, type BucketConfig, type Charge, type ThrottleStatus } from '../modules/auth/rate-limit';
import type { Context } from './context';
import { actualCost, requestedCost } from './cost';

export interface CostInfo {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: ThrottleStatus | null;
}

/** Trusted documents: { "<sha256 of the document>": "<document>" }. */
export function loadTrustedDocuments(config: Config): Map<string, string> {
  const m = new Map<string, string>();
  if (!config.trustedDocumentsFile) return m;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(config.trustedDocumentsFile, 'utf8'));
  } catch (e) {
    throw new ConfigError('TRUSTED_DOCUMENTS', `cannot read ${config.trustedDocumentsFile}: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('TRUSTED_DOCUMENTS', 'must be a JSON object { sha256: document }');
  for (const [hash, doc] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof doc !== 'string' || crypto.createHash('sha256').update(doc).digest('hex') !== hash) {
      throw new ConfigError('TRUSTED_DOCUMENTS', `entry ${hash.slice(0, 12)}… is not the sha256 of its document`);
    }
    m.set(hash, doc);
  }
  return m;
}

export function armor(config: Config): { plugins: ApolloServerPlugin<Context>[]; validationRules: ValidationRule[] } {
  const a = new ApolloArmor({
    maxDepth: { n: config.maxDepth, ignoreIntrospection: true },
    maxAliases: { n: config.maxAliases },
    // Armor's Apollo plugin for tokens turns every syntax error into a 500: see tooManyTokens().
    maxTokens: { enabled: false },
    maxDirectives: { n: config.maxDirectives },
    costLimit: { enabled: false }, // our own cost model below, with Shopify's numbers
    blockFieldSuggestion: { enabled: !config.introspection },
  });
  const p = a.protect();
  // PostgreSQL text cannot hold NUL: refuse it in string literals (variables are checked by the HTTP layer).
  const noNul: ValidationRule = (ctx) => ({
    StringValue(node) {
      if (node.value.includes('\u0000')) ctx.reportError(new GraphQLError('Strings must not contain NUL (\\u0000) characters', { nodes: [node] }));
    },
  });
  return { plugins: p.plugins as ApolloServerPlugin<Context>[], validationRules: [...(p.validationRules as ValidationRule[]), noNul] };
}

/**
 * The token limit, checked by the HTTP layer before Apollo with armor's counting parser. Only the
 * limit is reported here; a syntax error is left to Apollo (400 GRAPHQL_PARSE_FAILED).
 */
export function tooManyTokens(query: unknown, max: number): boolean {
  if (typeof query !== 'string') return false;
  // Clients send the same few documents over and over: remember the verdict for small ones.
  const key = query.length <= TOKEN_CACHE_MAX_LENGTH ? `${max}:${query}` : null;
  const hit = key === null ? undefined : tokenVerdicts.get(key);
  if (hit !== undefined) return hit;
  let verdict: boolean;
  try {
    new MaxTokensParserWLexer(query, { n: max }).parseDocument();
    verdict = false;
  } catch (e) {
    verdict = e instanceof GraphQLError && /Token limit/.test(e.message);
  }
  if (key !== null) {
    if (tokenVerdicts.size >= TOKEN_CACHE_ENTRIES) tokenVerdicts.delete(tokenVerdicts.keys().next().value as string);
    tokenVerdicts.set(key, verdict);
  }
  return verdict;
}

const TOKEN_CACHE_ENTRIES = 500;
const TOKEN_CACHE_MAX_LENGTH = 8 * 1024;
/** Verdicts of tooManyTokens() for recently seen documents (bounded: ≤ 500 × 8 KiB). */
const tokenVerdicts = new Map<string, boolean>();

/**
 * Charges of one key that arrive while a charge of that key is in flight are sent together, as ONE
 * charge of their summed cost (group commit): the bucket row of a busy key is then updated once per
 * round trip instead of once per request, so requests do not queue on its row lock. When the sum
 * fits, every request is granted and reports the bucket as if the batch had been charged one after
 * the other in arrival order (all at the same instant); when it does not, the batch falls back to
 * one charge per request in arrival order, exactly as without batching.
 */
export class ChargeBatcher {
  private readonly queues = new Map<string, { cost: number; tx: Tx; resolve: (c: Charge) => void; reject: (e: unknown) => void }[]>();

  constructor(private readonly bucket: BucketConfig) {}

  charge(tx: Tx, keyId: string, cost: number): Promise<Charge> {
    return new Promise((resolve, reject) => {
      const q = this.queues.get(keyId);
      if (q) return void q.push({ cost, tx, resolve, reject });
      this.queues.set(keyId, []);
      void this.run(keyId, [{ cost, tx, resolve, reject }]);
    });
  }

  private async run(keyId: string, batch: { cost: number; tx: Tx; resolve: (c: Charge) => void; reject: (e: unknown) => void }[]): Promise<void> {
    for (;;) {
      try {
        const c = await charge(batch[0].tx, keyId, batch.reduce((s, b) => s + b.cost, 0), this.bucket);
        if (batch.length === 1 || c.granted) {
          // Request i sees what is left after its own charge: the end state plus the later costs.
          let later = 0;
          for (let i = batch.length - 1; i >= 0; i--) {
            batch[i].resolve({ ...c, status: { ...c.status, currentlyAvailable: c.status.currentlyAvailable + later } });
            later += batch[i].cost;
          }
        } else {
          for (const b of batch) b.resolve(await charge(b.tx, keyId, b.cost, this.bucket));
        }
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
      const next = this.queues.get(keyId)!;
      if (next.length === 0) {
        this.queues.delete(keyId);
        return;
      }
      batch = next.splice(0);
    }
  }
}

const forbidden = (message: string) => new GraphQLError(message, { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });

export function securityPlugin(config: Config, trusted: Map<string, string>): ApolloServerPlugin<Context> {
  const bucket: BucketConfig = { size: config.rateLimitBucketSize, restoreRate: config.rateLimitRestoreRate };
  const cost = new WeakMap<object, CostInfo & { fragments: Record<string, FragmentDefinitionNode> }>();
  const charges = new ChargeBatcher(bucket);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(rc) {
          const { schema, document, operation, contextValue: ctx } = rc;
          const auth = ctx.auth;
          if (!operation) return;
          const fragments: Record<string, FragmentDefinitionNode> = {};
          for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;

          if (auth?.kind === 'pk') {
            if (config.publishableTrustedOnly && !(rc.queryHash && trusted.has(rc.queryHash))) {
              throw forbidden('Publishable keys may only run trusted documents; register this operation (see docs/SECURITY.md)');
            }
            if (operation.operation !== 'query') throw forbidden('Publishable keys are read-only');
            const typeInfo = new TypeInfo(schema);
            let denied: string | null = null;
            visit(
              document,
              visitWithTypeInfo(typeInfo, {
                Field(node) {
                  const parent = typeInfo.getParentType();
                  if (!denied && parent && !parent.name.startsWith('__') && !isPublicField(getNamedType(parent).name, node.name.value)) {
                    denied = `${parent.name}.${node.name.value}`;
                  }
                },
              }),
            );
            if (denied) throw forbidden(`Publishable keys cannot read ${denied}; use a secret key with the inventory:read scope`);
          }

          const requested = requestedCost(schema, operation, fragments, rc.request.variables ?? {});
          if (requested > config.maxQueryCost) {
            throw new GraphQLError(`Query cost ${requested} exceeds the maximum of ${config.maxQueryCost}; ask for smaller pages (first/last)`, {
              extensions: { code: 'MAX_COST_EXCEEDED', cost: { requestedQueryCost: requested, maximumCost: config.maxQueryCost }, http: { status: 400 } },
            });
          }
          const info: CostInfo & { fragments: typeof fragments } = { requestedQueryCost: requested, actualQueryCost: null, throttleStatus: null, fragments };
          cost.set(rc, info);
          if (auth && bucket.size > 0) {
            const c = await charges.charge(poolTx(ctx.app.db.pool), auth.keyId, requested);
            info.throttleStatus = c.status;
            if (!c.granted) {
              const retryAfterS = Math.max(1, Math.ceil(c.retryAfterMs / 1000));
              throw new GraphQLError(`Throttled: this query costs ${requested} points and ${c.status.currentlyAvailable} are available; retry in ${retryAfterS} s`, {
                extensions: {
                  code: 'THROTTLED',
                  retryAfterMs: c.retryAfterMs,
                  cost: { requestedQueryCost: requested, actualQueryCost: null, throttleStatus: c.status },
                  http: { status: 429, headers: new Map([['retry-after', String(retryAfterS)]]) },
                },
              });
            }
          }
        },
        async willSendResponse(rc) {
          const info = cost.get(rc);
          const body = rc.response.body;
          if (!info || body.kind !== 'single' || !rc.operation) return;
          const actual = actualCost(rc.schema, rc.operation, info.fragments, body.singleResult.data);
          info.actualQueryCost = Math.min(actual, info.requestedQueryCost);
          const auth = rc.contextValue.auth;
          const unused = info.requestedQueryCost - info.actualQueryCost;
          if (auth && info.throttleStatus && unused > 0) {
            // Best effort: the operation's result is already decided; a refund lost to a dropped
            // connection must not turn it into an error (the client would retry a done change).
            try {
              info.throttleStatus = { ...info.throttleStatus, currentlyAvailable: await refund(poolTx(rc.contextValue.app.db.pool), auth.keyId, unused, bucket) };
            } catch (e) {
              rc.contextValue.app.log.warn('rate-limit refund failed', { err: (e as Error).message });
            }
          }
          body.singleResult.extensions = {
            ...body.singleResult.extensions,
            cost: { requestedQueryCost: info.requestedQueryCost, actualQueryCost: info.actualQueryCost, throttleStatus: info.throttleStatus },
          };
        },
      };
    },
  };
}
