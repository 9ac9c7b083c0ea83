/** `npm run migrate`: see src/commands/migrate.ts. */
import { runCli } from './run';

runCli('migrate');
