// SPDX-License-Identifier: Apache-2.0
// The archive browser: mailbox, then its folders, then a folder's items (appointments by month).
import { html, useState } from './preact-htm.js';
import * as api from './api.js';
import { Loading, SelectField, usePoll, when } from './ui.js';

function Mailboxes() {
  const [data, error] = usePoll(() => api.get('/mailboxes', { limit: 200 }), [], 0);
  if (!data) return html`<${Loading} error=${error} />`;
  return html`<table><thead><tr><th scope="col">Mailbox</th><th scope="col">Folders</th><th scope="col">Items</th>
    <th scope="col">Appointments</th><th scope="col">Updated</th></tr></thead><tbody>
    ${data.items.map((m) => html`<tr><td><a href=${`#/archive/${encodeURIComponent(m.address)}`}>${m.address}</a></td>
      <td>${m.folder_count}</td><td>${m.item_count}</td><td>${m.appointment_count}</td><td>${when(m.updated_at)}</td></tr>`)}</tbody></table>
    ${data.items.length === 0 && html`<p>Nothing replicated yet.</p>`}`;
}

const month = (t) => (t || '').slice(0, 7);

function Items({ address, folder }) {
  const cal = folder.sources.includes('calendar');
  const path = cal ? 'appointments' : 'items';
  const [data, error] = usePoll(() => api.get(`/mailboxes/${encodeURIComponent(address)}/${path}`,
    { folder_id: folder.folder_id, limit: 200 }), [address, folder.folder_id], 0);
  const [m, setM] = useState('');
  if (!data) return html`<${Loading} error=${error} />`;
  if (!cal) {
    return html`<table class="items"><caption>${folder.path}</caption><thead><tr><th scope="col">Subject</th>
      <th scope="col">From</th><th scope="col">Received</th><th scope="col">Size</th></tr></thead><tbody>
      ${data.items.map((i) => html`<tr><td>${i.subject || '(no subject)'}</td><td>${i.from && (i.from.name || i.from.email)}</td>
        <td>${when(i.received)}</td><td>${i.size ?? '—'}</td></tr>`)}</tbody></table>`;
  }
  const months = [...new Set(data.items.map((a) => month(a.start)))].sort();
  const shown = data.items.filter((a) => !m || month(a.start) === m);
  return html`<${SelectField} label="Month" name="month" value=${m} onChange=${setM}
      options=${[['', 'All months'], ...months.map((x) => [x, x])]} />
    <table class="items"><caption>${folder.path}</caption><thead><tr><th scope="col">Subject</th><th scope="col">Start</th>
      <th scope="col">End</th><th scope="col">Location</th></tr></thead><tbody>
      ${shown.map((a) => html`<tr><td>${a.subject || '(no subject)'}</td><td>${when(a.start)}</td><td>${when(a.end)}</td>
        <td>${a.location || '—'}</td></tr>`)}</tbody></table>`;
}

function Folders({ address }) {
  const [data, error] = usePoll(() => api.get(`/mailboxes/${encodeURIComponent(address)}/folders`, { limit: 500 }), [address], 0);
  const [open, setOpen] = useState(null);
  if (!data) return html`<${Loading} error=${error} />`;
  return html`<div class="archive">
    <nav aria-label="Folders" class="folders"><ul>${data.items.map((f) => html`<li>
      <button aria-pressed=${open === f ? 'true' : 'false'} onClick=${() => setOpen(f)}>${f.path} (${f.item_count})</button></li>`)}</ul></nav>
    <section class="folder-items" aria-live="polite">${open ? html`<${Items} address=${address} folder=${open} />` : html`<p>Pick a folder.</p>`}</section>
  </div>`;
}

export function Archive({ address }) {
  return html`<h1 tabindex="-1">Archive${address ? `: ${address}` : ''}</h1>
    ${address ? html`<p><a href="#/archive">All mailboxes</a></p><${Folders} address=${address} />` : html`<${Mailboxes} />`}`;
}
