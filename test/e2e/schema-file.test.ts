import fs from 'node:fs';
import path from 'node:path';
import { schemaSdl } from '../../src/server/schema';

test('schema.graphql is what the code emits (run `npm run schema:emit` after changing types)', async () => {
  const file = fs.readFileSync(path.join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
  expect(file).toBe(await schemaSdl());
});
