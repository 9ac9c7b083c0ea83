/**
 * What a command-line tool talks to: its output streams, working directory and Ctrl-C. A command
 * runs either in its own process (stdout/stderr are the process's) or inside a running embedded
 * gateway, over the admin socket (src/admin/): then the streams are relayed to the calling process.
 */
import type { Writable } from 'node:stream';
import type { App } from '../app';

export interface OutStream extends Writable {
  isTTY?: boolean;
  columns?: number;
}

export interface CliIO {
  stdout: OutStream;
  stderr: OutStream;
  /** The caller's working directory (relative file names are resolved against it). */
  cwd: string;
  /** The caller's npm_* variables (export warns when npm's banner went into its stdout). */
  env: Record<string, string | undefined>;
  /** Registers a handler for Ctrl-C; returns a function that unregisters it. */
  onInterrupt(handler: () => void): () => void;
  /** True when the command runs inside the gateway that owns the embedded database. */
  inGateway: boolean;
}

export interface CommandContext {
  argv: string[];
  io: CliIO;
  /** The database, opened (and migrated) on first use; in the gateway, the gateway's own. */
  app(): Promise<App>;
  /** Migrations applied when the database was opened for this command. */
  migrated(): string[];
}

/** Runs a command; resolves with its exit code. Errors are printed as one line, exit code 1. */
export type Command = (ctx: CommandContext) => Promise<number>;

/** A mistake of the caller (bad option, unknown store…): printed as its message alone. */
export class CliError extends Error {}
