/**
 * Two projects:
 *  - unit: pure logic under test/unit, no database, no server; runs in seconds (`npm run test:unit`).
 *  - e2e: real database (PostgreSQL when DATABASE_URL is set, embedded PGlite otherwise), real
 *    HTTP and WebSocket servers.
 */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] };
module.exports = {
  maxWorkers: 2,
  // Longest files first, also in a clean clone without jest's cache of durations (test/sequencer.js).
  testSequencer: '<rootDir>/test/sequencer.js',
  // Jest reads testTimeout from the root config only (the projects' own values are ignored): without
  // it, hooks such as a beforeAll starting a server got 5 s, too short on a loaded machine.
  testTimeout: 60000,
  verbose: false,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
      transform,
      setupFiles: ['reflect-metadata'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      roots: ['<rootDir>/test/e2e'],
      testMatch: ['**/*.test.ts'],
      transform,
      setupFiles: ['reflect-metadata'],
    },
  ],
};
