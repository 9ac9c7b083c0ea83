/**
 * The schema documents itself (a description on every type, field, argument, input field and enum
 * value), and scripts/schema-check.js catches breaking changes that were not deprecated first.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isEnumType, isInputObjectType, isInterfaceType, isObjectType, isSpecifiedScalarType, type GraphQLSchema } from 'graphql';
import { getSchema } from '../../src/server/schema';

interface CheckResult {
  breaking: { type: string; path: string | null; message: string }[];
  allowed: { type: string; path: string | null; message: string; deprecation: string }[];
  dangerous: { message: string }[];
  safe: { message: string }[];
}
// Plain JS (runs in CI without a build).

const schemaCheck = require('../../scripts/schema-check.js') as {
  checkSchemas(oldSdl: string, newSdl: string): Promise<CheckResult>;
  main(argv: string[], out: { log(s: string): void; error(s: string): void }): Promise<number>;
};

function undocumented(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  const blank = (s: string | null | undefined) => !s || !s.trim();
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || isSpecifiedScalarType(type)) continue;
    if (blank(type.description)) missing.push(`type ${type.name}`);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (blank(field.description)) missing.push(`field ${type.name}.${field.name}`);
        for (const arg of field.args) if (blank(arg.description)) missing.push(`argument ${type.name}.${field.name}(${arg.name})`);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields()))
        if (blank(field.description)) missing.push(`input field ${type.name}.${field.name}`);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) if (blank(value.description)) missing.push(`enum value ${type.name}.${value.name}`);
    }
  }
  return missing;
}

test('every type, field, argument, input field and enum value has a description', async () => {
  // Root types included: ROOT_TYPE_DESCRIPTIONS (src/graphql/common.types.ts) is applied in src/server/schema.ts.
  expect(undocumented(await getSchema())).toEqual([]);
});

test('the check itself finds what is missing', async () => {
  const { buildSchema } = await import('graphql');
  const s = buildSchema(
    `"""Q""" type Query { """f""" f(a: Int): E, g: Int }  """E""" enum E { """x""" X, Y }  input I { p: Int }  type Mutation { """m""" m(i: I): Int }`,
  );
  expect(undocumented(s).sort()).toEqual(
    [
      'argument Mutation.m(i)',
      'argument Query.f(a)',
      'enum value E.Y',
      'field Query.g',
      'input field I.p',
      'type I',
      'type Mutation',
    ].sort(),
  );
});

describe('breaking-change check (scripts/schema-check.js)', () => {
  const OLD = `
    type Query {
      a: Int
      b: String @deprecated(reason: "Use a.")
      c(x: Int, y: Int @deprecated(reason: "Unused.")): Int
      d: Int
      e: Old @deprecated(reason: "Use a.")
      old(k: Int): Int @deprecated(reason: "Gone soon.")
    }
    type Old { z: Int }
    enum Color { RED GREEN @deprecated(reason: "No longer sold.") BLUE }
    input Filter { p: Int q: Int @deprecated(reason: "Ignored.") r: Int }
  `;
  const check = (next: string) => schemaCheck.checkSchemas(OLD, next);
  const base = (q: string, rest = 'enum Color { RED GREEN BLUE } input Filter { p: Int q: Int r: Int } type Old { z: Int }') =>
    `type Query { ${q} } ${rest}`;
  const FULL = 'a: Int b: String c(x: Int, y: Int): Int d: Int e: Old old(k: Int): Int';

  test('an added field passes', async () => {
    const r = await check(base(`${FULL} added: Int`));
    expect(r.breaking).toEqual([]);
    expect(r.safe.map((c) => c.message).join()).toMatch(/added/);
  });

  test('removing a field that was not deprecated fails', async () => {
    const r = await check(base(FULL.replace('d: Int', '')));
    expect(r.breaking).toEqual([expect.objectContaining({ type: 'FIELD_REMOVED', path: 'Query.d' })]);
  });

  test('removing a deprecated field passes (the deprecation is recorded in the old schema)', async () => {
    const r = await check(base(FULL.replace('b: String', '')));
    expect(r.breaking).toEqual([]);
    expect(r.allowed).toEqual([expect.objectContaining({ type: 'FIELD_REMOVED', path: 'Query.b', deprecation: 'deprecated: Use a.' })]);
  });

  test('changing a field type fails unless the field was deprecated', async () => {
    const changed = await check(base(FULL.replace('d: Int', 'd: String')));
    expect(changed.breaking).toEqual([expect.objectContaining({ type: 'FIELD_TYPE_CHANGED', path: 'Query.d' })]);
    const deprecated = await check(base(FULL.replace('b: String', 'b: Int')));
    expect(deprecated.breaking).toEqual([]);
  });

  test('arguments, enum values and input fields follow the same rule', async () => {
    const bad = await check(
      base(FULL.replace('c(x: Int, y: Int)', 'c(y: Int)'), 'enum Color { GREEN BLUE } input Filter { p: Int q: Int } type Old { z: Int }'),
    );
    expect(bad.breaking.map((c) => `${c.type} ${c.path}`).sort()).toEqual([
      'ENUM_VALUE_REMOVED Color.RED',
      'FIELD_ARGUMENT_REMOVED Query.c.x',
      'INPUT_FIELD_REMOVED Filter.r',
    ]);
    const good = await check(
      base(
        FULL.replace('c(x: Int, y: Int)', 'c(x: Int)').replace('old(k: Int)', 'old'),
        'enum Color { RED BLUE } input Filter { p: Int r: Int } type Old { z: Int }',
      ),
    );
    expect(good.breaking).toEqual([]);
    expect(good.allowed.map((c) => c.path).sort()).toEqual(['Color.GREEN', 'Filter.q', 'Query.c.y', 'Query.old.k']);
  });

  test('a type may go once only deprecated fields used it', async () => {
    const r = await check(base(FULL.replace('e: Old', ''), 'enum Color { RED GREEN BLUE } input Filter { p: Int q: Int r: Int }'));
    expect(r.breaking).toEqual([]);
    expect(r.allowed.map((c) => `${c.type} ${c.path}`).sort()).toEqual(['FIELD_REMOVED Query.e', 'TYPE_REMOVED Old']);
  });

  test('the CLI exits 1 on a breaking change and 0 otherwise', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'schema-check-'));
    try {
      fs.writeFileSync(path.join(dir, 'old.graphql'), OLD);
      fs.writeFileSync(path.join(dir, 'bad.graphql'), base(FULL.replace('a: Int', '')));
      fs.writeFileSync(path.join(dir, 'good.graphql'), base(`${FULL} z: Int`));
      const lines: string[] = [];
      const out = { log: (s: string) => lines.push(s), error: (s: string) => lines.push(s) };
      expect(await schemaCheck.main(['--old', path.join(dir, 'old.graphql'), '--new', path.join(dir, 'bad.graphql')], out)).toBe(1);
      expect(lines.join('\n')).toMatch(/BREAKING FIELD_REMOVED Query\.a/);
      expect(await schemaCheck.main(['--old', path.join(dir, 'old.graphql'), '--new', path.join(dir, 'good.graphql')], out)).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the repository schema has no unrecorded breaking change against the previous committed one', async () => {
    const lines: string[] = [];
    const code = await schemaCheck.main([], { log: (s) => lines.push(s), error: (s) => lines.push(s) });
    expect({ code, output: lines.join('\n') }).toEqual({ code: 0, output: expect.stringMatching(/^schema-check: /) });
  });
});
