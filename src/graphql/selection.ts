/**
 * Look-ahead into a field's selection: lets a resolver fetch nested data together with its own
 * rows when (and only when) the query asks for it.
 */
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * Whether the selection of the resolved field reaches `path` (field names, through fragments and
 * inline fragments). @skip/@include are not evaluated, so it may say yes for a skipped field:
 * callers may over-fetch, never under-fetch.
 */
export function selects(info: GraphQLResolveInfo, path: readonly string[]): boolean {
  const walk = (sets: readonly SelectionSetNode[], depth: number): boolean => {
    const next: SelectionSetNode[] = [];
    const visit = (set: SelectionSetNode, seen: Set<string>): boolean => {
      for (const s of set.selections) {
        if (s.kind === Kind.FIELD) {
          if (s.name.value !== path[depth]) continue;
          if (depth === path.length - 1) return true;
          if (s.selectionSet) next.push(s.selectionSet);
        } else if (s.kind === Kind.INLINE_FRAGMENT) {
          if (visit(s.selectionSet, seen)) return true;
        } else {
          const name = s.name.value;
          const frag = info.fragments[name];
          if (frag && !seen.has(name)) {
            seen.add(name);
            if (visit(frag.selectionSet, seen)) return true;
          }
        }
      }
      return false;
    };
    for (const set of sets) if (visit(set, new Set())) return true;
    return next.length > 0 && walk(next, depth + 1);
  };
  if (path.length === 0) return true;
  return walk(
    info.fieldNodes.flatMap((f) => (f.selectionSet ? [f.selectionSet] : [])),
    0,
  );
}
