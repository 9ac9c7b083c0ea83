/**
 * Entry of every command-line tool that needs the database (`npm run key:*`, `import`, `export`,
 * `seed`, `migrate`). With an embedded database (no DATABASE_URL) that a running gateway owns, the
 * command runs inside that gateway over its admin socket (src/admin/protocol.ts); otherwise it
 * opens the database itself. Loads nothing heavy before it knows which.
 */
import { configOrReport, loadConfig } from '../config';
import { adminSocketPath, dataDirOwner } from '../admin/protocol';
import type { CliIO } from '../commands/io';

function processIO(): CliIO {
  let interrupts = 0;
  // A closed pipe (`| head`) is not an error worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    env: process.env,
    inGateway: false,
    onInterrupt(handler) {
      const h = () => (++interrupts > 1 ? process.exit(130) : handler());
      process.on('SIGINT', h);
      return () => process.off('SIGINT', h);
    },
  };
}

async function inGateway(dataDir: string, command: string, argv: string[]): Promise<number | null> {
  const pid = dataDirOwner(dataDir);
  if (pid === null) return null;
  // Loaded only when needed: a tool talking to a running gateway never loads the database stack.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runInGateway } = require('./remote') as typeof import('./remote');
  return runInGateway(adminSocketPath(dataDir), dataDir, pid, command, argv);
}

async function main(command: string, argv: string[]): Promise<number> {
  const config = configOrReport(() => loadConfig());
  if (!config) return 1;
  const embeddedDir = !config.databaseUrl && config.dataDir !== 'memory://' ? config.dataDir : null;
  if (embeddedDir) {
    const code = await inGateway(embeddedDir, command, argv);
    if (code !== null) return code;
  }
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only when the command runs here (see inGateway) */
  const { COMMANDS } = require('../commands') as typeof import('../commands');
  const { runHere } = require('./local') as typeof import('./local');
  /* eslint-enable @typescript-eslint/no-require-imports */
  try {
    return await runHere(config, COMMANDS[command](), argv, processIO());
  } catch (e) {
    // A gateway took the data directory between the check and the open: ask it instead.
    if (embeddedDir && (e as Error).name === 'DataDirLockedError') {
      const code = await inGateway(embeddedDir, command, argv);
      if (code !== null) return code;
    }
    throw e;
  }
}

/** Runs the named command (src/cli/commands) with the process's arguments and exits with its code. */
export function runCli(command: string, argv: string[] = process.argv.slice(2)): void {
  main(command, argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${(e as Error)?.message ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
