// SPDX-License-Identifier: Apache-2.0
// The New Exchange Task wizard in seed 001's order: site, schedule, type, definition, group, save.
import { html, useEffect, useState } from './preact-htm.js';
import * as api from './api.js';
import { CreateForm, SCHEDULE_FIELDS, SCHEDULE_INITIAL, scheduleBody } from './pages.js';
import { DefinitionCreate } from './definitions.js';
import { FormError, Loading, SelectField, TextField, TYPES, typeName, usePoll, useSession } from './ui.js';

const STEPS = ['Site', 'Schedule', 'Task type', 'Definition', 'Group', 'Save'];
const GROUPS = [['ad_group', 'Active Directory group (DN)'], ['group_email', 'Group email address'],
  ['mailbox', 'One mailbox'], ['mailbox_list', "Mailbox list (';' separated)"]];
// Which step shows a field the API names in errors[].
const STEP_OF = { site_id: 0, schedule_id: 1, type: 2, definition_id: 3, group: 4, 'group.kind': 4,
  'group.value': 4, name: 5 };

// Seed 001's "look up" of an AD group: the groups and OUs the site's workers last reported
// (GET /sites/{id}/directory/groups?q=), searched as the administrator types; picking one
// fills in its DN.
function GroupLookup({ siteId, onPick }) {
  const [q, setQ] = useState('');
  const [found, setFound] = useState(null);
  useEffect(() => {
    if (!q.trim()) { setFound(null); return undefined; }
    let alive = true;
    const timer = setTimeout(async () => {
      try {
        const r = await api.get(`/sites/${siteId}/directory/groups`, { q: q.trim(), limit: 20 });
        if (alive) setFound({ items: r.items });
      } catch (e) {
        if (alive) setFound({ error: e.message });
      }
    }, 250);
    return () => { alive = false; clearTimeout(timer); };
  }, [q, siteId]);
  return html`<div class="lookup">
    <${TextField} label="Look up in Active Directory (name, mail or DN)" name="lookup" value=${q} onInput=${setQ}
      type="search" />
    <div aria-live="polite">${found && (found.error ? html`<p class="form-error">${found.error}</p>`
      : found.items.length === 0 ? html`<p>No group or OU of this site's directory matches.</p>`
      : html`<ul class="lookup-results">${found.items.map((g) => html`<li><button type="button"
          onClick=${() => { onPick(g.dn); setQ(''); }}>${g.name || g.dn}</button>
          <small>${g.kind.replace('_', ' ')}${g.mail ? `, ${g.mail}` : ''}${g.member_count != null ? `, ${g.member_count} members` : ''} — ${g.dn}</small></li>`)}</ul>`)}</div>
  </div>`;
}

export function Wizard() {
  const { admin } = useSession();
  const [step, setStep] = useState(0);
  const [t, setT] = useState({ site_id: '', schedule_id: '', type: TYPES[0][0], definition_id: '',
    kind: 'mailbox', value: '', name: '' });
  const [error, setError] = useState(null);
  const [creating, setCreating] = useState(false);
  const [data, loadError, reload] = usePoll(async () => {
    const [sites, schedules, definitions] = await Promise.all([api.all('/sites'), api.all('/schedules'), api.all('/definitions')]);
    return { sites, schedules, definitions };
  }, [], 0);
  if (!admin) return html`<h1 tabindex="-1">New Exchange Task</h1><p>Read-only clients cannot create tasks.</p>`;
  if (!data) return html`<h1 tabindex="-1">New Exchange Task</h1><${Loading} error=${loadError} />`;
  const set = (k) => (v) => setT({ ...t, [k]: v });
  const errs = error ? error.fields : {};
  const defs = data.definitions.filter((d) => d.type === t.type);
  const pick = (v, list) => v || (list[0] && list[0].id) || '';
  const cur = { ...t, site_id: pick(t.site_id, data.sites), schedule_id: pick(t.schedule_id, data.schedules),
    definition_id: defs.some((d) => d.id === t.definition_id) ? t.definition_id : (defs[0] && defs[0].id) || '' };
  const save = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      const task = await api.post('/exchange-tasks', { name: cur.name, site_id: cur.site_id, type: cur.type,
        definition_id: cur.definition_id, schedule_id: cur.schedule_id, group: { kind: cur.kind, value: cur.value } });
      location.hash = `#/tasks/${task.id}`;
    } catch (err) {
      setError(err);
      const steps = Object.keys(err.fields).map((f) => STEP_OF[f]).filter((s) => s !== undefined);
      if (steps.length) setStep(Math.min(...steps));
    }
  };
  const created = (k) => (obj) => { setCreating(false); setT({ ...cur, [k]: obj.id }); reload(); };
  const body = [
    () => html`<${SelectField} label="Site" name="site_id" value=${cur.site_id} onChange=${set('site_id')}
      error=${errs.site_id} options=${data.sites.map((s) => [s.id, `${s.name} (${s.status})`])} />`,
    () => html`<${SelectField} label="Schedule" name="schedule_id" value=${cur.schedule_id} onChange=${set('schedule_id')}
      error=${errs.schedule_id} options=${data.schedules.map((s) => [s.id, s.name])} />
      ${creating ? html`<${CreateForm} title="Create New schedule" fields=${SCHEDULE_FIELDS} initial=${SCHEDULE_INITIAL} preview
        submit=${(b) => api.post('/schedules', scheduleBody(b))} onDone=${created('schedule_id')} />`
        : html`<button type="button" onClick=${() => setCreating(true)}>Create New schedule</button>`}`,
    () => html`<${SelectField} label="Task type" name="type" value=${cur.type} onChange=${set('type')}
      error=${errs.type} options=${TYPES} />`,
    () => html`<${SelectField} label=${`Definition (${typeName(cur.type)})`} name="definition_id" value=${cur.definition_id}
      onChange=${set('definition_id')} error=${errs.definition_id} options=${defs.map((d) => [d.id, d.description])} />
      ${creating ? html`<${DefinitionCreate} title="Create New definition" fixedType=${cur.type} onDone=${created('definition_id')} />`
        : html`<button type="button" onClick=${() => setCreating(true)}>Create New definition</button>`}`,
    () => html`<${SelectField} label="Group kind" name="group.kind" value=${cur.kind} onChange=${set('kind')}
      error=${errs['group.kind']} options=${GROUPS} />
      ${cur.kind === 'ad_group' && html`<${GroupLookup} siteId=${cur.site_id} onPick=${set('value')} />`}
      <${TextField} label=${cur.kind === 'ad_group' ? 'Group DN' : 'Group'} name="group.value" value=${cur.value}
        onInput=${set('value')} error=${errs['group.value'] || errs.group} />`,
    () => html`<${TextField} label="Task name" name="name" value=${cur.name} onInput=${set('name')} error=${errs.name} />`,
  ];
  const go = (n) => { setCreating(false); setT(cur); setStep(n); };
  return html`<h1 tabindex="-1">New Exchange Task</h1>
    <ol class="steps">${STEPS.map((s, i) => html`<li aria-current=${i === step ? 'step' : undefined}>${s}</li>`)}</ol>
    <div class="panel wizard"><h2>${STEPS[step]}</h2>${body[step]()}</div>
    <form onSubmit=${save} aria-label="Wizard navigation" class="wizard-nav">
      <${FormError} error=${error && Object.keys(errs).length === 0 ? error : null} />
      ${step > 0 && html`<button type="button" onClick=${() => go(step - 1)}>Back</button>`}
      ${step < STEPS.length - 1 ? html`<button type="button" onClick=${() => go(step + 1)}>Next</button>`
        : html`<button type="submit">Save and Exit</button>`}
      <a href="#/tasks">Cancel</a></form>`;
}
