/** Input limits (documented in docs/API.md) and the one text validator every service uses. */
import { ErrorCode, userError, type UserErrorShape } from './graphql/errors';

export const LIMITS = {
  name: 255,
  sku: 128,
  skuPattern: /^[\x21-\x7e]+$/, // printable ASCII, no spaces
  code: 64,
  codePattern: /^[A-Za-z0-9_.-]+$/,
  externalId: 128,
  address: 500,
  note: 255,
  reference: 255,
  idempotencyKey: 255,
  variantsPerProduct: 100,
  variantOptions: 20,
  reserveLines: 100,
  bulkItems: 500,
};

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export function validateText(
  value: string | null | undefined,
  field: (string | number)[],
  opts: { max: number; pattern?: RegExp; allowEmpty?: boolean },
): UserErrorShape[] {
  const name = String(field[field.length - 1]);
  if (value == null || (!opts.allowEmpty && value.trim() === '')) {
    return [userError(ErrorCode.INVALID_INPUT, `${name} must not be empty`, field)];
  }
  if (value.length > opts.max) return [userError(ErrorCode.INVALID_INPUT, `${name} must be at most ${opts.max} characters`, field)];
  if (CONTROL.test(value)) return [userError(ErrorCode.INVALID_INPUT, `${name} must not contain control characters`, field)];
  if (opts.pattern && !opts.pattern.test(value)) return [userError(ErrorCode.INVALID_INPUT, `${name} has invalid characters`, field)];
  return [];
}
