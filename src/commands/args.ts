/**
 * Command-line arguments of every CLI, parsed by `node:util` `parseArgs`, with the project's own
 * one-line messages for bad usage (followed by the usage text; the command exits with code 1):
 *   `unknown option ARG`, `--NAME needs a value`; `--help` / `-h` prints the usage.
 * A value option takes the next argument as its value (`--note --json` sets note to "--json")
 * or an inline one (`--note=text`).
 */
import { parseArgs } from 'node:util';

export interface ArgSpec {
  /** Options that take a value. */
  strings: readonly string[];
  /** Options that take none. */
  booleans?: readonly string[];
  usage: string;
  /** The command's own error class (its message is printed; exit code 1). */
  error: (message: string) => Error;
}

export interface CliArgs {
  values: Record<string, string | undefined>;
  flags: Set<string>;
  positionals: string[];
}

export function parseCliArgs(argv: string[], spec: ArgSpec): CliArgs {
  const booleans = spec.booleans ?? [];
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const name of spec.strings) options[name] = { type: 'string' };
  for (const name of booleans) options[name] = { type: 'boolean' };
  // strict: false so that every mistake gets our message rather than node's; checked token by token.
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const fail = (message: string) => spec.error(`${message}\n${spec.usage}`);
  const values: Record<string, string | undefined> = {};
  const flags = new Set<string>();
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') continue;
    if (t.name === 'help' && t.value === undefined) throw spec.error(spec.usage);
    if (spec.strings.includes(t.name)) {
      if (t.value === undefined || t.value === '') throw fail(`--${t.name} needs a value`);
      values[t.name] = t.value;
    } else if (booleans.includes(t.name) && t.value === undefined) flags.add(t.name);
    else throw fail(`unknown option ${argv[t.index]}`);
  }
  return { values, flags, positionals };
}
