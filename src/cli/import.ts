/** `npm run import`: see src/cli/commands/import.ts. */
import { runCli } from './run';

runCli('import');
