// SPDX-License-Identifier: Apache-2.0
// Changing and deleting what exists: forms filled from the resource and its ETag, writes made
// conditional on it (If-Match), so a change someone else made meanwhile is never overwritten.
import { html, useEffect, useRef, useState } from './preact-htm.js';
import * as api from './api.js';
import { FormError, Loading } from './ui.js';

// A form's values and the API's message for each field, until that field is edited.
export function useForm(initial) {
  const [body, setBody] = useState(initial);
  const [errs, setErrs] = useState({});
  const [error, setError] = useState(null);
  const change = (k, v) => {
    setBody((b) => ({ ...b, [k]: v }));
    setErrs((e) => {
      // Editing a field clears its message and those of its entries (exclusions[0].region…).
      const out = {};
      for (const [f, m] of Object.entries(e)) if (f !== k && !f.startsWith(`${k}[`) && !f.startsWith(`${k}.`)) out[f] = m;
      return out;
    });
  };
  const failed = (err) => { setError(err); setErrs(err.fields || {}); };
  const reset = (b) => { setBody(b); setErrs({}); setError(null); };
  return { body, setBody, change, errs, error, failed, reset, clear: () => { setErrs({}); setError(null); } };
}

// Whether the problem names a field this form does not show (its detail is then shown above
// the button): errors[] that the form matched leave nothing to repeat.
export function unmatched(error, shown) {
  if (!error) return null;
  const fields = Object.keys(error.fields || {});
  if (error.conflict || fields.length === 0) return error;
  return fields.some((f) => !shown(f)) ? error : null;
}

// Whether the form element shows an input for the field the API named.
export const shows = (form, field) => !!(form && [...form.querySelectorAll('[data-field]')]
  .some((d) => d.dataset.field === field || field.startsWith(`${d.dataset.field}[`)));

// Edits the resource at path: fields(form) renders the inputs, toForm/toBody map between the
// resource and the form. A 412 says someone else changed it and offers to reload.
export function Editor({ path, title, toForm, toBody, fields, onDone, onCancel }) {
  const [etag, setEtag] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const form = useForm(null);
  const el = useRef(null);
  const load = async () => {
    try {
      const r = await api.getForEdit(path);
      setEtag(r.etag);
      form.reset(toForm(r.data));
      // The form opens above the list: take keyboard focus there, as a page change does.
      setTimeout(() => el.current && el.current.querySelector('h2').focus(), 0);
    } catch (e) {
      setLoadError(e);
    }
  };
  useEffect(() => { load(); }, [path]);
  if (!form.body) return html`<${Loading} error=${loadError} />`;
  const save = async (e) => {
    e.preventDefault();
    form.clear();
    try {
      onDone(await api.patch(path, toBody(form.body), etag));
    } catch (err) {
      form.failed(err);
    }
  };
  return html`<form class="panel" ref=${el} aria-label=${title} onSubmit=${save}><h2 tabindex="-1">${title}</h2>
    ${fields(form)}
    <${FormError} error=${unmatched(form.error, (f) => shows(el.current, f))}
      onReload=${load} />
    <button type="submit">Save</button> <button type="button" onClick=${onCancel}>Cancel</button></form>`;
}

// Delete with a confirmation; the ETag is read when asked, so a change made before the
// confirmation is refused (412) rather than deleted unseen.
export function DeleteButton({ what, path, onDone }) {
  const [asking, setAsking] = useState(null);
  const [error, setError] = useState(null);
  const confirmRef = useRef(null);
  useEffect(() => { if (asking && confirmRef.current) confirmRef.current.focus(); }, [asking]);
  const ask = async () => {
    setError(null);
    try { setAsking((await api.getForEdit(path)).etag || '*'); } catch (e) { setError(e); }
  };
  const confirm = async () => {
    try { await api.del(path, asking); setAsking(null); onDone(); } catch (e) { setError(e); setAsking(null); }
  };
  return html`<span class="delete">
    ${asking ? html`<span role="group" aria-label=${`Confirm deleting ${what}`}>Delete ${what}?
        <button type="button" class="danger" ref=${confirmRef} onClick=${confirm}>Confirm delete</button>
        <button type="button" onClick=${() => setAsking(null)}>Keep</button></span>`
      : html`<button type="button" onClick=${ask} aria-label=${`Delete ${what}`}>Delete</button>`}
    <${FormError} error=${error} onReload=${error && error.conflict ? () => { setError(null); onDone(); } : null} /></span>`;
}
