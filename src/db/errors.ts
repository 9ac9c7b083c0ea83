/**
 * The data layer's own errors: whether a failure means "the database could not do it now". The
 * API layer (src/graphql/errors.ts) maps these to UNAVAILABLE; nothing here knows about GraphQL.
 */

/** The database is unreachable or overloaded: the client should retry. */
export class UnavailableError extends Error {
  constructor(
    message = 'The service is temporarily unavailable; retry the request',
    public readonly retryAfterMs = 1000,
  ) {
    super(message);
    this.name = 'UnavailableError';
  }
}

const UNAVAILABLE_PG_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
  '40001',
  '40P01',
  '57014',
  '55P03',
]);

/** Whether an error means "the database could not do it now" (connection lost, timeouts, contention). */
export function isTransientDbError(e: unknown): boolean {
  const err = e as { code?: string; message?: string; cause?: unknown };
  if (!err) return false;
  if (err instanceof UnavailableError) return true;
  if (typeof err.code === 'string' && UNAVAILABLE_PG_CODES.has(err.code)) return true;
  if (typeof err.code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND'].includes(err.code)) return true;
  const m = err.message ?? '';
  if (
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection|Connection ended|not queryable/i.test(
      m,
    )
  )
    return true;
  if (err.cause && err.cause !== e) return isTransientDbError(err.cause);
  return false;
}
