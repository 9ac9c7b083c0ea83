/** API key scopes. `admin` implies every other scope. */
export const SCOPES = ['inventory:read', 'inventory:write', 'inventory:reserve', 'catalog:write', 'webhooks:manage', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Pseudo-scope carried by publishable (pk_) keys: public stock reads only. */
export const STOREFRONT = 'storefront:read';

export interface AuthInfo {
  keyId: string;
  storeId: string;
  kind: 'pk' | 'sk';
  scopes: string[];
  /** For the ledger: who made a change. */
  actor: string;
  /** Cost points per UTC day or month, if the key has a quota. */
  quota?: { points: number; period: 'DAY' | 'MONTH' } | null;
}

export function hasScope(auth: AuthInfo, scope: string): boolean {
  if (auth.kind === 'pk') return scope === STOREFRONT;
  return auth.scopes.includes('admin') || auth.scopes.includes(scope) || (scope === STOREFRONT && auth.scopes.includes('inventory:read'));
}
