import 'reflect-metadata';
import { GraphQLObjectType, GraphQLNonNull, GraphQLSchema, GraphQLString, GraphQLBoolean, Kind, graphqlSync, printSchema } from 'graphql';
import { nullMeansDefault } from '../../src/server/schema';
import { Decimal, Int64, int32Total } from '../../src/graphql/scalars';
import { moneyOf, validatePrice } from '../../src/modules/catalog';

describe('Int64 (exact totals)', () => {
  it('serializes bigints, safe numbers and digit strings as strings of digits, exactly', () => {
    expect(Int64.serialize(2400000000n)).toBe('2400000000');
    expect(Int64.serialize(9007199254740993n)).toBe('9007199254740993');
    expect(Int64.serialize(-5)).toBe('-5');
    expect(Int64.serialize('123')).toBe('123');
    expect(() => Int64.serialize(1.5)).toThrow();
    expect(() => Int64.serialize(2n ** 63n)).toThrow(/out of range/);
    expect(Int64.parseLiteral({ kind: Kind.STRING, value: '42' } as never, {})).toBe(42n);
  });
  it('int32Total answers exactly while it fits, else VALUE_OUT_OF_RANGE naming the replacement', () => {
    expect(int32Total(2147483647n, 'totals.onHand')).toBe(2147483647);
    try {
      int32Total(2400000000n, 'totals.onHand');
      throw new Error('no error');
    } catch (e) {
      expect((e as { extensions: Record<string, unknown> }).extensions).toMatchObject({
        code: 'VALUE_OUT_OF_RANGE',
        value: '2400000000',
        replacement: 'totals.onHand',
      });
    }
  });
});

describe('prices', () => {
  it('validates amount (≥ 0, ≤ 11 + 4 digits) and ISO 4217 currency', () => {
    expect(validatePrice({ amount: '7.50', currencyCode: 'EUR' }, ['p'])).toEqual([]);
    expect(validatePrice({ amount: '99999999999.9999', currencyCode: 'USD' }, ['p'])).toEqual([]);
    expect(validatePrice(null, ['p'])).toEqual([]);
    expect(validatePrice({ amount: '-1', currencyCode: 'EUR' }, ['p']).map((e) => e.field)).toEqual([['p', 'amount']]);
    expect(validatePrice({ amount: '1.23456', currencyCode: 'EUR' }, ['p']).map((e) => e.field)).toEqual([['p', 'amount']]);
    expect(validatePrice({ amount: '123456789012', currencyCode: 'EUR' }, ['p']).map((e) => e.field)).toEqual([['p', 'amount']]);
    expect(validatePrice({ amount: '1', currencyCode: 'eur' }, ['p']).map((e) => e.field)).toEqual([['p', 'currencyCode']]);
  });
  it('reads stored amounts without trailing zeros', () => {
    expect(moneyOf({ priceAmount: '750.0000', priceCurrency: 'BDT' })).toEqual({ amount: '750', currencyCode: 'BDT' });
    expect(moneyOf({ priceAmount: '0.5000', priceCurrency: 'EUR' })).toEqual({ amount: '0.5', currencyCode: 'EUR' });
    expect(moneyOf({ priceAmount: '10', priceCurrency: 'EUR' })).toEqual({ amount: '10', currencyCode: 'EUR' });
    expect(moneyOf({ priceAmount: null, priceCurrency: null })).toBeNull();
    expect(Decimal.serialize('7.5')).toBe('7.5');
  });
});

describe('nullMeansDefault', () => {
  it('widens non-null arguments with a default and hands the default to the resolver for an explicit null', () => {
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({
        name: 'Query',
        fields: {
          echo: {
            type: GraphQLString,
            args: {
              sortKey: { type: new GraphQLNonNull(GraphQLString), defaultValue: 'NAME' },
              reverse: { type: new GraphQLNonNull(GraphQLBoolean), defaultValue: false },
            },
            resolve: (_r, a: { sortKey: string; reverse: boolean }) => `${a.sortKey}:${a.reverse}`,
          },
        },
      }),
    });
    nullMeansDefault(schema);
    expect(printSchema(schema)).toContain('echo(sortKey: String = "NAME", reverse: Boolean = false): String');
    expect(graphqlSync({ schema, source: '{ echo(sortKey: null, reverse: null) }' }).data).toEqual({ echo: 'NAME:false' });
    expect(graphqlSync({ schema, source: 'query($s: String) { echo(sortKey: $s) }', variableValues: { s: null } }).data).toEqual({
      echo: 'NAME:false',
    });
    expect(graphqlSync({ schema, source: '{ echo(sortKey: "SKU", reverse: true) }' }).data).toEqual({ echo: 'SKU:true' });
  });
});
