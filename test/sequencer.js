/**
 * The order in which jest starts the test files (jest.config.js `testSequencer`): longest first, so
 * that no worker sits idle at the end while the other still runs a long file.
 *
 * Jest's own sequencer does this only with its cache of the previous run's durations; in a clean
 * clone (CI) it has none and starts the largest FILES first, and some short files run long (a
 * 36-line soak of 20 s, the 150-line bench smoke of ~50 s): started last, they ran alone at the end.
 * Here a file's duration is, in this order: jest's cached duration, the estimate in
 * test/durations.json (seconds, from a measured run; refresh it with `node test/sequencer.js
 * <jest --json output>...` when files are added or change a lot), or 1 s for a file not listed.
 * A file that failed last time still goes first, as with jest's.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const ROOT = path.resolve(__dirname, '..');
const ESTIMATES = path.join(__dirname, 'durations.json');
const rel = (p) => path.relative(ROOT, p).split(path.sep).join('/');

class LongestFirst extends Sequencer {
  sort(tests) {
    const estimates = JSON.parse(fs.readFileSync(ESTIMATES, 'utf8'));
    const seconds = (t) => {
      const cached = this.time(t);
      return cached != null ? cached / 1000 : (estimates[rel(t.path)] ?? 1);
    };
    const keyed = tests.map((t) => ({ t, failed: this.hasFailed(t), s: seconds(t) }));
    keyed.sort((a, b) => Number(b.failed) - Number(a.failed) || b.s - a.s || (a.t.path < b.t.path ? -1 : 1));
    return keyed.map((k) => k.t);
  }
}

module.exports = LongestFirst;

// `node test/sequencer.js a.json b.json`: writes test/durations.json from jest --json outputs (the
// longest duration of each file over them, rounded up to whole seconds).
if (require.main === module) {
  const out = {};
  for (const file of process.argv.slice(2)) {
    for (const r of JSON.parse(fs.readFileSync(file, 'utf8')).testResults) {
      const s = Math.ceil((r.endTime - r.startTime) / 1000);
      const k = rel(r.name);
      out[k] = Math.max(out[k] ?? 0, s);
    }
  }
  const sorted = Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
  fs.writeFileSync(ESTIMATES, JSON.stringify(sorted, null, 2) + '\n');
}
