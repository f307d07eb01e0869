// SPDX-License-Identifier: Apache-2.0
// Archive search over journaled messages (GET /archive/search): filters, keyset "More", and
// each hit's content (EML) saved as a file.
import { html, useState } from './preact-htm.js';
import * as api from './api.js';
import { FormError, SelectField, TextField, when } from './ui.js';
import { unmatched, useForm } from './edit.js';

const FIELDS = ['q', 'mailbox', 'from', 'to', 'after', 'before', 'has_attachments'];
const PAGE = 50;

// The query for the API: empty filters left out, datetime-local inputs as instants.
function params(b) {
  const out = {};
  for (const k of FIELDS) if (b[k] !== '') out[k] = b[k];
  for (const k of ['after', 'before']) if (out[k]) out[k] = new Date(out[k]).toISOString();
  return out;
}

function Hit({ hit }) {
  const m = hit.message;
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const save = async () => {
    setError(null);
    try { await api.download(m.content_url, `${m.sha256}.eml`); setSaved(true); } catch (e) { setError(e); }
  };
  return html`<tr data-sha=${m.sha256}><td>${when(m.date || m.received_at)}</td>
    <td>${m.from_name ? `${m.from_name} <${m.from}>` : m.from || '—'}</td><td>${m.subject || '(no subject)'}</td>
    <td>${[...m.to, ...m.cc].join(', ') || '—'}</td><td>${m.mailboxes.join(', ') || '—'}</td>
    <td>${m.has_attachments ? 'Yes' : 'No'}</td><td>${m.size}</td>
    <td><button type="button" onClick=${save} aria-label=${`Download ${m.subject || 'message'} (EML)`}>Download</button>
      ${saved && html`<span role="status"> saved</span>`}<${FormError} error=${error} /></td></tr>`;
}

export function Search() {
  const empty = { q: '', mailbox: '', from: '', to: '', after: '', before: '', has_attachments: '' };
  const form = useForm(empty);
  const [result, setResult] = useState(null); // { items, next, query }
  const [busy, setBusy] = useState(false);
  const fetchPage = async (query, cursor) => {
    setBusy(true);
    form.clear();
    try {
      const r = await api.page('/archive/search', query, cursor, PAGE);
      setResult((prev) => ({ items: cursor && prev ? [...prev.items, ...r.items] : r.items, next: r.next_cursor, query }));
    } catch (err) {
      form.failed(err);
    } finally {
      setBusy(false);
    }
  };
  const submit = (e) => { e.preventDefault(); fetchPage(params(form.body), null); };
  const { body, change, errs } = form;
  const text = (k, label, type = 'text') => html`<${TextField} label=${label} name=${k} type=${type} value=${body[k]}
    error=${errs[k]} onInput=${(v) => change(k, v)} />`;
  return html`<h1 tabindex="-1">Archive Search</h1>
    <p>Journaled messages: words (all must occur), <code>"a phrase"</code>, <code>or</code>, <code>-word</code>.</p>
    <form class="filters" aria-label="Search the archive" onSubmit=${submit}>
      ${text('q', 'Words', 'search')}${text('mailbox', 'Mailbox')}${text('from', 'From')}${text('to', 'To or Cc')}
      ${text('after', 'Dated at or after', 'datetime-local')}${text('before', 'Dated before', 'datetime-local')}
      <${SelectField} label="Attachments" name="has_attachments" value=${body.has_attachments} error=${errs.has_attachments}
        onChange=${(v) => change('has_attachments', v)} options=${[['', 'Any'], ['true', 'With'], ['false', 'Without']]} />
      <button type="submit" disabled=${busy}>Search</button></form>
    <${FormError} error=${unmatched(form.error, (f) => FIELDS.includes(f))} />
    ${result && html`<p role="status">${result.items.length} message${result.items.length === 1 ? '' : 's'}${result.next ? ' so far' : ''}.</p>
      ${result.items.length > 0 && html`<table class="search-hits"><thead><tr><th scope="col">Date</th><th scope="col">From</th>
        <th scope="col">Subject</th><th scope="col">To, Cc</th><th scope="col">Mailboxes</th><th scope="col">Attachments</th>
        <th scope="col">Size</th><th scope="col">Content</th></tr></thead>
        <tbody>${result.items.map((h) => html`<${Hit} key=${h.message.id} hit=${h} />`)}</tbody></table>`}
      ${result.next && html`<button type="button" onClick=${() => fetchPage(result.query, result.next)} disabled=${busy}>More</button>`}`}`;
}
