// SPDX-License-Identifier: Apache-2.0
// Sync & Recover (docs/sync-recover.md): server connections with their "Test", and sync tasks
// with the wizard's fields, their seed 002 status, start/stop, membership refresh and delete.
import { html, useEffect, useRef, useState } from './preact-htm.js';
import * as api from './api.js';
import { Badge, CheckField, FormError, ListField, Loading, Pager, SelectField, TextField, errorAt, lines,
  usePages, usePoll, useSession, when } from './ui.js';
import { DeleteButton, Editor, shows, unmatched, useForm } from './edit.js';

const AUTH = [['ntlm', 'NTLM'], ['basic', 'Basic'], ['oauth2_bearer', 'OAuth 2.0 bearer token']];
const GROUPS = [['ad_group', 'Active Directory group (DN)'], ['group_email', 'Group email address'],
  ['mailbox', 'One mailbox'], ['mailbox_list', "Mailbox list (';' separated)"]];
const DAYS = [['all', 'Every day'], ...['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']
  .map((d) => [d, d[0].toUpperCase() + d.slice(1)])];
const PAGE = 50;

function Title({ children }) {
  return html`<h1 tabindex="-1">${children}</h1>`;
}

// ---- server connections ----

function connectionForm(c) {
  return { name: c.name, site_id: c.site_id, ews_url: c.ews_url, authentication: c.authentication,
    service_account: c.service_account, secret: '', impersonation: c.impersonation, tls_verify: c.tls_verify };
}

// The body to send: a secret left empty is left out (on edit that keeps the stored one; on
// create the API then says it is required).
function connectionBody(b) {
  const { secret, ...rest } = b;
  return secret ? { ...rest, secret } : rest;
}

function ConnectionFields({ form, sites, editing }) {
  const { body, change, errs } = form;
  const text = (k, label, type = 'text', extra = {}) => html`<${TextField} label=${label} name=${k} type=${type}
    value=${body[k]} error=${errs[k]} onInput=${(v) => change(k, v)} ...${extra} />`;
  return html`${text('name', 'Name')}
    <${SelectField} label="Site (whose workers reach this Exchange)" name="site_id" value=${body.site_id} error=${errs.site_id}
      onChange=${(v) => change('site_id', v)} options=${sites.map((s) => [s.id, s.name])} />
    ${text('ews_url', 'EWS URL (https://…/EWS/Exchange.asmx)', 'text', { inputmode: 'url' })}
    <${SelectField} label="Authentication" name="authentication" value=${body.authentication} error=${errs.authentication}
      onChange=${(v) => change('authentication', v)} options=${AUTH} />
    ${text('service_account', 'Service account')}
    ${text('secret', body.authentication === 'oauth2_bearer' ? 'Bearer token' : 'Password', 'password',
      { autocomplete: 'new-password', hint: editing ? 'Stored and never shown; leave empty to keep it.' : 'Stored sealed and never shown again.' })}
    <${CheckField} label="Use impersonation (else act as a delegate)" name="impersonation" value=${body.impersonation}
      error=${errs.impersonation} onChange=${(v) => change('impersonation', v)} />
    <${CheckField} label="Verify the server's TLS certificate" name="tls_verify" value=${body.tls_verify}
      error=${errs.tls_verify} onChange=${(v) => change('tls_verify', v)} />`;
}

function ConnectionCreate({ sites, onDone }) {
  const init = { name: '', site_id: sites[0] ? sites[0].id : '', ews_url: '', authentication: 'ntlm',
    service_account: '', secret: '', impersonation: true, tls_verify: true };
  const form = useForm(init);
  const el = useRef(null);
  const submit = async (e) => {
    e.preventDefault();
    form.clear();
    try { onDone(await api.post('/server-connections', connectionBody(form.body))); form.reset(init); } catch (err) { form.failed(err); }
  };
  return html`<form class="panel" ref=${el} aria-label="New server connection" onSubmit=${submit}>
    <h2>New server connection</h2><${ConnectionFields} form=${form} sites=${sites} />
    <${FormError} error=${unmatched(form.error, (f) => shows(el.current, f))} />
    <button type="submit">Create</button></form>`;
}

// A test's outcome in words; badged, the state itself is left to the badge.
function testText(t, badged = false) {
  if (!t) return 'never tested';
  const state = badged ? '' : t.state;
  if (t.state === 'pending') return `${state} since ${when(t.requested_at)}, waiting for a worker of the site`.trim();
  const how = `${t.latency_ms ?? '—'} ms${t.server_version ? `, ${t.server_version}` : ''}${t.mailbox ? `, mailbox ${t.mailbox}` : ''}`;
  return t.state === 'succeeded' ? `${state} (${how})`.trim()
    : `${state ? `${state}: ` : ''}${t.reason_code || 'error'} — ${t.detail || ''} (${how})`;
}

// "Test": asks a worker of the site to reach Exchange, then follows the test until it ends.
function ConnectionTest({ conn, onDone }) {
  const [mailbox, setMailbox] = useState('');
  const el = useRef(null);
  useEffect(() => { el.current.querySelector('input').focus(); }, []);
  const [test, setTest] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (!test || test.state !== 'pending') return undefined;
    const timer = setTimeout(async () => {
      try {
        const t = await api.request('GET', `/server-connections/${conn.id}/tests/${test.id}`, { fresh: true });
        setTest(t);
        if (t.state !== 'pending') onDone();
      } catch (e) { setError(e); }
    }, 1000);
    return () => clearTimeout(timer);
  }, [test]);
  const run = async (e) => {
    e.preventDefault();
    setError(null);
    try { setTest(await api.post(`/server-connections/${conn.id}/test`, mailbox ? { mailbox } : {})); } catch (err) { setError(err); }
  };
  return html`<form class="panel" ref=${el} aria-label=${`Test ${conn.name}`} onSubmit=${run}><h2>Test ${conn.name}</h2>
    <${TextField} label="Mailbox to open (empty: the service account's own)" name="mailbox" value=${mailbox}
      onInput=${setMailbox} error=${error && error.fields.mailbox} />
    <${FormError} error=${error && !error.fields.mailbox ? error : null} />
    <button type="submit" disabled=${test && test.state === 'pending'}>Run test</button>
    <p class=${`test-result test-${test ? test.state : 'none'}`} role="status" data-state=${test ? test.state : ''}>
      ${test ? testText(test) : ''}</p></form>`;
}

export function Connections() {
  const { admin } = useSession();
  const [editing, setEditing] = useState(null);
  const [testing, setTesting] = useState(null);
  const pages = usePages('');
  const [data, error, reload] = usePoll(async () => {
    const [sites, conns] = await Promise.all([api.all('/sites'), api.page('/server-connections', {}, pages.cursor, PAGE)]);
    return { sites, conns: conns.items, next: conns.next_cursor };
  }, [pages.cursor], 5000);
  if (!data) return html`<${Title}>Server Connections<//><${Loading} error=${error} />`;
  const site = (id) => (data.sites.find((s) => s.id === id) || {}).name || id;
  return html`<${Title}>Server Connections<//>
    <p>The Exchange servers the sites' workers reach for Sync & Recover. Secrets are write-only.</p>
    ${admin && !editing && html`<${ConnectionCreate} sites=${data.sites} onDone=${reload} />`}
    ${editing && html`<${Editor} path=${`/server-connections/${editing.id}`} title=${`Edit connection ${editing.name}`}
      toForm=${connectionForm} toBody=${connectionBody}
      fields=${(form) => html`<${ConnectionFields} form=${form} sites=${data.sites} editing />`}
      onDone=${() => { setEditing(null); reload(); }} onCancel=${() => setEditing(null)} />`}
    ${testing && html`<${ConnectionTest} key=${testing.id} conn=${testing} onDone=${reload} />`}
    <table class="connections"><thead><tr><th scope="col">Name</th><th scope="col">Site</th><th scope="col">EWS URL</th>
      <th scope="col">Authentication</th><th scope="col">Service account</th><th scope="col">Impersonation</th>
      <th scope="col">TLS verified</th><th scope="col">Last test</th>${admin && html`<th scope="col">Actions</th>`}</tr></thead><tbody>
      ${data.conns.map((c) => html`<tr data-id=${c.id}><td>${c.name}</td><td>${site(c.site_id)}</td><td><code>${c.ews_url}</code></td>
        <td>${c.authentication}</td><td>${c.service_account}</td><td>${c.impersonation ? 'Yes' : 'No'}</td>
        <td>${c.tls_verify ? 'Yes' : 'No (test servers only)'}</td>
        <td class="last-test">${c.last_test ? html`<${Badge} value=${c.last_test.state} /> ` : ''}${testText(c.last_test, true)}</td>
        ${admin && html`<td class="row-actions"><button type="button" aria-label=${`Test ${c.name}`} onClick=${() => setTesting(c)}>Test</button>
          <button type="button" aria-label=${`Edit ${c.name}`} onClick=${() => setEditing(c)}>Edit</button>
          <${DeleteButton} what=${c.name} path=${`/server-connections/${c.id}`} onDone=${reload} /></td>`}</tr>`)}</tbody></table>
    ${data.conns.length === 0 && html`<p>No server connection yet.</p>`}
    <${Pager} label="Connection pages" first=${pages.first} count=${data.conns.length} next=${data.next}
      hasPrev=${pages.hasPrev} onNext=${() => pages.next(data.next, data.conns.length)} onPrev=${pages.prev} />`;
}

// ---- sync tasks ----

const EXCLUSION = { day: 'all', from: '', to: '', region: '' };

function syncForm(t) {
  return { name: t.name, connection_id: t.connection_id, kind: t.group.kind, value: t.group.value, mail: t.mail,
    calendars: t.calendars, message_classes: t.message_classes.join('\n'), include_sensitive: t.include_sensitive,
    exclusions_active: t.exclusions_active, exclusions: t.exclusions.map((x) => ({ ...x })),
    interval_minutes: t.interval_minutes, enabled: t.enabled };
}

// The body to send. An exclusion's empty member is left out, so the API names it
// (exclusions[0].region: is required) at its input rather than a client-side guess.
function syncBody(b, creating) {
  const out = { name: b.name, connection_id: b.connection_id, mail: b.mail, calendars: b.calendars,
    message_classes: lines(b.message_classes), include_sensitive: b.include_sensitive,
    exclusions_active: b.exclusions_active,
    exclusions: b.exclusions.map((x) => Object.fromEntries(Object.entries(x).filter(([, v]) => v !== ''))),
    interval_minutes: b.interval_minutes === '' ? undefined : Number(b.interval_minutes) };
  if (creating) {
    out.group = { kind: b.kind, value: b.value };
    out.enabled = b.enabled;
  }
  return out;
}

function SyncFields({ form, conns, creating }) {
  const { body, change, errs } = form;
  const setX = (i, k) => (v) => change('exclusions', body.exclusions.map((x, j) => (j === i ? { ...x, [k]: v } : x)));
  const xe = (i, k) => errs[`exclusions[${i}].${k}`];
  return html`<${TextField} label="Name" name="name" value=${body.name} error=${errs.name} onInput=${(v) => change('name', v)} />
    <${SelectField} label="Server connection" name="connection_id" value=${body.connection_id} error=${errs.connection_id}
      onChange=${(v) => change('connection_id', v)} options=${conns.map((c) => [c.id, c.name])} />
    ${creating ? html`<${SelectField} label="Group kind" name="group.kind" value=${body.kind} error=${errs['group.kind']}
        onChange=${(v) => change('kind', v)} options=${GROUPS} />
      <${TextField} label="Group" name="group.value" value=${body.value} error=${errs['group.value'] || errs.group}
        onInput=${(v) => change('value', v)} />`
      : html`<p>Group: ${body.kind}: ${body.value} (fixed after creation)</p>`}
    <${CheckField} label="Archive mail" name="mail" value=${body.mail} error=${errs.mail} onChange=${(v) => change('mail', v)} />
    <${CheckField} label="Archive calendars (off: kept for recovery only)" name="calendars" value=${body.calendars}
      error=${errs.calendars} onChange=${(v) => change('calendars', v)} />
    <${ListField} label="Message classes in addition to the default list (one a line, e.g. IPM.Note.Custom)"
      name="message_classes" value=${body.message_classes} error=${errorAt(errs, 'message_classes')}
      onInput=${(v) => change('message_classes', v)} />
    <${CheckField} label="Archive items marked Private or Confidential" name="include_sensitive" value=${body.include_sensitive}
      error=${errs.include_sensitive} onChange=${(v) => change('include_sensitive', v)} />
    <${TextField} label="Synchronise each mailbox every (minutes)" name="interval_minutes" type="number"
      value=${body.interval_minutes} error=${errs.interval_minutes} onInput=${(v) => change('interval_minutes', v)} />
    <fieldset data-field="exclusions"><legend>Exclusions: windows with no synchronisation</legend>
      <${CheckField} label="Exclusions active" name="exclusions_active" value=${body.exclusions_active}
        error=${errs.exclusions_active} onChange=${(v) => change('exclusions_active', v)} />
      ${body.exclusions.map((x, i) => html`<div class="row exclusion" role="group" aria-label=${`Exclusion ${i + 1}`}>
        <${SelectField} label="Day" name=${`exclusions[${i}].day`} value=${x.day} error=${xe(i, 'day')} onChange=${setX(i, 'day')} options=${DAYS} />
        <${TextField} label="From (HH:MM)" name=${`exclusions[${i}].from`} value=${x.from} error=${xe(i, 'from')} onInput=${setX(i, 'from')} />
        <${TextField} label="To (HH:MM)" name=${`exclusions[${i}].to`} value=${x.to} error=${xe(i, 'to')} onInput=${setX(i, 'to')} />
        <${TextField} label="Region (time zone, e.g. Europe/Berlin)" name=${`exclusions[${i}].region`} value=${x.region}
          error=${xe(i, 'region')} onInput=${setX(i, 'region')} />
        <button type="button" aria-label=${`Remove exclusion ${i + 1}`}
          onClick=${() => change('exclusions', body.exclusions.filter((_, j) => j !== i))}>Remove</button>
        ${errs[`exclusions[${i}]`] && html`<p class="field-error" role="alert">${errs[`exclusions[${i}]`]}</p>`}</div>`)}
      ${errs.exclusions && html`<p class="field-error" role="alert">${errs.exclusions}</p>`}
      <button type="button" onClick=${() => change('exclusions', [...body.exclusions, { ...EXCLUSION }])}>Add exclusion</button>
    </fieldset>
    ${creating && html`<${CheckField} label="Start at once" name="enabled" value=${body.enabled}
      error=${errs.enabled} onChange=${(v) => change('enabled', v)} />`}`;
}

function SyncCreate({ conns, onDone }) {
  const init = { name: '', connection_id: conns[0] ? conns[0].id : '', kind: 'mailbox', value: '', mail: true,
    calendars: true, message_classes: '', include_sensitive: false, exclusions_active: false, exclusions: [],
    interval_minutes: 15, enabled: true };
  const form = useForm(init);
  const el = useRef(null);
  const submit = async (e) => {
    e.preventDefault();
    form.clear();
    try { onDone(await api.post('/sync-tasks', syncBody(form.body, true))); form.reset(init); } catch (err) { form.failed(err); }
  };
  return html`<form class="panel" ref=${el} aria-label="New sync task" onSubmit=${submit}><h2>New sync task</h2>
    <${SyncFields} form=${form} conns=${conns} creating />
    <${FormError} error=${unmatched(form.error, (f) => shows(el.current, f))} />
    <button type="submit">Create</button></form>`;
}

const counts = (c) => `${c.total} (${c.ok} ok, ${c.warning} warning, ${c.error} error)`;

export function SyncTasks() {
  const { admin } = useSession();
  const [created, setCreated] = useState(null);
  const [enabled, setEnabled] = useState('');
  const pages = usePages(enabled);
  const [data, error, reload] = usePoll(async () => {
    const [conns, tasks] = await Promise.all([api.all('/server-connections'),
      api.page('/sync-tasks', { enabled }, pages.cursor, PAGE)]);
    return { conns, tasks: tasks.items, next: tasks.next_cursor };
  }, [enabled, pages.cursor], 5000);
  if (!data) return html`<${Title}>Sync Tasks<//><${Loading} error=${error} />`;
  const conn = (id) => (data.conns.find((c) => c.id === id) || {}).name || id;
  return html`<${Title}>Sync Tasks<//>
    ${admin && (data.conns.length ? html`<${SyncCreate} conns=${data.conns} onDone=${(t) => { setCreated(t); reload(); }} />`
      : html`<p>Create a <a href="#/connections">server connection</a> first.</p>`)}
    ${created && html`<p role="status">Created <a href=${`#/sync-tasks/${created.id}`}>${created.name}</a>.</p>`}
    <form class="filters" aria-label="Filter sync tasks" onSubmit=${(e) => e.preventDefault()}>
      <${SelectField} label="Show" name="enabled" value=${enabled} onChange=${setEnabled}
        options=${[['', 'All sync tasks'], ['true', 'Started'], ['false', 'Stopped']]} /></form>
    <table class="sync-tasks"><thead><tr><th scope="col">Name</th><th scope="col">Connection</th><th scope="col">Group</th>
      <th scope="col">Status</th><th scope="col">Mailboxes</th><th scope="col">Latest detail</th></tr></thead><tbody>
      ${data.tasks.map((t) => html`<tr data-id=${t.id}><td><a href=${`#/sync-tasks/${t.id}`}>${t.name}</a></td><td>${conn(t.connection_id)}</td>
        <td>${t.group.kind}: ${t.group.value}</td><td><${Badge} value=${t.status} /></td><td>${counts(t.mailbox_counts)}</td>
        <td>${t.latest_detail}</td></tr>`)}</tbody></table>
    ${data.tasks.length === 0 && html`<p>No sync task yet.</p>`}
    <${Pager} label="Sync task pages" first=${pages.first} count=${data.tasks.length} next=${data.next}
      hasPrev=${pages.hasPrev} onNext=${() => pages.next(data.next, data.tasks.length)} onPrev=${pages.prev} />`;
}

export function SyncTaskDetail({ id }) {
  const { admin } = useSession();
  const [editing, setEditing] = useState(false);
  const [note, setNote] = useState(null);
  const [actionError, setActionError] = useState(null);
  const [data, error, reload] = usePoll(async () => {
    const [task, mailboxes, conns] = await Promise.all([api.get(`/sync-tasks/${id}`),
      api.get(`/sync-tasks/${id}/mailboxes`, { limit: 200 }), api.all('/server-connections')]);
    return { task, mailboxes: mailboxes.items, conns };
  }, [id], 5000);
  if (!data) return html`<${Title}>Sync Task<//><${Loading} error=${error} />`;
  const { task } = data;
  const act = async (what, fn) => {
    setActionError(null);
    setNote(null);
    try { await fn(); setNote(what); reload(); } catch (e) { setActionError(e); }
  };
  const conn = (data.conns.find((c) => c.id === task.connection_id) || {}).name || task.connection_id;
  return html`<${Title}>${task.name}<//>
    ${admin && html`<div class="actions" role="group" aria-label="Sync task actions">
      ${task.enabled ? html`<button onClick=${() => act('Stopped.', () => api.post(`/sync-tasks/${id}/stop`))}>Stop</button>`
        : html`<button onClick=${() => act('Started.', () => api.post(`/sync-tasks/${id}/start`))}>Start</button>`}
      <button onClick=${() => setEditing(true)}>Edit</button>
      <button onClick=${() => act('The group is resolved afresh at the workers\u2019 next heartbeat.',
        () => api.post(`/sync-tasks/${id}/membership/refresh`))}>Refresh membership</button>
      <${DeleteButton} what=${task.name} path=${`/sync-tasks/${id}`} onDone=${() => { location.hash = '#/sync-tasks'; }} />
    </div>`}
    ${note && html`<p role="status">${note}</p>`}
    <${FormError} error=${actionError} />
    ${editing && html`<${Editor} path=${`/sync-tasks/${id}`} title=${`Edit sync task ${task.name}`}
      toForm=${syncForm} toBody=${(b) => syncBody(b, false)}
      fields=${(form) => html`<${SyncFields} form=${form} conns=${data.conns} />`}
      onDone=${() => { setEditing(false); setNote('Saved.'); reload(); }} onCancel=${() => setEditing(false)} />`}
    <dl class="info">
      <dt>Status</dt><dd data-info="Status"><${Badge} value=${task.status} /></dd>
      <dt>Latest Detail</dt><dd data-info="Latest Detail">${task.latest_detail}</dd>
      <dt>Content synchronisation</dt><dd data-info="Content sync">${task.content_sync}</dd>
      <dt>Connection</dt><dd>${conn}</dd><dt>Group</dt><dd>${task.group.kind}: ${task.group.value}</dd>
      <dt>Mail</dt><dd>${task.mail ? 'Yes' : 'No'}</dd><dt>Calendars</dt><dd>${task.calendars ? 'Yes' : 'No (recovery only)'}</dd>
      <dt>Additional message classes</dt><dd>${task.message_classes.join(', ') || 'none'}</dd>
      <dt>Private and Confidential items</dt><dd>${task.include_sensitive ? 'archived' : 'not archived'}</dd>
      <dt>Interval</dt><dd>${task.interval_minutes} min</dd>
      <dt>Exclusions</dt><dd data-info="Exclusions">${task.exclusions_active ? '' : '(inactive) '}${task.exclusions
        .map((x) => `${x.day} ${x.from}–${x.to} ${x.region}`).join('; ') || 'none'}</dd>
      <dt>Mailboxes</dt><dd>${counts(task.mailbox_counts)}</dd>
      <dt>Last Modified</dt><dd>${when(task.updated_at)} by ${task.updated_by}</dd></dl>
    <section aria-labelledby="h-smbx"><h2 id="h-smbx">Mailboxes</h2>
      ${data.mailboxes.length === 0 ? html`<p>No worker has reported a mailbox of this task.</p>` : html`<table>
        <thead><tr><th scope="col">Address</th><th scope="col">State</th><th scope="col">Reason</th><th scope="col">Detail</th>
        <th scope="col">Last sync</th></tr></thead><tbody>${data.mailboxes.map((m) => html`<tr><td>${m.address}</td>
        <td><${Badge} value=${m.state} /></td><td>${m.reason_code || '—'}</td><td>${m.detail || '—'}</td>
        <td>${when(m.last_sync_at)}</td></tr>`)}</tbody></table>`}</section>`;
}
