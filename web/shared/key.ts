/**
 * The API key of the browser UIs (IDE and board): taken from the URL hash (`#key=sk_…`), which is
 * then removed from the address bar, or from localStorage, where it is kept for the next visit.
 */
export const KEY_STORAGE = 'inventory.apiKey';

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // disabled (e.g. privacy settings): the key lives only as long as the page
  }
}

export function storedKey(): string {
  return storage()?.getItem(KEY_STORAGE) ?? '';
}

export function saveKey(key: string): void {
  const s = storage();
  if (!s) return;
  if (key) s.setItem(KEY_STORAGE, key);
  else s.removeItem(KEY_STORAGE);
}

/** Reads `#key=…` (also `#apiKey=…`), stores it and strips it from the address bar. */
export function keyFromHash(): string {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const key = (params.get('key') ?? params.get('apiKey') ?? '').trim();
  if (!key) return '';
  saveKey(key);
  params.delete('key');
  params.delete('apiKey');
  const rest = params.toString();
  history.replaceState(history.state, '', window.location.pathname + window.location.search + (rest ? `#${rest}` : ''));
  return key;
}

/** The key to use now: the hash's if any, else the stored one. */
export function currentKey(): string {
  return keyFromHash() || storedKey();
}

/** The GraphQL endpoint and its WebSocket twin, relative to the page (works behind a path prefix). */
export function endpoints(relative: string): { http: string; ws: string } {
  const u = new URL(relative, window.location.href);
  u.hash = '';
  u.search = '';
  return { http: u.href, ws: u.href.replace(/^http/, 'ws') };
}
