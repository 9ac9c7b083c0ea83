/** `npm run key:create`, `key:list`, `key:revoke`: see src/commands/keys.ts. */
import { runCli } from './run';

runCli('keys');
