/**
 * Errors. Business failures are `userErrors` in mutation payloads with a stable ErrorCode.
 * Unexpected failures become GraphQLErrors with `extensions.code`; internals never leak.
 */
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../log';

export enum ErrorCode {
  INVALID_INPUT = 'INVALID_INPUT',
  PRODUCT_NOT_FOUND = 'PRODUCT_NOT_FOUND',
  VARIANT_NOT_FOUND = 'VARIANT_NOT_FOUND',
  VARIANT_LABEL_AMBIGUOUS = 'VARIANT_LABEL_AMBIGUOUS',
  WAREHOUSE_NOT_FOUND = 'WAREHOUSE_NOT_FOUND',
  INVENTORY_NOT_FOUND = 'INVENTORY_NOT_FOUND',
  RESERVATION_NOT_FOUND = 'RESERVATION_NOT_FOUND',
  RESERVATION_LINE_NOT_FOUND = 'RESERVATION_LINE_NOT_FOUND',
  READONLY_WAREHOUSE = 'READONLY_WAREHOUSE',
  INACTIVE_WAREHOUSE = 'INACTIVE_WAREHOUSE',
  SAME_WAREHOUSE = 'SAME_WAREHOUSE',
  INSUFFICIENT_STOCK = 'INSUFFICIENT_STOCK',
  NEGATIVE_QUANTITY = 'NEGATIVE_QUANTITY',
  QUANTITY_BELOW_RESERVED = 'QUANTITY_BELOW_RESERVED',
  QUANTITY_OUT_OF_RANGE = 'QUANTITY_OUT_OF_RANGE',
  COMPARE_QUANTITY_STALE = 'COMPARE_QUANTITY_STALE',
  EXCEEDS_RESERVED = 'EXCEEDS_RESERVED',
  RESERVATION_EXPIRED = 'RESERVATION_EXPIRED',
  RESERVATION_NOT_ACTIVE = 'RESERVATION_NOT_ACTIVE',
  INVALID_TTL = 'INVALID_TTL',
  TOO_MANY_ITEMS = 'TOO_MANY_ITEMS',
  TAKEN = 'TAKEN',
  IDEMPOTENCY_KEY_REUSED = 'IDEMPOTENCY_KEY_REUSED',
  IDEMPOTENCY_KEY_IN_PROGRESS = 'IDEMPOTENCY_KEY_IN_PROGRESS',
  WEBHOOK_NOT_FOUND = 'WEBHOOK_NOT_FOUND',
  WEBHOOK_DELIVERY_NOT_FOUND = 'WEBHOOK_DELIVERY_NOT_FOUND',
}

export interface UserErrorShape {
  code: ErrorCode;
  field: string[] | null;
  message: string;
}

export function userError(code: ErrorCode, message: string, field: (string | number)[] | null = null): UserErrorShape {
  return { code, message, field: field ? field.map(String) : null };
}

/** Codes of GraphQLErrors that may reach clients as they are. */
export const PUBLIC_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
  'UNAVAILABLE',
  'MAX_COST_EXCEEDED',
  'THROTTLED',
  'NOT_FOUND',
  'CURSOR_EXPIRED',
  'VALUE_OUT_OF_RANGE',
]);

export const unauthenticated = (message = 'A valid API key is required: send "Authorization: Bearer <key>"') =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

export const forbidden = (scope: string) =>
  new GraphQLError(`This operation requires the "${scope}" scope`, { extensions: { code: 'FORBIDDEN', requiredScope: scope, http: { status: 403 } } });

export const badInput = (message: string, extra: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...extra } });

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

const UNAVAILABLE_PG_CODES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08003', '08006', '08001', '08004', '40001', '40P01', '57014', '55P03']);

/** Whether an error means "the database could not do it now" (connection lost, timeouts, contention). */
export function isTransientDbError(e: unknown): boolean {
  const err = e as { code?: string; message?: string; cause?: unknown };
  if (!err) return false;
  if (err instanceof UnavailableError) return true;
  if (typeof err.code === 'string' && UNAVAILABLE_PG_CODES.has(err.code)) return true;
  if (typeof err.code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND'].includes(err.code)) return true;
  const m = err.message ?? '';
  if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection|Connection ended|not queryable/i.test(m)) return true;
  if (err.cause && err.cause !== e) return isTransientDbError(err.cause);
  return false;
}

/** Apollo formatError: keeps public errors, maps transient DB failures to UNAVAILABLE, hides the rest. */
export function makeFormatError(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code as string | undefined;
    if (code && PUBLIC_CODES.has(code)) {
      const { stacktrace: _s, ...ext } = formatted.extensions ?? {};
      return { ...formatted, extensions: ext };
    }
    const original = (error as { originalError?: unknown })?.originalError ?? error;
    if (isTransientDbError(original)) {
      const retryAfterMs = original instanceof UnavailableError ? original.retryAfterMs : 1000;
      return {
        message: 'The service is temporarily unavailable; retry the request',
        path: formatted.path,
        extensions: { code: 'UNAVAILABLE', retryable: true, retryAfterMs },
      };
    }
    log.error('unexpected error', { err: original instanceof Error ? { message: original.message, stack: original.stack } : String(original), path: formatted.path });
    return { message: 'Internal server error', path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}
