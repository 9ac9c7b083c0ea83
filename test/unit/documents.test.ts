import { hasNul, preflight, tooDeep } from '../../src/graphql/documents';

describe('preflight of documents', () => {
  test('nesting is counted outside strings, block strings and comments', () => {
    expect(tooDeep('{ a { b { c } } }', 3)).toBe(false);
    expect(tooDeep('{ a { b { c { d } } } }', 3)).toBe(true);
    expect(tooDeep(`{ a(s: "${'{'.repeat(100)}") }`, 3)).toBe(false);
    expect(tooDeep(`{ a(s: """${'['.repeat(100)}""") }`, 3)).toBe(false);
    expect(tooDeep(`{ a } # ${'('.repeat(100)}\n`, 3)).toBe(false);
    expect(tooDeep(`{ a(s: "x\\"${'{'.repeat(100)}") }`, 3)).toBe(false);
    expect(tooDeep(`query($a: [Int] = ${'['.repeat(2000)}${']'.repeat(2000)}) { a }`)).toBe(true);
  });

  test('NUL anywhere in the variables, keys included', () => {
    expect(hasNul({ a: ['x', { b: 'y\u0000' }] })).toBe(true);
    expect(hasNul({ ['k\u0000']: 1 })).toBe(true);
    expect(hasNul({ a: 'ok', n: 1, z: null })).toBe(false);
  });

  test('one verdict in a defined order: NUL, then nesting, then tokens', () => {
    const cfg = { maxTokens: 20 };
    expect(preflight('{ a }', { s: '\u0000' }, cfg)?.message).toMatch(/NUL/);
    expect(preflight('['.repeat(200), {}, cfg)?.message).toMatch(/nests deeper/);
    expect(preflight(`{ ${'a '.repeat(50)} }`, {}, cfg)?.message).toMatch(/more than 20 tokens/);
    expect(preflight('{ a }', {}, cfg)).toBeNull();
    expect(preflight('{ a', {}, cfg)).toBeNull(); // a syntax error is the parser's to report
  });
});
