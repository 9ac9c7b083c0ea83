import type { App } from '../app';
import type { AuthInfo } from './scopes';
import { createLoaders, type Loaders } from './loaders';
import type { WebSocket } from 'ws';
import type { Outcome } from '../observability/metrics';

/** What one operation looked like, for its metrics and its request log line (see OperationGuard.observe). */
export interface Observed {
  /** The `operation` label (bounded: see OperationNames). */
  operation: string;
  type: string;
  outcome: Outcome;
  /** The actual cost (null when the operation did not run). */
  cost: number | null;
  ms: number;
}

/** The graphql-ws subscription a context belongs to (shared subscription delivery). */
export interface SubscriberTarget {
  socket: WebSocket;
  id: string;
}

export interface Context {
  app: App;
  auth: AuthInfo | null;
  requestId: string;
  loaders: Loaders;
  /** WebSocket requests: the socket and subscription id (shared subscription delivery). */
  subscriber?: SubscriberTarget;
  /** HTTP requests: the operations the guard observed, for the request's log line. */
  observed?: Observed[];
}

/** The authenticated key's store. Resolvers behind @Authorized always have one. */
export function storeOf(ctx: Context): string {
  if (!ctx.auth) throw new Error('unauthenticated context reached a resolver');
  return ctx.auth.storeId;
}

/** The loaders are created on first use (many operations, and every subscriber's own context, never load). */
export function buildContext(app: App, auth: AuthInfo | null, requestId: string): Context {
  let loaders: Loaders | undefined;
  return {
    app,
    auth,
    requestId,
    get loaders() {
      return (loaders ??= createLoaders(app, auth?.storeId ?? null));
    },
    set loaders(l: Loaders) {
      loaders = l;
    },
  };
}
