/** `npm run import`: see src/commands/import.ts. */
import { runCli } from './run';

runCli('import');
