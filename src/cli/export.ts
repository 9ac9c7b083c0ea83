/** `npm run export`: see src/cli/commands/export.ts. */
import { runCli } from './run';

runCli('export');
