/** Open graphql-ws sockets by API key, so that revoking a key closes its sockets (4403). */
import type { WebSocket } from 'ws';

export class KeySockets {
  private readonly byKey = new Map<string, Set<WebSocket>>();

  /** Registers a socket of a key; the returned function forgets it. */
  add(keyId: string, socket: WebSocket): () => void {
    let set = this.byKey.get(keyId);
    if (!set) this.byKey.set(keyId, (set = new Set()));
    set.add(socket);
    return () => {
      set!.delete(socket);
      if (set!.size === 0 && this.byKey.get(keyId) === set) this.byKey.delete(keyId);
    };
  }

  /** Keys with open sockets. */
  keys(): string[] {
    return [...this.byKey.keys()];
  }

  /** Closes every socket of the key with `code`. Returns how many. */
  close(keyId: string, code: number, reason: string): number {
    const set = this.byKey.get(keyId);
    if (!set) return 0;
    this.byKey.delete(keyId);
    for (const s of set) s.close(code, reason);
    return set.size;
  }
}
