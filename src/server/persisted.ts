/** The byte-bounded document caches: automatic persisted queries and Apollo's document store. */
import { InMemoryLRUCache, type KeyValueCache } from '@apollo/utils.keyvaluecache';
import type { DocumentNode } from 'graphql';

/** Bytes of persisted documents kept (automatic persisted queries, registered by authenticated callers only). */
const PERSISTED_CACHE_BYTES = 8 * 1024 * 1024;
/** Bytes of parsed and validated documents kept (Apollo's document store; a document's source text counts). */
const DOCUMENT_STORE_BYTES = 16 * 1024 * 1024;

/**
 * Automatic persisted queries (Apollo's `apq:<sha256>` keys), with the trusted documents served
 * first: clients may send only their hash, and they are never stored again nor evicted.
 */
export function persistedQueryCache(trusted: Map<string, string>): KeyValueCache<string> {
  const lru = new InMemoryLRUCache<string>({ maxSize: PERSISTED_CACHE_BYTES, sizeCalculation: (v) => v.length * 2 + 64 });
  const strip = (k: string) => k.replace(/^apq:/, '');
  return {
    async get(key: string) {
      return trusted.get(strip(key)) ?? lru.get(key);
    },
    async set(key: string, value: string) {
      if (!trusted.has(strip(key))) await lru.set(key, value);
    },
    async delete(key: string) {
      await lru.delete(key);
    },
  };
}

/** Apollo's parsed-and-validated document store, bounded by the documents' source size. */
export function documentStore(): InMemoryLRUCache<DocumentNode> {
  return new InMemoryLRUCache<DocumentNode>({
    maxSize: DOCUMENT_STORE_BYTES,
    sizeCalculation: (d) => (d.loc?.source.body.length ?? 0) * 2 + 4096,
  });
}
