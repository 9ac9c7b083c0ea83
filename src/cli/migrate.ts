/** `npm run migrate`: see src/cli/commands/migrate.ts. */
import { runCli } from './run';

runCli('migrate');
