// SPDX-License-Identifier: Apache-2.0
// The console's list and detail pages: dashboard, tasks, schedules, definitions, sites, audit.
import { html, useEffect, useState } from './preact-htm.js';
import * as api from './api.js';
import { Badge, FormError, Loading, Pager, Progress, SelectField, TextField, TYPES, errorAt, typeName,
  usePages, usePoll, useSession, when } from './ui.js';
import { DeleteButton, Editor } from './edit.js';

const ACTIVE = ['queued', 'running', 'waiting'];
const doneOf = (m) => m.healthy + m.warning + m.error + m.skipped;

function Title({ children }) {
  return html`<h1 tabindex="-1">${children}</h1>`;
}

// Records per second since the execution started (or over its whole run once it has ended).
export function rate(x) {
  const ms = x.duration_ms ?? (x.started_at ? Date.now() - new Date(x.started_at).getTime() : 0);
  return ms > 0 ? (x.items / (ms / 1000)).toFixed(1) : '—';
}

// The server counts the tasks and picks the executions to show (GET /exchange-services/summary):
// the dashboard never reads the task list, whose size it cannot bound.
export function Dashboard() {
  const [data, error] = usePoll(async () => {
    const [sites, summary] = await Promise.all([api.all('/sites'), api.get('/exchange-services/summary')]);
    return { sites, summary };
  }, []);
  if (!data) return html`<${Title}>Exchange Services<//><${Loading} error=${error} />`;
  const { tasks, running, failures } = data.summary;
  const more = (list, what) => list.total > list.items.length
    && html`<p class="more" data-more=${what}>${list.items.length} of ${list.total} shown.</p>`;
  return html`<${Title}>Exchange Services<//>
    <section aria-labelledby="h-sites"><h2 id="h-sites">Sites</h2>
      <table><thead><tr><th scope="col">Site</th><th scope="col">Status</th><th scope="col">Version</th>
        <th scope="col">Last heartbeat</th><th scope="col">Workers</th></tr></thead>
      <tbody>${data.sites.map((s) => html`<tr><td>${s.name}</td><td><${Badge} value=${s.status} /></td>
        <td>${s.version || '—'}</td><td>${when(s.last_seen_at)}</td>
        <td>${s.workers.filter((w) => w.online).length}</td></tr>`)}</tbody></table>
    </section>
    <section aria-labelledby="h-status"><h2 id="h-status">Tasks by status</h2>
      <ul class="counts">${['scheduled', 'queued', 'running', 'waiting', 'disabled'].map((s) =>
        html`<li><a href=${`#/tasks?status=${s}`}><strong data-status=${s}>${tasks.by_status[s]}</strong> ${s}</a></li>`)}</ul>
      <p>${tasks.total} tasks: ${TYPES.map(([t, label]) => html`<span data-type=${t}>${tasks.by_type[t]} ${label}</span>`)
        .reduce((acc, x) => (acc.length ? [...acc, ', ', x] : [x]), [])}.</p>
    </section>
    <section aria-labelledby="h-running"><h2 id="h-running">Running executions</h2>
      ${running.items.length === 0 ? html`<p>None.</p>` : html`<table><thead><tr>
        <th scope="col">Task</th><th scope="col">State</th><th scope="col">Mailboxes</th>
        <th scope="col">Current mailbox</th><th scope="col">Items</th><th scope="col">Items/s</th>
        <th scope="col">Latest detail</th></tr></thead><tbody>
        ${running.items.map(({ task, execution: exec, current_mailbox: current }) => html`<tr class="running-exec" data-task=${task.id}>
          <td><a href=${`#/tasks/${task.id}`}>${task.name}</a></td><td><${Badge} value=${exec.state} /></td>
          <td><${Progress} done=${doneOf(exec.mailboxes)} total=${exec.mailboxes.total}
            label=${`Mailboxes done for ${task.name}`} /></td>
          <td>${current || '—'}</td><td>${exec.items}</td><td>${rate(exec)}</td>
          <td>${task.latest_detail || exec.latest_detail || '—'}</td></tr>`)}</tbody></table>`}
      ${more(running, 'running')}
    </section>
    <section aria-labelledby="h-fail"><h2 id="h-fail">Recent failures</h2>
      ${failures.items.length === 0 ? html`<p>None.</p>` : html`<ul>${failures.items.map((t) =>
        html`<li><a href=${`#/tasks/${t.id}`}>${t.name}</a>: ${t.health} — ${t.latest_detail || ''}</li>`)}</ul>`}
      ${more(failures, 'failures')}
    </section>`;
}

function hashParams() {
  const q = location.hash.split('?')[1] || '';
  return Object.fromEntries(new URLSearchParams(q));
}

// Tasks a page: the list is keyset-paged by the API (next_cursor), so a site with thousands of
// tasks costs one page of rows in the browser, not all of them.
export const TASK_PAGE = 100;

export function Tasks() {
  const { admin } = useSession();
  const [f, setF] = useState({ site_id: '', type: '', status: '', ...hashParams() });
  const [sort, setSort] = useState('name');
  const pages = usePages(`${f.site_id}|${f.type}|${f.status}`);
  const [data, error] = usePoll(async () => {
    const [sites, tasks] = await Promise.all([api.all('/sites'),
      api.page('/exchange-tasks', f, pages.cursor, TASK_PAGE)]);
    return { sites, tasks: tasks.items, next: tasks.next_cursor };
  }, [f.site_id, f.type, f.status, pages.cursor]);
  const set = (k) => (v) => setF({ ...f, [k]: v });
  const siteName = (id) => (data && data.sites.find((s) => s.id === id) || {}).name || id;
  const rows = data ? [...data.tasks].sort((a, b) => String(a[sort] ?? '').localeCompare(String(b[sort] ?? ''))) : [];
  const pager = (where) => data && html`<${Pager} label=${`Task pages, ${where}`} first=${pages.first} count=${rows.length} next=${data.next}
    hasPrev=${pages.hasPrev} onNext=${() => pages.next(data.next, rows.length)} onPrev=${pages.prev} />`;
  return html`<${Title}>Exchange Tasks<//>
    ${admin && html`<p><a class="button" href="#/tasks/new">New Exchange Task</a></p>`}
    <form class="filters" aria-label="Filter tasks" onSubmit=${(e) => e.preventDefault()}>
      <${SelectField} label="Site" name="site_id" value=${f.site_id} onChange=${set('site_id')}
        options=${[['', 'All sites'], ...(data ? data.sites.map((s) => [s.id, s.name]) : [])]} />
      <${SelectField} label="Type" name="type" value=${f.type} onChange=${set('type')}
        options=${[['', 'All types'], ...TYPES]} />
      <${SelectField} label="Status" name="status" value=${f.status} onChange=${set('status')}
        options=${[['', 'Any status'], ...['scheduled', 'queued', 'running', 'waiting', 'disabled'].map((s) => [s, s])]} />
      <${SelectField} label="Sort this page by" name="sort" value=${sort} onChange=${setSort}
        options=${[['name', 'Name'], ['status', 'Status'], ['next_run_at', 'Next run'], ['updated_at', 'Last modified']]} />
    </form>
    ${!data ? html`<${Loading} error=${error} />` : html`${pager('above')}<table class="tasks"><thead><tr>
      <th scope="col">Name</th><th scope="col">Site</th><th scope="col">Type</th><th scope="col">Status</th>
      <th scope="col">Health</th><th scope="col">Next run</th><th scope="col">Sequence</th></tr></thead><tbody>
      ${rows.map((t) => html`<tr><td><a href=${`#/tasks/${t.id}`}>${t.name}</a></td><td>${siteName(t.site_id)}</td>
        <td>${typeName(t.type)}</td><td><${Badge} value=${t.status} /></td><td>${t.health || '—'}</td>
        <td>${when(t.next_run_at)}</td><td>${t.sequence}</td></tr>`)}</tbody></table>
      ${rows.length === 0 && html`<p>No task matches.</p>`}${pager('below')}`}`;
}

function Info({ rows }) {
  return html`<dl class="info">${rows.map(([k, v]) => html`<dt>${k}</dt><dd data-info=${k}>${v ?? '—'}</dd>`)}</dl>`;
}

// What a task's edit form changes; the Editor makes the change conditional on the task's ETag.
const taskForm = (t) => ({ schedule_id: t.schedule_id, definition_id: t.definition_id });

function TaskFields({ form, schedules, definitions }) {
  const select = (label, name, options) => html`<${SelectField} label=${label} name=${name} value=${form.body[name]}
    error=${errorAt(form.errs, name)} onChange=${(v) => form.change(name, v)} options=${options} />`;
  return html`${select('Schedule', 'schedule_id', schedules.map((s) => [s.id, s.name]))}
    ${select('Definition', 'definition_id', definitions.map((d) => [d.id, d.description]))}`;
}

export function TaskDetail({ id }) {
  const { admin } = useSession();
  const [actionError, setActionError] = useState(null);
  const [actionNote, setActionNote] = useState(null);
  const [editing, setEditing] = useState(false);
  const [data, error, reload] = usePoll(async () => {
    const [task, execs, mailboxes, schedules, definitions, sites] = await Promise.all([
      api.get(`/exchange-tasks/${id}`), api.get(`/exchange-tasks/${id}/executions`, { limit: 20 }),
      api.get(`/exchange-tasks/${id}/mailboxes`, { limit: 200 }), api.all('/schedules'),
      api.all('/definitions'), api.all('/sites')]);
    return { task, execs: execs.items, mailboxes: mailboxes.items, schedules, definitions, sites };
  }, [id]);
  if (!data) return html`<${Title}>Exchange Task<//><${Loading} error=${error} />`;
  const { task } = data;
  const name = (list, v, k = 'name') => (list.find((x) => x.id === v) || {})[k] || v;
  const act = async (fn) => {
    setActionError(null);
    setActionNote(null);
    try { await fn(); reload(); } catch (e) { setActionError(e); }
  };
  const defs = data.definitions.filter((d) => d.type === task.type);
  return html`<${Title}>${task.name}<//>
    ${admin && html`<div class="actions" role="group" aria-label="Task actions">
      <button onClick=${() => act(() => api.post(`/exchange-tasks/${id}/run`))} disabled=${!task.enabled}>Run now</button>
      <button onClick=${() => act(() => api.post(`/exchange-tasks/${id}/stop`))} disabled=${!ACTIVE.includes(task.status)}>Stop</button>
      ${task.enabled ? html`<button onClick=${() => act(() => api.patch(`/exchange-tasks/${id}`, { enabled: false }))}>Disable</button>`
                     : html`<button onClick=${() => act(() => api.patch(`/exchange-tasks/${id}`, { enabled: true }))}>Enable</button>`}
      <button onClick=${() => setEditing(true)}>Edit</button>
      <button onClick=${() => act(async () => { await api.post(`/exchange-tasks/${id}/membership/refresh`);
        setActionNote('The group is resolved afresh by the next execution.'); })}>Refresh membership</button>
      <${DeleteButton} what=${task.name} path=${`/exchange-tasks/${id}`} onDone=${() => { location.hash = '#/tasks'; }} />
    </div>`}
    ${actionNote && html`<p role="status">${actionNote}</p>`}
    <${FormError} error=${actionError} />
    ${editing && html`<${Editor} path=${`/exchange-tasks/${id}`} title=${`Edit task ${task.name}`}
      toForm=${taskForm} toBody=${(b) => b} fields=${(form) => html`<${TaskFields} form=${form}
        schedules=${data.schedules} definitions=${defs} />`}
      onDone=${() => { setEditing(false); reload(); }} onCancel=${() => setEditing(false)} />`}
    <div class="panes">
      <section aria-labelledby="h-opt" class="pane"><h2 id="h-opt">Options</h2><${Info} rows=${[
        ['Name', task.name], ['Site', name(data.sites, task.site_id)], ['Type', typeName(task.type)],
        ['Schedule', name(data.schedules, task.schedule_id)],
        ['Definition', name(data.definitions, task.definition_id, 'description')],
        ['Group', `${task.group.kind}: ${task.group.value}`], ['Enabled', task.enabled ? 'Yes' : 'No'],
        ['Next run', when(task.next_run_at)]]} />
        ${task.pending_changes && html`<p class="pending" role="status">Pending until the running execution ends:
          ${Object.keys(task.pending_changes).join(', ')}</p>`}
      </section>
      <section aria-labelledby="h-info" class="pane"><h2 id="h-info">Information</h2><${Info} rows=${[
        ['Created', when(task.created_at)], ['Last Modified', when(task.updated_at)],
        ['Last Modified By', task.updated_by], ['Status', task.status], ['Health', task.health],
        ['Command', task.command], ['Latest Detail', task.latest_detail], ['Sequence', task.sequence]]} />
      </section>
    </div>
    <section aria-labelledby="h-exec"><h2 id="h-exec">Executions</h2>
      <table class="executions"><thead><tr><th scope="col">Queued</th><th scope="col">Trigger</th><th scope="col">State</th>
        <th scope="col">Result</th><th scope="col">Mailboxes</th><th scope="col">Items</th><th scope="col">Items/s</th>
        <th scope="col">Group</th></tr></thead><tbody>
      ${data.execs.map((x) => html`<tr data-state=${x.state}><td>${when(x.queued_at)}</td><td>${x.trigger}</td>
        <td><${Badge} value=${x.state} /></td><td>${x.result || '—'}</td>
        <td><${Progress} done=${doneOf(x.mailboxes)} total=${x.mailboxes.total} label="Mailboxes done" /></td>
        <td>${x.items}</td><td>${rate(x)}</td><td class="membership">${membership(x)}</td></tr>`)}</tbody></table>
    </section>
    <section aria-labelledby="h-mbx"><h2 id="h-mbx">Mailboxes</h2>
      <table class="mailboxes"><thead><tr><th scope="col">Address</th><th scope="col">State</th><th scope="col">Items</th>
        <th scope="col">First full sync</th><th scope="col">Last sync</th><th scope="col">Reason</th></tr></thead><tbody>
      ${data.mailboxes.map((m) => html`<tr><td><a href=${`#/archive/${encodeURIComponent(m.address)}`}>${m.address}</a></td>
        <td><${Badge} value=${m.state} /></td><td>${m.items_replicated}</td><td>${when(m.first_full_sync_at)}</td>
        <td>${when(m.last_sync_at)}</td><td>${m.reason_text || '—'}</td></tr>`)}</tbody></table>
    </section>`;
}

// When the execution's group was resolved (from the worker's cache or not) and the members
// it could not synchronise — outside addresses, contacts, disabled users — with why.
function membership(x) {
  if (!x.membership_resolved_at) return '—';
  const sk = x.skipped_members;
  const listed = sk.listed.map((m) => `${m.address || m.dn} (${m.reason})`).join('; ');
  return `resolved ${when(x.membership_resolved_at)}${x.membership_from_cache ? ' (cached)' : ''}` +
    (sk.total ? `; ${sk.total} skipped: ${listed}${sk.total > sk.listed.length ? ' …' : ''}` : '');
}

// An instant in the schedule's own time zone (the browser's when that zone is unknown to it).
function inZone(t, timeZone) {
  try {
    return new Date(t).toLocaleString(undefined, { timeZone, dateStyle: 'medium', timeStyle: 'short' });
  } catch {
    return when(t);
  }
}

// The next runs of the schedule being typed, from the server (POST /schedules/preview), a
// moment after the last keystroke; the reason there are none when the fields do not add up.
function NextRuns({ body }) {
  const [runs, setRuns] = useState(null);
  const key = JSON.stringify(body);
  useEffect(() => {
    let alive = true;
    const timer = setTimeout(async () => {
      const { name, ...rest } = body;
      try {
        const r = await api.post('/schedules/preview', scheduleBody({ ...rest, name: name || undefined }));
        if (alive) setRuns({ list: r.next_runs });
      } catch (e) {
        if (alive) setRuns({ error: Object.values(e.fields)[0] || e.message });
      }
    }, 300);
    return () => { alive = false; clearTimeout(timer); };
  }, [key]);
  return html`<div class="next-runs" aria-live="polite"><h3>Next runs (${body.timezone})</h3>
    ${!runs ? html`<p>…</p>` : runs.error ? html`<p>None: ${runs.error}</p>`
      : runs.list.length === 0 ? html`<p>None.</p>`
      : html`<ol>${runs.list.map((t) => html`<li><time datetime=${t}>${inZone(t, body.timezone)}</time></li>`)}</ol>`}
  </div>`;
}

// A create form over fields [name, label, kind, options]; errors land at their field.
export function CreateForm({ title, fields, initial, submit, onDone, preview }) {
  const [body, setBody] = useState(initial);
  const [error, setError] = useState(null);
  // The API's message for each field, until that field is edited.
  const [errs, setErrs] = useState({});
  const change = (k, v) => {
    setBody({ ...body, [k]: v });
    if (errs[k]) { const { [k]: _, ...rest } = errs; setErrs(rest); }
  };
  const go = async (e) => {
    e.preventDefault();
    setError(null);
    setErrs({});
    try { onDone(await submit(body)); setBody(initial); } catch (err) { setError(err); setErrs(err.fields); }
  };
  return html`<form class="panel" aria-label=${title} onSubmit=${go}><h2>${title}</h2>
    ${fields.map(([k, label, kind, options]) => kind === 'select'
      ? html`<${SelectField} label=${label} name=${k} value=${body[k]} error=${errs[k]} options=${options}
          onChange=${(v) => change(k, v)} />`
      : html`<${TextField} label=${label} name=${k} value=${body[k]} error=${errs[k]} type=${kind || 'text'}
          onInput=${(v) => change(k, v)} />`)}
    ${preview && html`<${NextRuns} body=${body} />`}
    <${FormError} error=${error && Object.keys(error.fields).length === 0 ? error : null} />
    <button type="submit">Create</button></form>`;
}

// Schedule fields as the API takes them: empty inputs left out.
export function scheduleBody(b) {
  const out = { timezone: b.timezone, type: b.type };
  if (b.name !== undefined) out.name = b.name;
  if (b.type === 'one_off') out.run_at = b.run_at ? new Date(b.run_at).toISOString() : null;
  else {
    out.mode = b.mode;
    out.start_time = b.start_time || null;
    if (b.mode === 'many') {
      out.end_time = b.end_time || null;
      out.interval_minutes = b.interval_minutes ? Number(b.interval_minutes) : null;
    }
    if (b.type === 'weekly') out.days_of_week = b.days_of_week ? b.days_of_week.split(/[ ,]+/).filter(Boolean) : null;
  }
  return out;
}

export const SCHEDULE_FIELDS = [
  ['name', 'Name'], ['timezone', 'Time zone'],
  ['type', 'Type', 'select', [['daily', 'Daily'], ['weekly', 'Weekly'], ['one_off', 'One-off']]],
  ['mode', 'Mode', 'select', [['once', 'Once a day'], ['many', 'Every interval']]],
  ['start_time', 'Start time (HH:MM)'], ['end_time', 'End time (HH:MM, interval mode)'],
  ['interval_minutes', 'Interval (minutes)', 'number'],
  ['days_of_week', 'Days of week (weekly: monday, friday…)'], ['run_at', 'Run at (one-off)', 'datetime-local'],
];
export const SCHEDULE_INITIAL = { name: '', timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
  type: 'daily', mode: 'once', start_time: '02:00' };

// A datetime-local input's value (the browser's local time) for an instant.
function localInput(t) {
  if (!t) return '';
  const d = new Date(t);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// The form's values for a stored schedule.
function scheduleForm(s) {
  return { name: s.name, timezone: s.timezone, type: s.type, mode: s.mode || 'once', start_time: s.start_time || '',
    end_time: s.end_time || '', interval_minutes: s.interval_minutes ?? '',
    days_of_week: (s.days_of_week || []).join(', '), run_at: localInput(s.run_at) };
}

function ScheduleFields({ form }) {
  const { body, change, errs } = form;
  return html`${SCHEDULE_FIELDS.map(([k, label, kind, options]) => kind === 'select'
    ? html`<${SelectField} label=${label} name=${k} value=${body[k]} error=${errs[k]} options=${options}
        onChange=${(v) => change(k, v)} />`
    : html`<${TextField} label=${label} name=${k} value=${body[k]} error=${errorAt(errs, k)} type=${kind || 'text'}
        onInput=${(v) => change(k, v)} />`)}
    <${NextRuns} body=${body} />`;
}

export function Schedules() {
  const { admin } = useSession();
  const [created, setCreated] = useState(null);
  const [editing, setEditing] = useState(null);
  const [data, error, reload] = usePoll(() => api.all('/schedules'), [], 0);
  return html`<${Title}>Schedules<//>
    ${admin && !editing && html`<${CreateForm} title="New schedule" fields=${SCHEDULE_FIELDS} initial=${SCHEDULE_INITIAL} preview
      submit=${(b) => api.post('/schedules', scheduleBody(b))} onDone=${(s) => { setCreated(s); reload(); }} />`}
    ${editing && html`<${Editor} path=${`/schedules/${editing.id}`} title=${`Edit schedule ${editing.name}`}
      toForm=${scheduleForm} toBody=${scheduleBody} fields=${(form) => html`<${ScheduleFields} form=${form} />`}
      onDone=${(s) => { setEditing(null); setCreated(s); reload(); }} onCancel=${() => setEditing(null)} />`}
    ${created && html`<p role="status">Saved ${created.name}; next runs: ${created.next_runs.slice(0, 3).map(when).join(', ')}</p>`}
    ${!data ? html`<${Loading} error=${error} />` : html`<table class="schedules"><thead><tr><th scope="col">Name</th><th scope="col">Type</th>
      <th scope="col">Time zone</th><th scope="col">Next runs</th><th scope="col">Last modified by</th>
      ${admin && html`<th scope="col">Actions</th>`}</tr></thead><tbody>
      ${data.map((s) => html`<tr data-id=${s.id}><td>${s.name}</td><td>${s.type}${s.mode ? ` (${s.mode})` : ''}${s.start_time ? ` ${s.start_time}` : ''}</td><td>${s.timezone}</td>
        <td>${s.next_runs.slice(0, 3).map(when).join('; ') || '—'}</td><td>${s.updated_by}</td>
        ${admin && html`<td><button type="button" onClick=${() => { setCreated(null); setEditing(s); }}
          aria-label=${`Edit ${s.name}`}>Edit</button>
          <${DeleteButton} what=${s.name} path=${`/schedules/${s.id}`} onDone=${reload} /></td>`}</tr>`)}</tbody></table>`}`;
}

// A secret shown once, right after the API returned it.
function Secret({ what, creds, onClose }) {
  return html`<div class="panel secret" role="alert"><h2>Credentials of ${what}</h2>
    <p>Shown once only: copy them into the worker's configuration now.</p>
    <dl class="info"><dt>Client ID</dt><dd><code>${creds.client_id}</code></dd>
      <dt>Client secret</dt><dd><code>${creds.client_secret}</code></dd></dl>
    <button onClick=${onClose}>I have copied them</button></div>`;
}

export function Sites() {
  const { admin } = useSession();
  const [shown, setShown] = useState(null);
  const [err, setErr] = useState(null);
  const [data, error, reload] = usePoll(() => api.all('/sites'), [], 5000);
  const rotate = async (s) => {
    try { const r = await api.post(`/sites/${s.id}/credentials`); setShown({ what: s.name, creds: r.credentials || r }); } catch (e) { setErr(e); }
  };
  return html`<${Title}>Sites<//>
    ${shown && html`<${Secret} ...${shown} onClose=${() => setShown(null)} />`}
    ${admin && html`<${CreateForm} title="New site" fields=${[['name', 'Name'], ['description', 'Description']]}
      initial=${{ name: '', description: '' }} submit=${(b) => api.post('/sites', b)}
      onDone=${(s) => { setShown({ what: s.name, creds: s.credentials }); reload(); }} />`}
    <${FormError} error=${err} />
    ${!data ? html`<${Loading} error=${error} />` : html`<table><thead><tr><th scope="col">Name</th><th scope="col">Status</th>
      <th scope="col">Last heartbeat</th><th scope="col">Version</th><th scope="col">Client ID</th>${admin && html`<th scope="col">Credentials</th>`}</tr></thead><tbody>
      ${data.map((s) => html`<tr><td>${s.name}</td><td><${Badge} value=${s.status} /></td><td>${when(s.last_seen_at)}</td>
        <td>${s.version || '—'}</td><td><code>${s.credentials && s.credentials.client_id}</code></td>
        ${admin && html`<td><button onClick=${() => rotate(s)}>Rotate</button></td>`}</tr>`)}</tbody></table>`}`;
}

export function Clients() {
  const [shown, setShown] = useState(null);
  const [data, error, reload] = usePoll(() => api.all('/api-clients'), [], 0);
  return html`<${Title}>API Clients<//>
    ${shown && html`<${Secret} ...${shown} onClose=${() => setShown(null)} />`}
    <${CreateForm} title="New API client" fields=${[['name', 'Name'], ['role', 'Role', 'select', [['admin', 'Admin'], ['read_only', 'Read-only']]]]}
      initial=${{ name: '', role: 'read_only' }} submit=${(b) => api.post('/api-clients', b)}
      onDone=${(c) => { setShown({ what: c.name, creds: c }); reload(); }} />
    ${!data ? html`<${Loading} error=${error} />` : html`<table><thead><tr><th scope="col">Name</th><th scope="col">Client ID</th>
      <th scope="col">Role</th><th scope="col">Enabled</th></tr></thead><tbody>
      ${data.map((c) => html`<tr><td>${c.name}</td><td><code>${c.client_id}</code></td><td>${c.role}</td><td>${c.enabled ? 'Yes' : 'No'}</td></tr>`)}</tbody></table>`}`;
}

export function Audit() {
  const [f, setF] = useState({ action: '', resource_type: '', actor: '' });
  const [q, setQ] = useState(f);
  const [data, error] = usePoll(() => api.get('/audit-events', { ...q, limit: 100 }), [q.action, q.resource_type, q.actor], 0);
  const set = (k) => (v) => setF({ ...f, [k]: v });
  return html`<${Title}>Audit Log<//>
    <form class="filters" aria-label="Filter audit events" onSubmit=${(e) => { e.preventDefault(); setQ(f); }}>
      <${TextField} label="Action" name="action" value=${f.action} onInput=${set('action')} />
      <${TextField} label="Resource type" name="resource_type" value=${f.resource_type} onInput=${set('resource_type')} />
      <${TextField} label="Actor" name="actor" value=${f.actor} onInput=${set('actor')} />
      <button type="submit">Filter</button></form>
    ${error && html`<${Loading} error=${error} />`}
    ${data && html`<table><thead><tr><th scope="col">At</th><th scope="col">Actor</th><th scope="col">Action</th>
      <th scope="col">Resource</th><th scope="col">Request</th></tr></thead><tbody>
      ${data.items.map((e) => html`<tr><td>${when(e.at)}</td><td>${e.actor}</td><td>${e.action}</td>
        <td>${e.resource_type} ${e.resource_id || ''}</td><td><code>${e.request_id}</code></td></tr>`)}</tbody></table>`}`;
}
