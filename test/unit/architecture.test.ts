/**
 * The dependency rules of docs/ARCHITECTURE.md, checked on the import graph of src/ — every import,
 * `import type` included (ESLint's import-x/no-cycle skips type-only imports; a type-only cycle is
 * still two modules that cannot be understood or moved apart):
 *  - no cycles between files;
 *  - layers point one way (scripts/architecture.cjs): a file never imports a layer above its own;
 *  - a feature module reaches another module only through that module's index.ts (or graphql.ts,
 *    its GraphQL types).
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const { layerOf, moduleOf, LAYERS } = require('../../scripts/architecture.cjs') as {
  LAYERS: { name: string; paths: string[] }[];
  layerOf(file: string): { rank: number; name: string } | undefined;
  moduleOf(file: string): string | undefined;
};

const ROOT = path.resolve(__dirname, '../..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      if (rel !== 'src/generated') out.push(...sourceFiles(rel));
    } else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const c of [`${base}.ts`, `${base}/index.ts`, base])
    if (fs.existsSync(path.join(ROOT, c)) && fs.statSync(path.join(ROOT, c)).isFile()) return c;
  return undefined;
}

/** file → the files of src/ it imports (type-only imports and re-exports included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles('src')) {
    const info = ts.preProcessFile(fs.readFileSync(path.join(ROOT, file), 'utf8'), true, true);
    const deps = info.importedFiles
      .map((f) => resolveImport(file, f.fileName))
      .filter((d): d is string => !!d && !d.startsWith('src/generated/'));
    graph.set(file, [...new Set(deps)]);
  }
  return graph;
}

/** Strongly connected components with more than one file (Tarjan). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('architecture: the import graph of src/', () => {
  const graph = importGraph();

  it('reads a real graph (sanity: many files, many edges)', () => {
    expect(graph.size).toBeGreaterThan(80);
    expect([...graph.values()].reduce((n, d) => n + d.length, 0)).toBeGreaterThan(200);
  });

  it('the cycle finder finds a planted cycle (a → b → c → a) and nothing in a chain', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
    ]);
    expect(cycles(g)).toEqual([['a', 'b', 'c']]);
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('has no import cycles, type-only imports included', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('places every file of src/ in a layer', () => {
    expect([...graph.keys()].filter((f) => !layerOf(f))).toEqual([]);
  });

  it('never imports a layer above its own', () => {
    const bad: string[] = [];
    for (const [file, deps] of graph) {
      const from = layerOf(file)!;
      for (const d of deps) {
        const to = layerOf(d)!;
        if (to.rank < from.rank) bad.push(`${file} (${from.name}) → ${d} (${to.name})`);
      }
    }
    expect(bad).toEqual([]);
    expect(LAYERS.length).toBeGreaterThan(5);
  });

  it('reaches another feature module only through its public files (index.ts; graphql.ts for its GraphQL types)', () => {
    const bad: string[] = [];
    for (const [file, deps] of graph) {
      const m = moduleOf(file);
      if (!m) continue;
      for (const d of deps) {
        const n = moduleOf(d);
        if (n && n !== m && !d.endsWith(`/modules/${n}/index.ts`) && !d.endsWith(`/modules/${n}/graphql.ts`)) bad.push(`${file} → ${d}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
