/** The commands that need the database, by name; loaded on first use (the CLI entry stays light). */
import type { Command } from './io';

/* eslint-disable @typescript-eslint/no-require-imports */
export const COMMANDS: Record<string, () => Command> = {
  keys: () => (require('./keys') as typeof import('./keys')).run,
  import: () => (require('./import') as typeof import('./import')).run,
  export: () => (require('./export') as typeof import('./export')).run,
  seed: () => (require('./seed') as typeof import('./seed')).run,
  migrate: () => (require('./migrate') as typeof import('./migrate')).run,
};
