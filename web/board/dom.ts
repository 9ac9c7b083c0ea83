/** DOM helpers of the board: elements by data-testid, element building, the status line. */
import { STATUS_LABEL, type Status } from './types';

export const $ = <T extends HTMLElement>(testid: string) => document.querySelector<T>(`[data-testid="${testid}"]`)!;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') el.className = v;
    else el.setAttribute(k, v);
  }
  el.append(...children);
  return el;
}

export function badge(status: Status): HTMLElement {
  return h('span', { class: `badge badge-${status}`, 'data-testid': 'status', 'data-status': status }, STATUS_LABEL[status]);
}

export function setConnection(kind: 'connecting' | 'live' | 'offline' | 'nokey' | 'denied', text: string) {
  const el = $('connection');
  el.className = `conn conn-${kind}`;
  el.dataset.state = kind;
  el.textContent = text;
}

export function showError(message: string | null) {
  const el = $('error');
  el.hidden = !message;
  el.textContent = message ?? '';
}

/** Prepends a line to the live feed (the last 30 are kept). */
export function feed(text: string, status?: Status) {
  const list = $('feed');
  const item = h('li', { 'data-testid': 'feed-item' }, h('time', {}, new Date().toLocaleTimeString()), ' ', text);
  if (status) item.append(' ', badge(status));
  list.prepend(item);
  while (list.children.length > 30) list.lastElementChild!.remove();
}
