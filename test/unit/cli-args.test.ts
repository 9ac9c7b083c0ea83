/** The CLIs' argument parsing (node:util parseArgs) keeps the project's one-line usage errors. */
import { parseCliArgs, type ArgSpec } from '../../src/commands/args';

class UsageError extends Error {}
const SPEC: ArgSpec = { strings: ['mode', 'note'], booleans: ['json'], usage: 'usage: x FILE', error: (m) => new UsageError(m) };
const fails = (argv: string[]): string => {
  try {
    parseCliArgs(argv, SPEC);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
};

test('values, inline values, booleans and positionals', () => {
  const r = parseCliArgs(['f.csv', '--mode', 'set', '--note=a b', '--json'], SPEC);
  expect(r).toEqual({ values: { mode: 'set', note: 'a b' }, flags: new Set(['json']), positionals: ['f.csv'] });
  // A value option takes the next argument whatever it looks like; the last one given wins.
  expect(parseCliArgs(['--note', '--json', '--mode', 'a', '--mode', 'b'], SPEC).values).toEqual({ note: '--json', mode: 'b' });
  expect(parseCliArgs(['-'], SPEC).positionals).toEqual(['-']);
  expect(parseCliArgs(['a', '--', '--json'], SPEC).positionals).toEqual(['a', '--json']);
});

test('bad usage is one message followed by the usage', () => {
  expect(fails(['--bogus'])).toBe('unknown option --bogus\nusage: x FILE');
  expect(fails(['--bogus=1'])).toBe('unknown option --bogus=1\nusage: x FILE');
  expect(fails(['--json=yes'])).toBe('unknown option --json=yes\nusage: x FILE');
  expect(fails(['--mode'])).toBe('--mode needs a value\nusage: x FILE');
  expect(fails(['--mode='])).toBe('--mode needs a value\nusage: x FILE');
  expect(fails(['--help'])).toBe('usage: x FILE');
  expect(fails(['f', '-h'])).toBe('usage: x FILE');
});
