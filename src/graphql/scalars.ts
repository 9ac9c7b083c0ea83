import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { DateTimeISOResolver } from 'graphql-scalars';

/** ISO-8601 date-time (UTC). */
export const DateTime = DateTimeISOResolver;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toInt64(v: unknown): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else if (typeof v === 'string' && /^-?[0-9]{1,19}$/.test(v)) b = BigInt(v);
  else throw new GraphQLError(`Int64 cannot represent ${JSON.stringify(String(v))}: give base-10 digits`);
  if (b < INT64_MIN || b > INT64_MAX) throw new GraphQLError('Int64 is out of range');
  return b;
}

/**
 * Signed 64-bit integer for sums of stock counters, serialized as a string of base-10 digits so
 * that every value is exact in every JSON parser (like Shopify's UnsignedInt64). Accepts a string
 * or a safe JSON integer as input.
 */
export const Int64 = new GraphQLScalarType<bigint, string>({
  name: 'Int64',
  description:
    'A signed 64-bit integer, serialized as a string of base-10 digits (e.g. "2400000000") so that it is exact in every JSON parser. Used for sums of stock counters, which can exceed Int (32-bit).',
  serialize: (v) => toInt64(v).toString(),
  parseValue: (v) => toInt64(v),
  parseLiteral: (ast) => {
    if (ast.kind === Kind.STRING || ast.kind === Kind.INT) return toInt64(ast.value);
    throw new GraphQLError('Int64 takes a string of base-10 digits');
  },
});

export const INT32_MAX_BIG = 2147483647n;

/**
 * A sum for a deprecated Int field: exact while it fits, else a public VALUE_OUT_OF_RANGE error
 * naming the Int64 field to read instead (never GraphQL's own INTERNAL_SERVER_ERROR).
 */
export function int32Total(v: bigint, replacement: string): number {
  if (v > INT32_MAX_BIG || v < -INT32_MAX_BIG - 1n) {
    throw new GraphQLError(`The value ${v} does not fit in Int (32-bit); read ${replacement} (Int64) instead`, {
      extensions: { code: 'VALUE_OUT_OF_RANGE', value: v.toString(), replacement },
    });
  }
  return Number(v);
}

/** An Int total kept for compatibility: exact while it fits in 32 bits; `totals` is always exact. */
export const deprecatedTotal = (field: string) => ({
  description: `Sum of ${field}, as Int.`,
  deprecationReason: `Int is 32-bit: above 2147483647 this field is an error (VALUE_OUT_OF_RANGE). Use totals { ${field} } (Int64, exact at any size).`,
});

/** Exact decimal numbers (money), as strings: "7.5". Input: a string of digits with an optional point (or a JSON number). */
export const Decimal = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  description: 'An exact decimal number as a string, e.g. "7.50" (used for money amounts, never rounded through floating point).',
  serialize: (v) => String(v),
  parseValue: (v) => {
    if (typeof v === 'string' && /^-?[0-9]+(\.[0-9]+)?$/.test(v)) return v;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    throw new GraphQLError('Decimal takes a string such as "7.50"');
  },
  parseLiteral: (ast) => {
    if ((ast.kind === Kind.STRING && /^-?[0-9]+(\.[0-9]+)?$/.test(ast.value)) || ast.kind === Kind.INT || ast.kind === Kind.FLOAT)
      return ast.value;
    throw new GraphQLError('Decimal takes a string such as "7.50"');
  },
});
