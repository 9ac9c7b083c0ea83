/**
 * The layers of src/, top to bottom: the one definition that both the lint rules (eslint.config.mjs,
 * import-x/no-restricted-paths) and the architecture test (test/unit/architecture.test.ts, which also
 * counts `import type`) read. A file may import files of its own layer and of the layers BELOW it,
 * never above. docs/ARCHITECTURE.md draws the same picture.
 *
 * Each layer lists path prefixes relative to the repository root ('src/db/' is a folder,
 * 'src/app.ts' a file). A file belongs to the first layer, from the top, with a matching prefix.
 */
const LAYERS = [
  { name: 'entry', paths: ['src/main.ts', 'src/startup-error.ts', 'src/cli/'] },
  { name: 'server', paths: ['src/server.ts', 'src/server/', 'src/http/', 'src/admin/'] },
  { name: 'commands', paths: ['src/commands/'] },
  { name: 'modules', paths: ['src/modules/'] },
  { name: 'stock-core', paths: ['src/modules/stock/'] },
  { name: 'graphql-kit', paths: ['src/graphql/', 'src/validation.ts'] },
  { name: 'app', paths: ['src/app.ts'] },
  { name: 'events', paths: ['src/events/'] },
  { name: 'db', paths: ['src/db/', 'src/generated/'] },
  { name: 'observability', paths: ['src/observability/', 'src/log.ts'] },
  { name: 'base', paths: ['src/config.ts', 'src/config/', 'src/paths.ts', 'src/util/'] },
];

/** The layer of a repository-relative path (the longest matching prefix wins), or undefined. */
function layerOf(file) {
  let best;
  for (const [rank, l] of LAYERS.entries())
    for (const p of l.paths)
      if ((file === p || (p.endsWith('/') && file.startsWith(p))) && (!best || p.length > best.prefix.length))
        best = { rank, name: l.name, prefix: p };
  return best;
}

/** The feature module of a file under src/modules/<name>/, or undefined. */
function moduleOf(file) {
  const m = /^src\/modules\/([^/]+)\//.exec(file);
  return m ? m[1] : undefined;
}

module.exports = { LAYERS, layerOf, moduleOf };
