// SPDX-License-Identifier: Apache-2.0
// Shared pieces: form fields that show the API's error for them, tables, times, polling.
import { html, useEffect, useRef, useState, createContext, useContext } from './preact-htm.js';

// { admin: bool } of the signed-in client; read-only clients get no write controls.
export const Session = createContext({ admin: false });
export const useSession = () => useContext(Session);

let ids = 0;
const nextId = () => `f${++ids}`;

// A labelled input; error is the message the API gave for this field.
export function Field({ label, name, error, children, hint }) {
  const id = useRef(nextId()).current;
  const errId = `${id}-err`;
  const control = children({ id, name, 'aria-invalid': error ? 'true' : undefined,
                              'aria-describedby': error ? errId : undefined });
  return html`<div class="field" data-field=${name}>
    <label for=${id}>${label}</label>
    ${control}
    ${hint && html`<small class="hint">${hint}</small>`}
    ${error && html`<p class="field-error" id=${errId} role="alert">${error}</p>`}
  </div>`;
}

export function TextField({ label, name, value, onInput, error, hint, type = 'text', ...rest }) {
  return html`<${Field} label=${label} name=${name} error=${error} hint=${hint}>${(a) =>
    html`<input ...${a} type=${type} value=${value ?? ''}
      onInput=${(e) => onInput(e.target.value)} ...${rest} />`}<//>`;
}

export function SelectField({ label, name, value, onChange, error, options }) {
  return html`<${Field} label=${label} name=${name} error=${error}>${(a) =>
    html`<select ...${a} value=${value ?? ''} onChange=${(e) => onChange(e.target.value)}>
      ${options.map(([v, t]) => html`<option value=${v} selected=${v === value}>${t}</option>`)}
    </select>`}<//>`;
}

// A checkbox; its label follows it, as a checkbox's does.
export function CheckField({ label, name, value, onChange, error }) {
  const id = useRef(nextId()).current;
  return html`<div class="field check" data-field=${name}>
    <input type="checkbox" id=${id} name=${name} checked=${!!value}
      aria-invalid=${error ? 'true' : undefined} aria-describedby=${error ? `${id}-err` : undefined}
      onChange=${(e) => onChange(e.target.checked)} />
    <label for=${id}>${label}</label>
    ${error && html`<p class="field-error" id=${`${id}-err`} role="alert">${error}</p>`}
  </div>`;
}

// A list typed one entry a line (folder paths, message classes).
export function ListField({ label, name, value, onInput, error, hint }) {
  return html`<${Field} label=${label} name=${name} error=${error} hint=${hint}>${(a) =>
    html`<textarea ...${a} rows="3" onInput=${(e) => onInput(e.target.value)}>${value ?? ''}</textarea>`}<//>`;
}
export const lines = (text) => (text || '').split(/\n/).map((l) => l.trim()).filter(Boolean);

// The API's message for a field, or for an entry of it when the form shows a list as one
// input, one entry a line (`settings.exclude_folders[2]` is line 3 of that input).
export function errorAt(errs, name) {
  if (!errs) return undefined;
  if (errs[name]) return errs[name];
  const entries = Object.keys(errs).filter((k) => k.startsWith(`${name}[`) && /^\[\d+\]$/.test(k.slice(name.length)));
  return entries.length ? entries.map((k) => `line ${Number(k.slice(name.length + 1, -1)) + 1}: ${errs[k]}`).join('; ') : undefined;
}

// The problem's detail when it names no field this form shows; a 412 says what happened.
export function FormError({ error, onReload }) {
  if (!error) return null;
  if (error.conflict) {
    return html`<div class="form-error conflict" role="alert"><p>Changed by someone else since you opened it: reload it
      to see the current version, then make your change again.</p>
      ${onReload && html`<button type="button" onClick=${onReload}>Reload</button>`}</div>`;
  }
  return html`<p class="form-error" role="alert">${error.message}</p>`;
}

// Previous / next over a keyset-paged list; cursors is the stack of the pages before this one.
export function Pager({ label, first, count, next, onNext, onPrev, hasPrev }) {
  if (!hasPrev && !next) return null;
  return html`<nav class="pager" aria-label=${label}>
    <button type="button" onClick=${onPrev} disabled=${!hasPrev}>Previous page</button>
    <span role="status">${count ? `${first + 1}–${first + count}` : 'none'}</span>
    <button type="button" onClick=${onNext} disabled=${!next}>Next page</button></nav>`;
}

// The state of a paged list: [cursor of the page shown, its first row's index, go next, go back].
export function usePages(key) {
  const [stack, setStack] = useState([]); // { cursor, first } of each page before this one
  const [at, setAt] = useState({ cursor: null, first: 0 });
  useEffect(() => { setStack([]); setAt({ cursor: null, first: 0 }); }, [key]);
  return {
    cursor: at.cursor, first: at.first, hasPrev: stack.length > 0,
    next: (cursor, count) => { setStack([...stack, at]); setAt({ cursor, first: at.first + count }); },
    prev: () => { setAt(stack[stack.length - 1]); setStack(stack.slice(0, -1)); },
  };
}

export function when(t) {
  if (!t) return '—';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? t : d.toLocaleString();
}

export function Loading({ error }) {
  if (error) return html`<p class="form-error" role="alert">${error.message}</p>`;
  return html`<p aria-busy="true">Loading…</p>`;
}

// Calls load() now and every `every` ms while the component is shown; returns [data, error, reload].
export function usePoll(load, deps, every = 3000) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    let timer = null;
    const run = async () => {
      try {
        const d = await load();
        if (alive) { setData(d); setError(null); }
      } catch (e) {
        if (alive) setError(e);
      }
      if (alive && every) timer = setTimeout(run, every);
    };
    run();
    return () => { alive = false; clearTimeout(timer); };
  }, [...deps, tick]);
  return [data, error, () => setTick((t) => t + 1)];
}

export function Badge({ value }) {
  return html`<span class=${`badge badge-${value}`}>${value}</span>`;
}

export function Progress({ done, total, label }) {
  return html`<span class="progress">
    <progress max=${total || 1} value=${done} aria-label=${label}></progress>
    <span>${done} / ${total}</span></span>`;
}

export const TYPES = [
  ['mailbox_folder_replication', 'Mailbox Folder Replication'],
  ['calendar_replication', 'Calendar Replication'],
  ['mailbox_storage_management', 'Mailbox Storage Management'],
  ['managed_folders', 'Managed Folders'],
];
export const typeName = (t) => (TYPES.find(([v]) => v === t) || [t, t])[1];
