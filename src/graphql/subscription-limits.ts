/**
 * Limits on open subscriptions: per socket and per API key (in this process). Enforced in one
 * place, `SharedSubscriptions.subscribe`, which every subscription passes whatever carried it
 * (graphql-ws is the one transport that can subscribe: HTTP refuses subscriptions in the guard).
 * A slot is taken before the subscription opens and given back when it ends or fails to open.
 */
export interface LimitRefusal {
  scope: 'socket' | 'key';
  limit: number;
  message: string;
}

export class SubscriptionLimits {
  private readonly bySocket = new Map<object, number>();
  private readonly byKey = new Map<string, number>();

  constructor(
    readonly perSocket: number,
    readonly perKey: number,
  ) {}

  /** Takes a slot for one more subscription of `socket` and `keyId`: the function that gives it back, or why not. */
  take(socket: object, keyId: string | null): (() => void) | LimitRefusal {
    const s = this.bySocket.get(socket) ?? 0;
    if (s >= this.perSocket)
      return {
        scope: 'socket',
        limit: this.perSocket,
        message: `Too many subscriptions on this connection: at most ${this.perSocket} at once; complete one first, or open another connection`,
      };
    const k = keyId === null ? 0 : (this.byKey.get(keyId) ?? 0);
    if (keyId !== null && k >= this.perKey)
      return {
        scope: 'key',
        limit: this.perKey,
        message: `Too many subscriptions for this API key: at most ${this.perKey} at once on this server; complete some first`,
      };
    this.bySocket.set(socket, s + 1);
    if (keyId !== null) this.byKey.set(keyId, k + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      dec(this.bySocket, socket);
      if (keyId !== null) dec(this.byKey, keyId);
    };
  }

  /** Open subscriptions of a socket and of a key (tests, metrics). */
  count(socket: object | null, keyId: string | null = null): { socket: number; key: number } {
    return { socket: socket ? (this.bySocket.get(socket) ?? 0) : 0, key: keyId ? (this.byKey.get(keyId) ?? 0) : 0 };
  }
}

function dec<K>(m: Map<K, number>, k: K): void {
  const n = (m.get(k) ?? 0) - 1;
  if (n <= 0) m.delete(k);
  else m.set(k, n);
}
