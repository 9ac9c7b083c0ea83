/** A tiny GraphQL-over-HTTP client for tests (real fetch against the real server). */
export interface GqlResponse<T = any> {
  status: number;
  body: { data?: T; errors?: { message: string; path?: string[]; extensions?: Record<string, any> }[]; extensions?: Record<string, any> };
  headers: Headers;
}

export type GqlClient = <T = any>(query: string, variables?: Record<string, unknown>) => Promise<GqlResponse<T>>;

export async function post<T = any>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  key?: string,
): Promise<GqlResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: GqlResponse<T>['body'];
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`non-JSON response ${res.status}: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body, headers: res.headers };
}

export function makeClient(url: string, key?: string): GqlClient {
  return (query, variables) => post(url, query, variables, key);
}

/** Returns data, failing the test on any GraphQL error. */
export async function ok<T = any>(p: Promise<GqlResponse<T>>): Promise<T> {
  const r = await p;
  if (r.body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.body.errors)}`);
  return r.body.data as T;
}

/**
 * Whether a request failed at the connection (reset, closed while the answer was read) rather than
 * with an answer: under load a keep-alive connection can be reset. A client may resend such a
 * request only with an idempotency key (it may have been applied).
 */
export function isConnectionError(e: unknown): boolean {
  const err = e as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  if (!(e instanceof Error)) return false;
  const codes = ['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'];
  return (
    /fetch failed|terminated|other side closed|socket hang up/.test(err.message ?? '') ||
    codes.includes(err.code ?? '') ||
    codes.includes(err.cause?.code ?? '')
  );
}
