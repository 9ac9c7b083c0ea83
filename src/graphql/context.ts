import type { App } from '../app';
import type { AuthInfo } from '../modules/auth/scopes';
import { createLoaders, type Loaders } from './loaders';

export interface Context {
  app: App;
  auth: AuthInfo | null;
  requestId: string;
  loaders: Loaders;
  /** WebSocket requests: closes the connection (slow subscribers). */
  closeSocket?: (code: number, reason: string) => void;
}

/** The authenticated key's store. Resolvers behind @Authorized always have one. */
export function storeOf(ctx: Context): string {
  if (!ctx.auth) throw new Error('unauthenticated context reached a resolver');
  return ctx.auth.storeId;
}

export function buildContext(app: App, auth: AuthInfo | null, requestId: string): Context {
  return { app, auth, requestId, loaders: createLoaders(app, auth?.storeId ?? null) };
}
