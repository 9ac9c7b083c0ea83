/** A bad configuration value: one line naming the variable; the process exits with code 1. */
export class ConfigError extends Error {
  constructor(
    public readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

/**
 * Runs loadConfig (or anything that may throw ConfigError): on a ConfigError prints its one line on
 * stderr and returns null, so that the caller exits with code 1; anything else is rethrown.
 */
export function configOrReport<T>(load: () => T, stderr: { write(s: string): unknown } = process.stderr): T | null {
  try {
    return load();
  } catch (e) {
    if (e instanceof ConfigError) {
      stderr.write(`${e.message}\n`);
      return null;
    }
    throw e;
  }
}
