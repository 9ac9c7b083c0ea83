/**
 * Live stock board: stock per warehouse, the low / critical / out-of-stock lists and a sparkline of
 * recent movements per SKU. Loads the current state over HTTP, then follows stockStatusChanged and
 * inventoryChanged over graphql-ws (resuming with `after` on reconnect). Plain TS + DOM.
 *
 * Modules: types.ts and queries.ts (data and documents), state.ts (what is shown and what changed),
 * data.ts (HTTP reads), connection.ts (subscriptions, reconnects, key handling), render.ts and
 * dom.ts (the page); this file wires the key form.
 */
import { currentKey, saveKey } from '../shared/key';
import { start } from './connection';
import { $ } from './dom';
import { state } from './state';
import './board.css';

function init() {
  const form = $<HTMLFormElement>('key-form');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const key = $<HTMLInputElement>('api-key-input').value.trim();
    saveKey(key);
    start(key);
  });
  $('forget-key').addEventListener('click', () => {
    saveKey('');
    start('');
  });
  window.addEventListener('hashchange', () => {
    const key = currentKey();
    if (key && key !== state.key) start(key);
  });
  start(currentKey());
}

init();
