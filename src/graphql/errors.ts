/**
 * Errors. Business failures are `userErrors` in mutation payloads with a stable ErrorCode.
 * Unexpected failures become GraphQLErrors with `extensions.code`; internals never leak.
 */
import { GraphQLError } from 'graphql';

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
  SHIP_TO_NOT_SERVED = 'SHIP_TO_NOT_SERVED',
  TOO_MANY_ITEMS = 'TOO_MANY_ITEMS',
  TAKEN = 'TAKEN',
  IDEMPOTENCY_KEY_REUSED = 'IDEMPOTENCY_KEY_REUSED',
  IDEMPOTENCY_KEY_IN_PROGRESS = 'IDEMPOTENCY_KEY_IN_PROGRESS',
  WEBHOOK_NOT_FOUND = 'WEBHOOK_NOT_FOUND',
  WEBHOOK_DELIVERY_NOT_FOUND = 'WEBHOOK_DELIVERY_NOT_FOUND',
  WEBHOOK_URL_FORBIDDEN = 'WEBHOOK_URL_FORBIDDEN',
  INBOUND_SHIPMENT_NOT_FOUND = 'INBOUND_SHIPMENT_NOT_FOUND',
  INBOUND_LINE_NOT_FOUND = 'INBOUND_LINE_NOT_FOUND',
  INBOUND_SHIPMENT_CLOSED = 'INBOUND_SHIPMENT_CLOSED',
  OVER_RECEIPT = 'OVER_RECEIPT',
  QUANTITY_BELOW_RECEIVED = 'QUANTITY_BELOW_RECEIVED',
  INCOMING_BELOW_OPEN_INBOUND = 'INCOMING_BELOW_OPEN_INBOUND',
  TRANSFER_NOT_FOUND = 'TRANSFER_NOT_FOUND',
  TRANSFER_LINE_NOT_FOUND = 'TRANSFER_LINE_NOT_FOUND',
  TRANSFER_CLOSED = 'TRANSFER_CLOSED',
  EXCEEDS_IN_TRANSIT = 'EXCEEDS_IN_TRANSIT',
  PREORDERS_UNCOVERED = 'PREORDERS_UNCOVERED',
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
  'QUOTA_EXCEEDED',
  'NOT_FOUND',
  'CURSOR_EXPIRED',
  'VALUE_OUT_OF_RANGE',
  'SUBSCRIPTION_LIMIT',
]);

export const unauthenticated = (message = 'A valid API key is required: send "Authorization: Bearer <key>"') =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

export const forbidden = (scope: string) =>
  new GraphQLError(`This operation requires the "${scope}" scope`, {
    extensions: { code: 'FORBIDDEN', requiredScope: scope, http: { status: 403 } },
  });

export const badInput = (message: string, extra: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...extra } });

// Database failures are the data layer's (src/db/errors.ts); re-exported for the API layer.
export { UnavailableError, isTransientDbError } from '../db/errors';
