/**
 * `.ci/run` runs the e2e suite twice, on PostgreSQL and then on PGlite, and sets
 * MODE_INDEPENDENT_TESTS_RAN=1 for the second run: the tests declared through this (code
 * generation, compiling, packaging: nothing in them depends on the database mode) ran, identically,
 * in the first, and are skipped in the second. Any other run (`npm test` alone) runs them.
 */
export const modeIndependent =
  process.env.MODE_INDEPENDENT_TESTS_RAN === '1' ? { describe: describe.skip, test: test.skip } : { describe, test };
