/**
 * GraphiQL, bundled (no CDN): queries and mutations over HTTP, subscriptions over graphql-ws on
 * the same /graphql path. The API key goes in the Headers tab as {"authorization": "Bearer sk_…"};
 * the toolkit also sends those headers as the graphql-ws connectionParams, which the server reads.
 */
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import 'graphiql/graphiql.css';
import './ide.css';
import { endpoints, keyFromHash, saveKey, storedKey } from '../shared/key';

// GraphiQL's dialogs add a <style> element (Radix scroll lock through get-nonce): the page's CSP
// allows it with this per-response nonce only.
const nonce = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content;
if (nonce && !nonce.startsWith('%')) (globalThis as { __webpack_nonce__?: string }).__webpack_nonce__ = nonce;

// The IDE is served at the GraphQL endpoint itself (GET /graphql, Accept: text/html).
const { http, ws } = endpoints(window.location.pathname);

const fetcher = createGraphiQLFetcher({
  url: http,
  subscriptionUrl: ws,
  // Merged with the Headers tab, so `authorization` there reaches connection_init too.
  wsConnectionParams: {},
});

const hashKey = keyFromHash();
const key = hashKey || storedKey();
// Without a key the header is left empty (anonymous: the schema still loads) for the user to fill in.
const headers = JSON.stringify({ authorization: key ? `Bearer ${key}` : '' }, null, 2);

const intro = `# Inventory gateway — GraphiQL (bundled, works offline).
# API key: Headers tab below, {"authorization": "Bearer sk_…"},
# or open /graphql#key=sk_… once. Subscriptions use graphql-ws.
# Run: Ctrl-Enter. Complete: Ctrl-Space. Docs: the book icon.
`;

const levelsQuery = `${intro}
query LowStock {
  inventoryLevels(first: 20, filter: { lowStockOnly: true }) {
    nodes {
      variant { sku }
      warehouse { code }
      onHand
      reserved
      available
      status
    }
  }
}
`;

const subscriptionQuery = `# Runs until you stop it; every status crossing in your store arrives here.
subscription StatusChanges {
  stockStatusChanged {
    cursor
    occurredAt
    previousStatus
    status
    available
    variant { sku }
    warehouse { code }
  }
}
`;

/**
 * GraphiQL keeps tabs (and, with shouldPersistHeaders, their headers) in localStorage. Tabs
 * without headers get ours; a key just given in the URL replaces the key in every tab. Done before
 * GraphiQL reads the storage, so that its own bookkeeping (tab hashes) stays consistent.
 */
function prepareStoredTabs(override: boolean) {
  try {
    const raw = localStorage.getItem('graphiql:tabState');
    if (raw) {
      const state = JSON.parse(raw) as { tabs?: { headers?: string | null }[] };
      for (const tab of state.tabs ?? []) if (override || !tab.headers) tab.headers = headers;
      localStorage.setItem('graphiql:tabState', JSON.stringify(state));
    }
    if (override || !localStorage.getItem('graphiql:headers')) localStorage.setItem('graphiql:headers', headers);
  } catch {
    // no storage, or not ours to fix: GraphiQL starts from the defaults below
  }
}
prepareStoredTabs(!!hashKey);

/** Keeps the key shared with the board in step with what the user types in the Headers tab. */
function onEditHeaders(value: string) {
  try {
    const h = JSON.parse(value) as Record<string, unknown>;
    const auth = Object.entries(h).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
    const m = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
    if (m && m[1] !== 'sk_…') saveKey(m[1]);
    else if (auth === '') saveKey('');
  } catch {
    // half-typed JSON
  }
}

function App() {
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={levelsQuery}
      // Each tab has its own headers: both start with the key.
      defaultTabs={[
        { query: levelsQuery, headers },
        { query: subscriptionQuery, headers },
      ]}
      defaultHeaders={headers}
      // The key is kept in localStorage anyway (shared with the board); persisting the headers
      // keeps each tab's key across reloads.
      shouldPersistHeaders
      defaultEditorToolsVisibility="headers"
      onEditHeaders={onEditHeaders}
    >
      <GraphiQL.Logo>
        <span data-testid="ide-title">Inventory GraphiQL</span>
      </GraphiQL.Logo>
    </GraphiQL>
  );
}

const root = document.getElementById('graphiql');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
