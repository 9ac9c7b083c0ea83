/**
 * One GraphQL operation over either transport, with the same answer shape, so that security tests
 * run every case over HTTP and over graphql-ws with the same expectations.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { wsUrl } from './ws';

export type Transport = 'http' | 'ws';
export const TRANSPORTS: Transport[] = ['http', 'ws'];

export interface Answer {
  data?: any;
  errors?: { message: string; extensions?: Record<string, any> }[];
  extensions?: Record<string, any>;
  /** HTTP status (HTTP only). */
  status?: number;
  /** The socket's close code, if the server closed it instead of answering (ws only). */
  closeCode?: number;
}

/** A graphql-ws connection with a key, answering one operation at a time per call. */
export class WsSession {
  readonly client: Client;
  closeCode: number | null = null;
  private opened: Promise<void>;

  constructor(httpUrl: string, key: string | null) {
    let done!: () => void;
    this.opened = new Promise((r) => (done = r));
    this.client = createClient({
      url: wsUrl(httpUrl),
      webSocketImpl: WebSocket,
      connectionParams: key ? { Authorization: `Bearer ${key}` } : {},
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
      on: {
        connected: () => done(),
        closed: (e) => {
          this.closeCode = (e as { code?: number }).code ?? null;
          done();
        },
      },
    });
  }

  /** Resolves once the server acknowledged or closed the connection. */
  ready(): Promise<void> {
    return this.opened;
  }

  async request(query: string, variables: Record<string, unknown> = {}, extensions?: Record<string, unknown>): Promise<Answer> {
    await this.opened;
    if (this.closeCode !== null) return { closeCode: this.closeCode };
    return new Promise((resolve) => {
      let answer: Answer | null = null;
      this.client.subscribe({ query, variables, ...(extensions ? { extensions } : {}) } as any, {
        next: (v: any) => (answer = { data: v.data, errors: v.errors, extensions: v.extensions }),
        error: (e: any) => resolve(Array.isArray(e) ? { errors: e } : { closeCode: e?.code ?? this.closeCode ?? -1 }),
        complete: () => resolve(answer ?? {}),
      });
    });
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }
}

/** Sends one operation over HTTP POST. */
export async function overHttp(
  url: string,
  key: string | null,
  query: string,
  variables: Record<string, unknown> = {},
  extensions?: Record<string, unknown>,
): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables, ...(extensions ? { extensions } : {}) }),
  });
  const body = (await res.json()) as Answer;
  return { ...body, status: res.status };
}

/** A client per transport and key: `send(query, variables)`; close() ends its socket. */
export function transportClient(transport: Transport, url: string, key: string | null) {
  const session = transport === 'ws' ? new WsSession(url, key) : null;
  return {
    send: (query: string, variables: Record<string, unknown> = {}, extensions?: Record<string, unknown>) =>
      session ? session.request(query, variables, extensions) : overHttp(url, key, query, variables, extensions),
    session,
    close: async () => session?.close(),
  };
}

/** The first error's code, or the close code as "close:<code>". */
export function codeOf(a: Answer): string | null {
  if (a.closeCode != null) return `close:${a.closeCode}`;
  return (a.errors?.[0]?.extensions?.code as string | undefined) ?? null;
}
