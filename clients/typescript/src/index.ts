/**
 * @inventory/client: a small typed SDK for the inventory GraphQL gateway.
 *
 *   const client = createInventoryClient({ url: 'https://inventory.example/graphql', apiKey: 'sk_…' });
 *   const { edges } = await client.inventoryLevels({ filter: { skus: ['TSHIRT-L'] } });
 *   const { reservation, userErrors } = await client.inventoryReserve({ input: { lines: [{ sku: 'TSHIRT-L', quantity: 1 }] } });
 *   const stop = client.subscribe.inventoryChanged({ after: savedCursor }, { next: (e) => save(e.cursor) });
 *
 * Every method is typed from the operations in ../operations/*.graphql (`npm run codegen`).
 * Queries and mutations go over HTTP with fetch; subscriptions over graphql-ws, reconnecting by
 * themselves and resuming after the last cursor received, so no event is missed or repeated.
 * Transport and GraphQL errors are thrown (InventoryTransportError / InventoryGraphQLError);
 * business errors come back as `userErrors` in the payload, as the API returns them.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Kind, print, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { createClient, type Client as WsClient, type ClientOptions as WsClientOptions } from 'graphql-ws';
import * as ops from './gql/graphql';

export * from './gql/graphql';
export type { TypedDocumentNode };

// ---------------------------------------------------------------------------------------------
// Operations

/** Query methods: one per root query field, named after it, returning that field. */
export const queries = {
  product: ops.ProductDocument,
  products: ops.ProductsDocument,
  variant: ops.VariantDocument,
  variants: ops.VariantsDocument,
  variantByLabel: ops.VariantByLabelDocument,
  warehouse: ops.WarehouseDocument,
  warehouses: ops.WarehousesDocument,
  inventoryLevel: ops.InventoryLevelDocument,
  inventoryLevels: ops.InventoryLevelsDocument,
  inventorySummary: ops.InventorySummaryDocument,
  stockMovements: ops.StockMovementsDocument,
  stockMovementsSummary: ops.StockMovementsSummaryDocument,
  reservation: ops.ReservationDocument,
  reservations: ops.ReservationsDocument,
  node: ops.NodeDocument,
  nodes: ops.NodesDocument,
  webhookSubscriptions: ops.WebhookSubscriptionsDocument,
  webhookDeliveries: ops.WebhookDeliveriesDocument,
  currentApiKey: ops.CurrentApiKeyDocument,
  storeSettings: ops.StoreSettingsDocument,
  inboundShipment: ops.InboundShipmentDocument,
  inboundShipments: ops.InboundShipmentsDocument,
  inventoryTransfer: ops.InventoryTransferDocument,
  inventoryTransfers: ops.InventoryTransfersDocument,
} as const;

/** Mutation methods: one per root mutation field, named after it, returning its payload. */
export const mutations = {
  productCreate: ops.ProductCreateDocument,
  productUpdate: ops.ProductUpdateDocument,
  variantCreate: ops.VariantCreateDocument,
  variantUpdate: ops.VariantUpdateDocument,
  warehouseCreate: ops.WarehouseCreateDocument,
  warehouseUpdate: ops.WarehouseUpdateDocument,
  inventorySet: ops.InventorySetDocument,
  inventoryAdjust: ops.InventoryAdjustDocument,
  inventoryMove: ops.InventoryMoveDocument,
  inventoryLevelUpdate: ops.InventoryLevelUpdateDocument,
  inventoryBulkUpdate: ops.InventoryBulkUpdateDocument,
  inventoryReserve: ops.InventoryReserveDocument,
  reservationRelease: ops.ReservationReleaseDocument,
  reservationCommit: ops.ReservationCommitDocument,
  reservationExtend: ops.ReservationExtendDocument,
  webhookSubscriptionCreate: ops.WebhookSubscriptionCreateDocument,
  webhookSubscriptionUpdate: ops.WebhookSubscriptionUpdateDocument,
  webhookSubscriptionDelete: ops.WebhookSubscriptionDeleteDocument,
  webhookDeliveryRetry: ops.WebhookDeliveryRetryDocument,
  storeSettingsUpdate: ops.StoreSettingsUpdateDocument,
  inboundShipmentCreate: ops.InboundShipmentCreateDocument,
  inboundShipmentUpdate: ops.InboundShipmentUpdateDocument,
  inboundShipmentCancel: ops.InboundShipmentCancelDocument,
  inboundShipmentReceive: ops.InboundShipmentReceiveDocument,
  inventoryTransferShip: ops.InventoryTransferShipDocument,
  inventoryTransferReceive: ops.InventoryTransferReceiveDocument,
  inventoryTransferWriteOff: ops.InventoryTransferWriteOffDocument,
} as const;

/** Subscriptions: one per root subscription field. */
export const subscriptions = {
  inventoryChanged: ops.InventoryChangedDocument,
  stockStatusChanged: ops.StockStatusChangedDocument,
  inboundReceived: ops.InboundReceivedDocument,
  transferShipped: ops.TransferShippedDocument,
  transferReceived: ops.TransferReceivedDocument,
} as const;

export type ResultOf<D> = D extends TypedDocumentNode<infer R, any> ? R : never;
export type VariablesOf<D> = D extends TypedDocumentNode<any, infer V> ? V : never;

/** Per-request options. */
export interface RequestOptions {
  signal?: AbortSignal;
  /** Extra headers for this request. */
  headers?: Record<string, string>;
}

/** Variables are optional when the operation has no required variable. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- "every variable optional" is exactly `{} extends V`
type Args<V> = {} extends V ? [variables?: V, options?: RequestOptions] : [variables: V, options?: RequestOptions];
type FieldOf<D, K> = K extends keyof ResultOf<D> ? ResultOf<D>[K] : never;
type OperationMethods<T> = { [K in keyof T]: (...args: Args<VariablesOf<T[K]>>) => Promise<FieldOf<T[K], K>> };

type Queries = typeof queries;
/** Queries returning a Relay connection (usable with `paginate`). */
export type ConnectionQuery = {
  [K in keyof Queries]: FieldOf<Queries[K], K> extends { edges: unknown; pageInfo: unknown } ? K : never;
}[keyof Queries];
type NodeOf<K extends ConnectionQuery> = FieldOf<Queries[K], K> extends { edges: Array<{ node: infer N }> } ? N : never;
type PaginateVariables<K extends ConnectionQuery> = Omit<NonNullable<VariablesOf<Queries[K]>>, 'after' | 'before' | 'last'>;

export type InventoryChangedEvent = ops.InventoryChangedSubscription['inventoryChanged'];
export type StockStatusChangedEvent = ops.StockStatusChangedSubscription['stockStatusChanged'];
export type InboundReceivedEvent = ops.InboundReceivedSubscription['inboundReceived'];
export type TransferShippedEvent = ops.TransferShippedSubscription['transferShipped'];
export type TransferReceivedEvent = ops.TransferReceivedSubscription['transferReceived'];

export interface SubscriptionHandlers<E> {
  /** One event. Once it returns, the client resumes after this event's cursor on a reconnect. */
  next(event: E): void;
  /** The subscription ended with an error (bad key, invalid cursor, CURSOR_EXPIRED, …). */
  error?(error: InventoryClientError): void;
  /** The server completed the subscription. */
  complete?(): void;
}

/** Stops a subscription. */
export type Unsubscribe = () => void;

export interface InventorySubscriptions {
  /**
   * Every committed change of inventory levels, in order. Pass `after` (a cursor you stored) to
   * receive what you missed first. Reconnects resume after the last event delivered to `next`.
   */
  inventoryChanged(
    variables: ops.InventoryChangedSubscriptionVariables,
    handlers: SubscriptionHandlers<InventoryChangedEvent>,
  ): Unsubscribe;
  /** Status crossings (low, critical, out of stock, back in stock), in order; resumes like inventoryChanged. */
  stockStatusChanged(
    variables: ops.StockStatusChangedSubscriptionVariables,
    handlers: SubscriptionHandlers<StockStatusChangedEvent>,
  ): Unsubscribe;
  /** Inbound shipment receipts (one event per line received), in order; resumes like inventoryChanged. */
  inboundReceived(variables: ops.InboundReceivedSubscriptionVariables, handlers: SubscriptionHandlers<InboundReceivedEvent>): Unsubscribe;
  /** Transfer lines shipped (on the source level), in order; resumes like inventoryChanged. */
  transferShipped(variables: ops.TransferShippedSubscriptionVariables, handlers: SubscriptionHandlers<TransferShippedEvent>): Unsubscribe;
  /** Transfer lines received (on the destination level), in order; resumes like inventoryChanged. */
  transferReceived(
    variables: ops.TransferReceivedSubscriptionVariables,
    handlers: SubscriptionHandlers<TransferReceivedEvent>,
  ): Unsubscribe;
}

export type InventoryClient = OperationMethods<typeof queries> &
  OperationMethods<typeof mutations> & {
    /** Runs any typed document (e.g. one generated from your own operations) over HTTP; returns `data`. */
    request<R, V>(document: TypedDocumentNode<R, V>, ...args: Args<V>): Promise<R>;
    /** Every node of a connection query, page after page (`first` is the page size, default 100). */
    paginate<K extends ConnectionQuery>(query: K, variables?: PaginateVariables<K>, options?: RequestOptions): AsyncGenerator<NodeOf<K>>;
    /** Real-time events over graphql-ws. */
    subscribe: InventorySubscriptions;
    /** The underlying graphql-ws client (created on first use), e.g. for `ws().on('connected', …)`. */
    ws(): WsClient;
    /** Closes the WebSocket (ending every subscription). HTTP methods keep working. */
    dispose(): Promise<void>;
  };

export interface InventoryClientOptions {
  /** The GraphQL endpoint, e.g. https://inventory.example/graphql. */
  url: string;
  /** A secret key (sk_…) or publishable key; sent as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** fetch implementation (default: the global fetch). */
  fetch?: typeof fetch;
  /** WebSocket implementation (default: the global WebSocket, else the `ws` package). */
  webSocketImpl?: unknown;
  /** WebSocket endpoint (default: `url` with http(s) replaced by ws(s)). */
  wsUrl?: string;
  /** Headers added to every HTTP request. */
  headers?: Record<string, string>;
  /** How many times in a row to try reconnecting before subscriptions fail (default: forever). */
  retryAttempts?: number;
  /** Waits before reconnect attempt `retries` (default: 250 ms doubling up to 30 s, plus jitter). */
  retryWait?: (retries: number) => Promise<void>;
  /** Ping interval in ms that keeps the WebSocket alive (default 15 000; 0 disables). */
  keepAlive?: number;
  /** graphql-ws event listeners (connecting, connected, closed, …). */
  on?: WsClientOptions['on'];
  /** Called after every HTTP response with its status and `extensions` (e.g. the query cost). */
  onResponse?: (info: { operationName: string | undefined; status: number; extensions: Record<string, unknown> | undefined }) => void;
}

// ---------------------------------------------------------------------------------------------
// Errors

/** A GraphQL error as the server formats it. */
export interface GraphQLErrorLike {
  message: string;
  path?: ReadonlyArray<string | number>;
  locations?: ReadonlyArray<{ line: number; column: number }>;
  extensions?: Record<string, unknown>;
}

/** Base class of every error the client throws or reports. */
export class InventoryClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InventoryClientError';
  }
}

/** The request did not get a GraphQL answer: network failure, non-JSON body, HTTP error, closed socket. */
export class InventoryTransportError extends InventoryClientError {
  /** HTTP status, when there was a response. */
  readonly status: number | undefined;
  /** WebSocket close code, for subscriptions. */
  readonly closeCode: number | undefined;
  constructor(message: string, details: { status?: number; closeCode?: number; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.name = 'InventoryTransportError';
    this.status = details.status;
    this.closeCode = details.closeCode;
  }
}

/** The server answered with GraphQL errors (UNAUTHENTICATED, FORBIDDEN, THROTTLED, BAD_USER_INPUT, …). */
export class InventoryGraphQLError extends InventoryClientError {
  readonly errors: GraphQLErrorLike[];
  /** `extensions.code` of the first error. */
  readonly code: string | undefined;
  /** HTTP status (undefined for subscriptions). */
  readonly status: number | undefined;
  /** Partial data, if any. */
  readonly data: unknown;
  constructor(errors: GraphQLErrorLike[], details: { status?: number; data?: unknown } = {}) {
    const code = errors[0]?.extensions?.code as string | undefined;
    super(`${code ? `${code}: ` : ''}${errors.map((e) => e.message).join('; ') || 'GraphQL error'}`);
    this.name = 'InventoryGraphQLError';
    this.errors = errors;
    this.code = code;
    this.status = details.status;
    this.data = details.data;
  }
}

// ---------------------------------------------------------------------------------------------
// Client

const printed = new WeakMap<DocumentNode, string>();
function source(document: DocumentNode): string {
  let s = printed.get(document);
  if (s === undefined) printed.set(document, (s = print(document)));
  return s;
}

function operationName(document: DocumentNode): string | undefined {
  const op = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return op?.name?.value;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function defaultRetryWait(retries: number): Promise<void> {
  const base = Math.min(30_000, 250 * 2 ** retries);
  await sleep(base + Math.random() * base * 0.5);
}

function isCloseEvent(e: unknown): e is { code: number; reason?: string } {
  return !!e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'number';
}

/** Close codes after which reconnecting cannot help (graphql-ws gives up by itself on the others it knows). */
const FATAL_CLOSE_CODES = new Set([4403 /* the key is invalid or revoked */]);

function subscriptionError(e: unknown): InventoryClientError {
  if (e instanceof InventoryClientError) return e;
  if (Array.isArray(e)) return new InventoryGraphQLError(e as GraphQLErrorLike[]);
  if (isCloseEvent(e))
    return new InventoryTransportError(`WebSocket closed: ${e.code}${e.reason ? ` ${e.reason}` : ''}`, { closeCode: e.code, cause: e });
  return new InventoryTransportError(`WebSocket error: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/** Cursors are decimal positions in the store's event stream. */
function isAfter(cursor: string, last: string): boolean {
  if (/^\d+$/.test(cursor) && /^\d+$/.test(last)) return BigInt(cursor) > BigInt(last);
  return cursor !== last;
}

function defaultWebSocket(): unknown {
  const g = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (g) return g;
  // Node before 22 has no global WebSocket: use the `ws` package (an optional peer dependency).

  return require('ws');
}

export function createInventoryClient(options: InventoryClientOptions): InventoryClient {
  const { url, apiKey } = options;
  if (!url) throw new TypeError('createInventoryClient: url is required');
  if (!apiKey) throw new TypeError('createInventoryClient: apiKey is required');
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (!fetchImpl) throw new TypeError('createInventoryClient: no global fetch; pass options.fetch');

  async function request<R, V>(document: TypedDocumentNode<R, V>, variables?: V, req: RequestOptions = {}): Promise<R> {
    const name = operationName(document);
    let res: Response;
    try {
      res = await fetchImpl(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          authorization: `Bearer ${apiKey}`,
          ...options.headers,
          ...req.headers,
        },
        body: JSON.stringify({ query: source(document), operationName: name, variables: variables ?? {} }),
        signal: req.signal,
      });
    } catch (e) {
      throw new InventoryTransportError(`${name ?? 'request'}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
    }
    const text = await res.text().catch((e: unknown) => {
      throw new InventoryTransportError(`${name ?? 'request'}: reading the response failed: ${(e as Error)?.message}`, {
        status: res.status,
        cause: e,
      });
    });
    let body: { data?: R | null; errors?: GraphQLErrorLike[]; extensions?: Record<string, unknown> };
    try {
      body = JSON.parse(text);
    } catch {
      throw new InventoryTransportError(`${name ?? 'request'}: HTTP ${res.status} without a GraphQL response: ${text.slice(0, 200)}`, {
        status: res.status,
      });
    }
    options.onResponse?.({ operationName: name, status: res.status, extensions: body?.extensions });
    if (body?.errors?.length) throw new InventoryGraphQLError(body.errors, { status: res.status, data: body.data });
    if (!res.ok || body?.data == null)
      throw new InventoryTransportError(`${name ?? 'request'}: HTTP ${res.status} without data`, { status: res.status });
    return body.data;
  }

  function methods<T extends Record<string, TypedDocumentNode<any, any>>>(table: T): OperationMethods<T> {
    const out: Record<string, unknown> = {};
    for (const [field, document] of Object.entries(table)) {
      out[field] = async (variables?: Record<string, unknown>, req?: RequestOptions) =>
        ((await request(document, variables, req)) as Record<string, unknown>)[field];
    }
    return out as OperationMethods<T>;
  }

  let wsClient: WsClient | null = null;
  function ws(): WsClient {
    wsClient ??= createClient({
      url: options.wsUrl ?? url.replace(/^http/i, 'ws'),
      webSocketImpl: options.webSocketImpl ?? defaultWebSocket(),
      connectionParams: { Authorization: `Bearer ${apiKey}` },
      lazy: true,
      keepAlive: options.keepAlive ?? 15_000,
      retryAttempts: options.retryAttempts ?? Number.POSITIVE_INFINITY,
      retryWait: options.retryWait ?? defaultRetryWait,
      // Retry on every close and network error, except for a rejected key.
      shouldRetry: (e) => !(isCloseEvent(e) && FATAL_CLOSE_CODES.has(e.code)),
      on: options.on,
    });
    return wsClient;
  }

  /**
   * One subscription that survives reconnects. graphql-ws re-sends the subscribe payload on every
   * reconnect, so keeping `payload.variables.after` at the last delivered cursor makes the server
   * replay exactly what was missed. Events at or before that cursor are dropped as repeats.
   */
  function resumable<K extends keyof typeof subscriptions, E>(
    field: K,
    variables: Record<string, unknown> | undefined,
    handlers: SubscriptionHandlers<E>,
  ): Unsubscribe {
    const document = subscriptions[field];
    const payload = {
      query: source(document),
      operationName: operationName(document),
      variables: { ...(variables ?? {}) } as Record<string, unknown>,
    };
    let last = typeof payload.variables.after === 'string' ? payload.variables.after : null;
    let ended = false;
    let stop: () => void = () => undefined;
    const end = () => {
      ended = true;
      stop();
    };
    stop = ws().subscribe<Record<string, unknown>>(payload, {
      next(result) {
        if (ended) return;
        if (result.errors?.length) {
          end();
          handlers.error?.(new InventoryGraphQLError(result.errors as GraphQLErrorLike[], { data: result.data }));
          return;
        }
        const event = result.data?.[field] as (E & { cursor: string }) | undefined;
        if (!event) return;
        if (last !== null && !isAfter(event.cursor, last)) return;
        try {
          handlers.next(event);
        } catch (e) {
          end();
          handlers.error?.(
            new InventoryClientError(`${field}: the next() handler threw: ${(e as Error)?.message ?? String(e)}`, { cause: e }),
          );
          return;
        }
        last = event.cursor;
        payload.variables.after = last;
      },
      error(e) {
        if (ended) return;
        ended = true;
        handlers.error?.(subscriptionError(e));
      },
      complete() {
        if (ended) return;
        ended = true;
        handlers.complete?.();
      },
    });
    return () => {
      if (!ended) end();
    };
  }

  return {
    ...methods(queries),
    ...methods(mutations),
    request: ((document: TypedDocumentNode<unknown, unknown>, variables?: unknown, req?: RequestOptions) =>
      request(document, variables, req)) as InventoryClient['request'],
    async *paginate(query, variables, req) {
      const document = queries[query] as TypedDocumentNode<any, any>;
      let after: string | null = null;
      for (;;) {
        const data = (await request(document, { first: 100, ...variables, after }, req)) as Record<
          string,
          { edges: Array<{ node: any }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } }
        >;
        const page = data[query];
        for (const edge of page.edges) yield edge.node;
        if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return;
        after = page.pageInfo.endCursor;
      }
    },
    subscribe: {
      inventoryChanged: (variables, handlers) => resumable('inventoryChanged', variables, handlers),
      stockStatusChanged: (variables, handlers) => resumable('stockStatusChanged', variables, handlers),
      inboundReceived: (variables, handlers) => resumable('inboundReceived', variables, handlers),
      transferShipped: (variables, handlers) => resumable('transferShipped', variables, handlers),
      transferReceived: (variables, handlers) => resumable('transferReceived', variables, handlers),
    },
    ws,
    async dispose() {
      const c = wsClient;
      wsClient = null;
      await c?.dispose();
    },
  } as InventoryClient;
}
