/** A graphql-ws client for tests: collects the events of one subscription. */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { eventually } from './poll';

export interface Sub {
  events: any[];
  errors: unknown[];
  completed: boolean;
  /** Resolves once `n` events have arrived (or rejects after timeoutMs). */
  waitFor(n: number, timeoutMs?: number): Promise<any[]>;
  close(): Promise<void>;
  client: Client;
  closeCode: () => number | null;
  /** The reason of the server's close frame ('' if none, null while open). */
  closeReason: () => string | null;
  /** Stops reading from the TCP socket (a client that has stalled) or starts again. */
  pauseReading(): void;
  resumeReading(): void;
}

export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}

export interface SubscribeOptions {
  /** Pick this root field of each result (default: the first). */
  field?: string;
  /**
   * Whether the server has registered the subscription (for example its subscriber count has grown):
   * subscribe() resolves only once it holds. A subscription resumed with `after` needs none (the
   * backlog covers whatever was committed before it was registered).
   */
  registered?: () => boolean | Promise<boolean>;
}

export async function subscribe(
  httpUrl: string,
  key: string | null,
  query: string,
  variables: Record<string, unknown> = {},
  opts: SubscribeOptions = {},
): Promise<Sub> {
  const { field, registered } = opts;
  let closeCode: number | null = null;
  let closeReason: string | null = null;
  let socket: WebSocket | null = null;
  class Tracked extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- hands the socket the library creates to the test
      socket = this;
    }
  }
  const raw = () => (socket as unknown as { _socket?: { pause(): void; resume(): void } } | null)?._socket;
  let connected!: () => void;
  const ready = new Promise<void>((r) => (connected = r));
  const client = createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: Tracked,
    connectionParams: key ? { Authorization: `Bearer ${key}` } : {},
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined, // closes are asserted through closeCode()
    on: {
      connected: () => connected(),
      closed: (e) => {
        closeCode = (e as { code?: number }).code ?? null;
        closeReason = String((e as { reason?: unknown }).reason ?? '');
        connected();
      },
    },
  });
  const sub: Sub = {
    events: [],
    errors: [],
    completed: false,
    client,
    closeCode: () => closeCode,
    closeReason: () => closeReason,
    pauseReading: () => raw()?.pause(),
    resumeReading: () => raw()?.resume(),
    waitFor(n, timeoutMs = 20_000) {
      const t0 = Date.now();
      return new Promise((resolve, reject) => {
        const tick = () => {
          if (sub.events.length >= n) return resolve(sub.events.slice(0, n));
          if (sub.errors.length || sub.completed)
            return reject(new Error(`subscription ended after ${sub.events.length} events: ${JSON.stringify(sub.errors)}`));
          if (Date.now() - t0 > timeoutMs) return reject(new Error(`only ${sub.events.length} of ${n} events after ${timeoutMs} ms`));
          setTimeout(tick, 20);
        };
        tick();
      });
    },
    async close() {
      await client.dispose();
    },
  };
  client.subscribe(
    { query, variables },
    {
      next: (v) => {
        if (v.errors) sub.errors.push(v.errors);
        else {
          const data = v.data as Record<string, unknown>;
          sub.events.push(field ? data[field] : Object.values(data)[0]);
        }
      },
      error: (e) => sub.errors.push(e),
      complete: () => (sub.completed = true),
    },
  );
  await ready;
  if (registered)
    await eventually(
      'the server to register the subscription',
      async () => (await registered()) || closeCode !== null || sub.errors.length > 0,
    );
  return sub;
}
