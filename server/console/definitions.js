// SPDX-License-Identifier: Apache-2.0
// Definitions: the list, and a form per task type with the settings that type accepts
// (api-spec/openapi.yaml, *Settings), for creating, editing (If-Match) and deleting.
import { html, useState } from './preact-htm.js';
import * as api from './api.js';
import { CheckField, FormError, ListField, Loading, SelectField, TextField, TYPES, errorAt, lines,
  typeName, usePoll, useSession, when } from './ui.js';
import { DeleteButton, Editor, shows, unmatched, useForm } from './edit.js';

const MSM_ACTIONS = [['message_delete', 'Delete messages'], ['full_message_stub', 'Stub whole messages'],
  ['attachment_stub', 'Stub attachments'], ['attachment_link_stub', 'Stub attachments with a link']];
const POLICY_ACTIONS = [['exchange_delete', 'Delete in Exchange'], ['expire_view', 'Expire from view'],
  ['archive_purge', 'Purge from the archive']];

// The form's values for a definition's settings (the API fills in every default).
function toForm(type, st = {}) {
  const text = (l) => (Array.isArray(l) ? l.join('\n') : '');
  switch (type) {
    case 'mailbox_folder_replication':
      return { exclude_folders: text(st.exclude_folders), include_deleted_items: !!st.include_deleted_items,
        include_private_items: !!st.include_private_items };
    case 'calendar_replication':
      return { include_calendars: st.include_calendars || 'default' };
    case 'mailbox_storage_management':
      return { action: st.action || 'attachment_stub', older_than_days: st.older_than_days ?? '',
        min_size_kb: st.min_size_kb ?? 0, folders: text(st.folders), exclude_folders: text(st.exclude_folders) };
    default:
      return { policies: (st.policies || [{ folder: 'default', action: 'expire_view', lifespan_days: '' }])
        .map((p) => ({ ...p, lifespan_days: p.lifespan_days ?? '' })) };
  }
}

// A number input's value for the API: left out when empty, so the API names it if required.
const num = (v) => (v === '' || v == null ? undefined : Number(v));

function toSettings(type, f) {
  switch (type) {
    case 'mailbox_folder_replication':
      return { exclude_folders: lines(f.exclude_folders), include_deleted_items: f.include_deleted_items,
        include_private_items: f.include_private_items };
    case 'calendar_replication':
      return { include_calendars: f.include_calendars };
    case 'mailbox_storage_management':
      return { action: f.action, older_than_days: num(f.older_than_days), min_size_kb: num(f.min_size_kb),
        folders: lines(f.folders).length ? lines(f.folders) : 'all', exclude_folders: lines(f.exclude_folders) };
    default:
      return { policies: f.policies.map((p) => ({ folder: p.folder, action: p.action, lifespan_days: num(p.lifespan_days) })) };
  }
}

// The settings inputs of one type; names are the API's field paths, so errors[] land on them.
function SettingsFields({ type, s, set, errs }) {
  const at = (k) => errorAt(errs, `settings.${k}`);
  const field = (k) => (v) => set({ ...s, [k]: v });
  switch (type) {
    case 'mailbox_folder_replication':
      return html`<${ListField} label="Folders not replicated (one path a line, e.g. /Inbox/Private)" name="settings.exclude_folders"
          value=${s.exclude_folders} onInput=${field('exclude_folders')} error=${at('exclude_folders')} />
        <${CheckField} label="Replicate Deleted Items too" name="settings.include_deleted_items" value=${s.include_deleted_items}
          onChange=${field('include_deleted_items')} error=${at('include_deleted_items')} />
        <${CheckField} label="Replicate items marked Private, Personal or Confidential" name="settings.include_private_items"
          value=${s.include_private_items} onChange=${field('include_private_items')} error=${at('include_private_items')} />`;
    case 'calendar_replication':
      return html`<${SelectField} label="Calendars" name="settings.include_calendars" value=${s.include_calendars}
        onChange=${field('include_calendars')} error=${at('include_calendars')}
        options=${[['default', 'The default calendar only'], ['all', 'Every calendar of the mailbox']]} />`;
    case 'mailbox_storage_management':
      return html`<${SelectField} label="Action" name="settings.action" value=${s.action} onChange=${field('action')}
          error=${at('action')} options=${MSM_ACTIONS} />
        <${TextField} label="Older than (days)" name="settings.older_than_days" type="number" value=${s.older_than_days}
          onInput=${field('older_than_days')} error=${at('older_than_days')} />
        <${TextField} label="At least (KB)" name="settings.min_size_kb" type="number" value=${s.min_size_kb}
          onInput=${field('min_size_kb')} error=${at('min_size_kb')} />
        <${ListField} label="Folders to process (one path a line; empty: all)" name="settings.folders" value=${s.folders}
          onInput=${field('folders')} error=${at('folders')} />
        <${ListField} label="Folders not processed (one path a line)" name="settings.exclude_folders" value=${s.exclude_folders}
          onInput=${field('exclude_folders')} error=${at('exclude_folders')} />`;
    default: {
      const setP = (i, k) => (v) => set({ ...s, policies: s.policies.map((p, j) => (j === i ? { ...p, [k]: v } : p)) });
      return html`<fieldset><legend>Policies (at most one per folder)</legend>
        ${s.policies.map((p, i) => html`<div class="row" role="group" aria-label=${`Policy ${i + 1}`}>
          <${TextField} label="Folder (default, a well-known folder, or a path)" name=${`settings.policies[${i}].folder`}
            value=${p.folder} onInput=${setP(i, 'folder')} error=${at(`policies[${i}].folder`)} />
          <${SelectField} label="Action" name=${`settings.policies[${i}].action`} value=${p.action}
            onChange=${setP(i, 'action')} error=${at(`policies[${i}].action`)} options=${POLICY_ACTIONS} />
          <${TextField} label="Lifespan (days)" name=${`settings.policies[${i}].lifespan_days`} type="number"
            value=${p.lifespan_days} onInput=${setP(i, 'lifespan_days')} error=${at(`policies[${i}].lifespan_days`)} />
          <button type="button" onClick=${() => set({ ...s, policies: s.policies.filter((_, j) => j !== i) })}
            aria-label=${`Remove policy ${i + 1}`}>Remove</button></div>`)}
        ${at('policies') && html`<p class="field-error" role="alert">${at('policies')}</p>`}
        <button type="button" onClick=${() => set({ ...s, policies: [...s.policies, { folder: '', action: 'expire_view', lifespan_days: '' }] })}>
          Add policy</button></fieldset>`;
    }
  }
}

function DescriptionAndSettings({ form, type }) {
  const { body, change, errs } = form;
  return html`<${TextField} label="Description" name="description" value=${body.description}
      onInput=${(v) => change('description', v)} error=${errs.description} />
    <${SettingsFields} type=${type} s=${body.settings} errs=${errs} set=${(v) => change('settings', v)} />`;
}

// Creates a definition; fixedType for the wizard, where the task's type is already chosen.
export function DefinitionCreate({ title, fixedType, onDone }) {
  const first = fixedType || TYPES[0][0];
  const form = useForm({ type: first, description: '', settings: toForm(first) });
  const [el, setEl] = useState(null);
  const type = fixedType || form.body.type;
  const submit = async (e) => {
    e.preventDefault();
    form.clear();
    try {
      const d = await api.post('/definitions', { type, description: form.body.description,
        settings: toSettings(type, form.body.settings) });
      form.reset({ type, description: '', settings: toForm(type) });
      onDone(d);
    } catch (err) {
      form.failed(err);
    }
  };
  return html`<form class="panel" ref=${setEl} aria-label=${title} onSubmit=${submit}><h2>${title}</h2>
    ${!fixedType && html`<${SelectField} label="Type" name="type" value=${type} error=${form.errs.type} options=${TYPES}
      onChange=${(v) => form.reset({ ...form.body, type: v, settings: toForm(v) })} />`}
    <${DescriptionAndSettings} form=${form} type=${type} />
    <${FormError} error=${unmatched(form.error, (f) => shows(el, f))} />
    <button type="submit">Create</button></form>`;
}

function settingsText(d) {
  const s = d.settings;
  switch (d.type) {
    case 'mailbox_folder_replication':
      return `excluded: ${s.exclude_folders.join(', ') || 'none'}; deleted items: ${s.include_deleted_items ? 'yes' : 'no'}; private: ${s.include_private_items ? 'yes' : 'no'}`;
    case 'calendar_replication': return `calendars: ${s.include_calendars}`;
    case 'mailbox_storage_management':
      return `${s.action} older than ${s.older_than_days} days, from ${s.min_size_kb} KB; folders: ${s.folders === 'all' ? 'all' : s.folders.join(', ')}`;
    default: return s.policies.map((p) => `${p.folder}: ${p.action} after ${p.lifespan_days} days`).join('; ');
  }
}

export function Definitions() {
  const { admin } = useSession();
  const [editing, setEditing] = useState(null);
  const [saved, setSaved] = useState(null);
  const [data, error, reload] = usePoll(() => api.all('/definitions'), [], 0);
  return html`<h1 tabindex="-1">Definitions</h1>
    ${admin && !editing && html`<${DefinitionCreate} title="New definition" onDone=${reload} />`}
    ${editing && html`<${Editor} path=${`/definitions/${editing.id}`} title=${`Edit definition ${editing.description}`}
      toForm=${(d) => ({ description: d.description, settings: toForm(d.type, d.settings) })}
      toBody=${(b) => ({ description: b.description, settings: toSettings(editing.type, b.settings) })}
      fields=${(form) => html`<p>Type: ${typeName(editing.type)} (fixed)</p><${DescriptionAndSettings} form=${form} type=${editing.type} />`}
      onDone=${(d) => { setEditing(null); setSaved(d.description); reload(); }} onCancel=${() => setEditing(null)} />`}
    ${saved && html`<p role="status">Saved ${saved}.</p>`}
    ${!data ? html`<${Loading} error=${error} />` : html`<table class="definitions"><thead><tr><th scope="col">Description</th><th scope="col">Type</th>
      <th scope="col">Settings</th><th scope="col">Last modified</th>${admin && html`<th scope="col">Actions</th>`}</tr></thead><tbody>
      ${data.map((d) => html`<tr data-id=${d.id}><td>${d.description}</td><td>${typeName(d.type)}</td>
        <td class="settings">${settingsText(d)}</td><td>${when(d.updated_at)} (${d.updated_by})</td>
        ${admin && html`<td><button type="button" onClick=${() => { setSaved(null); setEditing(d); }}
          aria-label=${`Edit ${d.description}`}>Edit</button>
          <${DeleteButton} what=${d.description} path=${`/definitions/${d.id}`} onDone=${reload} /></td>`}</tr>`)}</tbody></table>`}`;
}
