/** `npm run export`: see src/commands/export.ts. */
import { runCli } from './run';

runCli('export');
