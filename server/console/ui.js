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

export function TextField({ label, name, value, onInput, error, type = 'text', ...rest }) {
  return html`<${Field} label=${label} name=${name} error=${error}>${(a) =>
    html`<input ...${a} type=${type} value=${value ?? ''}
      onInput=${(e) => onInput(e.target.value)} ...${rest} />`}<//>`;
}

export function SelectField({ label, name, value, onChange, error, options }) {
  return html`<${Field} label=${label} name=${name} error=${error}>${(a) =>
    html`<select ...${a} value=${value ?? ''} onChange=${(e) => onChange(e.target.value)}>
      ${options.map(([v, t]) => html`<option value=${v} selected=${v === value}>${t}</option>`)}
    </select>`}<//>`;
}

// The problem's detail when it names no field this form shows.
export function FormError({ error }) {
  if (!error) return null;
  return html`<p class="form-error" role="alert">${error.message}</p>`;
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
