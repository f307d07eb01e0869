// SPDX-License-Identifier: Apache-2.0
// Drives the console in Debian's Chromium (headless, puppeteer-core: no browser download).
// Usage: node drive.mjs SCENARIO, with the server and credentials in MSE_CONSOLE_* variables;
// prints one JSON line of findings for test_console.py to assert on. Screenshots and axe-core
// reports go to MSE_CONSOLE_ARTEFACTS.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const env = (k) => process.env[`MSE_CONSOLE_${k}`];
const BASE = env('URL');
const OUT = env('ARTEFACTS');
const out = { pages: {}, console_errors: [] };

async function axe(page, name) {
  // Injected by the test (puppeteer's evaluate is not subject to the page's CSP).
  await page.evaluate(AXE);
  const res = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  fs.writeFileSync(path.join(OUT, `axe-${name}.json`), JSON.stringify(res.violations, null, 1));
  out.pages[name] = { axe: bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`) };
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true });
}

async function visit(page, name) {
  await axe(page, name);
  await shot(page, name);
}

// The paths of API answers of 304 seen since it was last cleared.
const notModified = new Set();

// Waits, in this process, until cond() holds (a state, not a time); throws after ms.
async function until(cond, ms, what) {
  for (const end = Date.now() + ms; !cond();) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());
const count = (page, sel) => page.$$eval(sel, (l) => l.length);

async function signIn(page, id, secret) {
  await page.goto(`${BASE}/console`, { waitUntil: 'networkidle0' });
  await page.waitForSelector('form[aria-label="Sign in"]');
  await page.type('[name=client_id]', id);
  await page.type('[name=client_secret]', secret);
  await page.click('button[type=submit]');
  await page.waitForSelector('button.signout');
  await page.waitForSelector('main h1');
}

async function go(page, hash, sel) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector(sel, { timeout: 15000 });
}

async function clickText(page, tag, label) {
  const el = await page.waitForSelector(`::-p-xpath(//${tag}[normalize-space()="${label}"])`, { timeout: 10000 });
  await el.click();
}

async function fieldError(page, name) {
  return page.$eval(`[data-field="${name}"] .field-error`, (e) => e.textContent).catch(() => null);
}

// A call to the API from outside the browser, as another administrator would make it.
async function apiCall(method, urlPath, body) {
  const t = await fetch(`${BASE}/api/v1/oauth/token`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: env('ADMIN_ID'),
      client_secret: env('ADMIN_SECRET') }).toString() }).then((r) => r.json());
  const r = await fetch(`${BASE}/api/v1${urlPath}`, {
    method, headers: { Authorization: `Bearer ${t.access_token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`${method} ${urlPath}: HTTP ${r.status} ${await r.text()}`);
  return r.json();
}

// Sign in as admin; a schedule, a definition and a task through the wizard; run it to the end;
// the archive; every page checked by axe-core.
async function admin(page) {
  await page.goto(`${BASE}/console`, { waitUntil: 'networkidle0' });
  await visit(page, 'signin');
  await signIn(page, env('ADMIN_ID'), env('ADMIN_SECRET'));
  await page.waitForSelector('#h-sites');
  await visit(page, 'dashboard');

  await go(page, '#/tasks/new', '.wizard');
  await page.select('[name=site_id]', env('SITE_ID'));
  await visit(page, 'wizard');
  await clickText(page, 'button', 'Next');
  await clickText(page, 'button', 'Create New schedule');
  // A validation error must appear at its field: an impossible start time.
  await page.type('form[aria-label="Create New schedule"] [name=name]', env('SCHEDULE'));
  const st = await page.$('form[aria-label="Create New schedule"] [name=start_time]');
  await st.click({ clickCount: 3 });
  await st.type('25:99');
  await page.click('form[aria-label="Create New schedule"] button[type=submit]');
  await page.waitForSelector('[data-field="start_time"] .field-error');
  out.start_time_error = await fieldError(page, 'start_time');
  out.start_time_invalid = await page.$eval('[data-field="start_time"] input', (e) => e.getAttribute('aria-invalid'));
  await shot(page, 'validation-error');
  await st.click({ clickCount: 3 });
  await st.type('03:00');
  out.start_time_error_after_edit = await fieldError(page, 'start_time');
  // The next runs follow the typing, before anything is saved: five runs at 03:00 local time.
  await page.waitForFunction(() => document.querySelectorAll('.next-runs li').length === 5, { timeout: 10000 });
  out.preview = await page.$$eval('.next-runs time', (l) => l.map((t) => t.getAttribute('datetime')));
  out.preview_zone = await page.$eval('form[aria-label="Create New schedule"] [name=timezone]', (e) => e.value);
  await shot(page, 'schedule-preview');
  await page.click('form[aria-label="Create New schedule"] button[type=submit]');
  await page.waitForSelector('form[aria-label="Create New schedule"]', { hidden: true });
  await page.waitForFunction((n) => { const e = document.querySelector('[name=schedule_id]');
    return e.selectedIndex >= 0 && e.options[e.selectedIndex].text === n; }, { timeout: 10000 }, env('SCHEDULE'));
  out.schedule_selected = await page.$eval('[name=schedule_id]', (e) => e.options[e.selectedIndex].text);
  await clickText(page, 'button', 'Next');
  await page.select('[name=type]', 'mailbox_folder_replication');
  await clickText(page, 'button', 'Next');
  await clickText(page, 'button', 'Create New definition');
  await page.type('form[aria-label="Create New definition"] [name=description]', env('DEFINITION'));
  await page.click('form[aria-label="Create New definition"] button[type=submit]');
  await page.waitForSelector('form[aria-label="Create New definition"]', { hidden: true });
  await page.waitForFunction((n) => { const e = document.querySelector('[name=definition_id]');
    return e.selectedIndex >= 0 && e.options[e.selectedIndex].text === n; }, { timeout: 10000 }, env('DEFINITION'));
  out.definition_selected = await page.$eval('[name=definition_id]', (e) => e.options[e.selectedIndex].text);
  await clickText(page, 'button', 'Next');
  // Look up an AD group: picking a result fills in its DN.
  await page.select('[name="group.kind"]', 'ad_group');
  await page.type('[name=lookup]', 'engin');
  await clickText(page, 'button', 'Engineering');
  out.picked_dn = await page.$eval('[name="group.value"]', (e) => e.value);
  await visit(page, 'wizard-group-lookup');
  // The task itself replicates one mailbox.
  await page.select('[name="group.kind"]', 'mailbox');
  const gv = await page.$('[name="group.value"]');
  await gv.click({ clickCount: 3 });
  await page.keyboard.press('Backspace');
  await gv.type(env('MAILBOX'));
  await clickText(page, 'button', 'Next');
  await page.type('[name=name]', env('TASK'));
  await clickText(page, 'button', 'Save and Exit');
  await page.waitForSelector('#h-info', { timeout: 15000 });
  out.task_url = await page.evaluate(() => location.hash);

  await clickText(page, 'button', 'Run now');
  await page.waitForSelector('.executions tr[data-state="completed"]', { timeout: 90000 });
  await page.waitForFunction(() => Number(document.querySelector('[data-info="Sequence"]').textContent) > 0,
    { timeout: 15000 });
  out.sequence = Number(await text(page, '[data-info="Sequence"]'));
  // The execution's progress bar, as the browser shows it: every mailbox done.
  out.progress = await page.$eval('.executions tr[data-state="completed"] progress', (e) => [e.value, e.max]);
  out.mailbox_state = await text(page, '.mailboxes tbody tr td:nth-child(2)');
  out.membership = await text(page, '.executions tr[data-state="completed"] .membership');
  await visit(page, 'task-detail');
  // The page polls; once the run has ended, each list it polls is answered 304 (unchanged):
  // the server honours If-None-Match with the ETag the console kept.
  const id = out.task_url.split('/').pop();
  const polled = [`/api/v1/exchange-tasks/${id}/executions`, `/api/v1/exchange-tasks/${id}/mailboxes`,
    '/api/v1/schedules', '/api/v1/definitions'];
  notModified.clear();
  await until(() => polled.every((p) => notModified.has(p)), 30000, 'the task page\'s lists answered 304');
  out.task_page_not_modified = polled.filter((p) => notModified.has(p)).length;

  await go(page, `#/archive/${encodeURIComponent(env('MAILBOX'))}`, '.folders button');
  const folders = await page.$$('.folders button');
  for (const f of folders) {
    if ((await f.evaluate((e) => e.textContent)).match(/Inbox/i)) { await f.click(); break; }
  }
  await page.waitForSelector('table.items');
  out.archive_rows = await count(page, 'table.items tbody tr');
  await visit(page, 'archive');

  for (const [hash, sel, name] of [['#/tasks', 'table.tasks', 'tasks'], ['#/schedules', 'main table', 'schedules'],
    ['#/definitions', 'main table', 'definitions'], ['#/sites', 'main table', 'sites'],
    ['#/clients', 'main table', 'clients'], ['#/audit', 'main table', 'audit'], ['#/archive', 'main table', 'archive-mailboxes'],
    ['#/search', 'form[aria-label="Search the archive"]', 'search-empty'], ['#/connections', 'table.connections', 'connections-empty'],
    ['#/sync-tasks', 'table.sync-tasks', 'sync-tasks-empty']]) {
    await go(page, hash, sel);
    await visit(page, name);
  }
  // Live: the dashboard follows a change made elsewhere (here, the API) without a reload.
  await go(page, '#/dashboard', '#h-sites');
  const disabled = () => page.$eval('[data-status="disabled"]', (e) => Number(e.textContent));
  out.disabled_before = await disabled();
  await page.evaluate(() => { globalThis.notReloaded = true; });
  await apiCall('PATCH', `/exchange-tasks/${out.task_url.split('/').pop()}`, { enabled: false });
  await page.waitForFunction((n) => Number(document.querySelector('[data-status="disabled"]').textContent) > n,
    { timeout: 15000 }, out.disabled_before);
  out.disabled_after = await disabled();
  out.live_without_reload = await page.evaluate(() => globalThis.notReloaded === true);
  // Nothing changes any more: the summary's next polls are answered 304.
  notModified.clear();
  await until(() => notModified.has('/api/v1/exchange-services/summary'), 30000, 'the summary answered 304');
  out.summary_not_modified = true;

  await page.setViewport({ width: 390, height: 844 });
  await go(page, '#/dashboard', '#h-sites');
  await visit(page, 'dashboard-phone');
  await page.setViewport({ width: 1366, height: 768 });

  // Sign-out revokes the token: the console is back at the sign-in form.
  await page.click('button.signout');
  await page.waitForSelector('form[aria-label="Sign in"]');
  out.signed_out = true;
}

// A read-only client sees the data but no control that writes.
async function readonly(page) {
  await signIn(page, env('RO_ID'), env('RO_SECRET'));
  await page.waitForSelector('#h-sites');
  out.who = await text(page, '.who');
  out.nav = await page.$$eval('#nav a', (l) => l.map((a) => a.textContent));
  await go(page, '#/tasks', 'table.tasks');
  out.new_task_link = await count(page, 'a[href="#/tasks/new"]');
  await go(page, `#/tasks/${env('TASK_ID')}`, '#h-info');
  out.task_buttons = await page.$$eval('main button', (l) => l.map((b) => b.textContent));
  await visit(page, 'readonly-task');
  out.forms = {};
  for (const p of ['schedules', 'definitions', 'sites', 'connections', 'sync-tasks']) {
    await go(page, `#/${p}`, 'main table');
    out.forms[p] = await count(page, 'main form:not(.filters), main button');
  }
}

// Replaces an input's value as a user would: select all, type.
async function replace(page, sel, value) {
  const el = await page.waitForSelector(sel);
  await el.click();
  await page.keyboard.down('Control');
  await page.keyboard.press('a');
  await page.keyboard.up('Control');
  await page.keyboard.press('Backspace');
  if (value) await el.type(value);
}

const within = async (page, form, label) => {
  const el = await page.waitForSelector(`${form} ::-p-xpath(.//button[normalize-space()="${label}"])`, { timeout: 10000 });
  await el.click();
};

const rowNames = (page, table) => page.$$eval(`${table} tbody tr td:first-child`, (l) => l.map((td) => td.textContent.trim()));

async function waitRow(page, table, name, present = true) {
  await page.waitForFunction((t, n, p) => [...document.querySelectorAll(`${t} tbody tr td:first-child`)]
    .some((td) => td.textContent.trim() === n) === p, { timeout: 15000 }, table, name, present);
}

// Edit and delete of schedules and definitions (If-Match: a change made meanwhile by someone
// else is a conflict, not overwritten), the definitions' per-type settings, the paged task list.
async function edit(page) {
  await signIn(page, env('ADMIN_ID'), env('ADMIN_SECRET'));
  const A = env('SCHEDULE');
  await go(page, '#/schedules', 'table.schedules');
  const f = `form[aria-label="Edit schedule ${A}"]`;
  await page.focus(`button[aria-label="Edit ${A}"]`);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`${f} [name=start_time]`);
  // The form opens above the list; keyboard focus goes to it.
  await page.waitForFunction((sel) => document.activeElement === document.querySelector(`${sel} h2`), { timeout: 10000 }, f);
  out.focus_in_form = true;
  out.edit_prefilled = await page.$eval(`${f} [name=start_time]`, (e) => e.value);
  await replace(page, `${f} [name=start_time]`, '04:30');
  await page.click(`${f} button[type=submit]`);
  await page.waitForSelector(f, { hidden: true });
  out.saved_status = await text(page, 'main p[role=status]');

  // Someone else changes the schedule while the form is open: saving is refused and says so.
  await page.click(`button[aria-label="Edit ${A}"]`);
  await page.waitForSelector(`${f} [name=start_time]`);
  await apiCall('PATCH', `/schedules/${env('SCHEDULE_ID')}`, { start_time: '05:15' });
  await replace(page, `${f} [name=start_time]`, '06:00');
  await page.click(`${f} button[type=submit]`);
  await page.waitForSelector(`${f} .conflict`);
  out.conflict_text = await text(page, `${f} .conflict p`);
  await visit(page, 'schedule-conflict');
  await within(page, f, 'Reload');
  await page.waitForFunction((s) => document.querySelector(s).value === '05:15', { timeout: 10000 }, `${f} [name=start_time]`);
  out.reloaded_start_time = await page.$eval(`${f} [name=start_time]`, (e) => e.value);
  out.conflict_after_reload = await count(page, `${f} .conflict`);
  await within(page, f, 'Cancel');

  // Delete: an unused schedule goes; one that tasks use is refused with the API's reason.
  // By keyboard alone: Enter on Delete moves focus to the confirmation, Enter confirms.
  const B = env('SPARE');
  await page.focus(`button[aria-label="Delete ${B}"]`);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement.textContent === 'Confirm delete', { timeout: 10000 });
  out.focus_on_confirm = await page.evaluate(() => document.activeElement.closest('tr').dataset.id);
  await page.keyboard.press('Enter');
  await waitRow(page, 'table.schedules', B, false);
  await page.click(`button[aria-label="Delete ${A}"]`);
  await within(page, `tr[data-id="${env('SCHEDULE_ID')}"]`, 'Confirm delete');
  out.in_use_error = await (await page.waitForSelector(`tr[data-id="${env('SCHEDULE_ID')}"] .form-error`)).evaluate((e) => e.textContent);
  out.schedule_rows = await rowNames(page, 'table.schedules');

  // Definitions: the settings of the type chosen; a required one left empty is named at its input.
  await go(page, '#/definitions', 'table.definitions');
  const n = 'form[aria-label="New definition"]';
  await page.select(`${n} [name=type]`, 'mailbox_storage_management');
  await page.type(`${n} [name=description]`, env('DEFINITION'));
  await page.click(`${n} button[type=submit]`);
  await page.waitForSelector(`${n} [data-field="settings.older_than_days"] .field-error`);
  out.older_error = await fieldError(page, 'settings.older_than_days');
  out.older_invalid = await page.$eval(`${n} [name="settings.older_than_days"]`, (e) => e.getAttribute('aria-invalid'));
  out.rows_after_error = await rowNames(page, 'table.definitions');
  await visit(page, 'definition-error');
  await page.type(`${n} [name="settings.older_than_days"]`, '30');
  await page.click(`${n} button[type=submit]`);
  await waitRow(page, 'table.definitions', env('DEFINITION'));
  // Edit it: a folder that is not a path is refused at the folder list; fixed, it is saved.
  const e = `form[aria-label="Edit definition ${env('DEFINITION')}"]`;
  await page.click(`button[aria-label="Edit ${env('DEFINITION')}"]`);
  await page.waitForSelector(`${e} [name="settings.action"]`);
  out.edit_older_prefilled = await page.$eval(`${e} [name="settings.older_than_days"]`, (x) => x.value);
  await page.select(`${e} [name="settings.action"]`, 'message_delete');
  await replace(page, `${e} [name="settings.older_than_days"]`, '90');
  await page.type(`${e} [name="settings.exclude_folders"]`, 'Inbox/Keep');
  await page.click(`${e} button[type=submit]`);
  await page.waitForSelector(`${e} [data-field="settings.exclude_folders"] .field-error`);
  out.folder_error = await page.$eval(`${e} [data-field="settings.exclude_folders"] .field-error`, (x) => x.textContent);
  await visit(page, 'definition-edit');
  await replace(page, `${e} [name="settings.exclude_folders"]`, '/Inbox/Keep');
  await page.click(`${e} button[type=submit]`);
  await page.waitForSelector(e, { hidden: true });
  // Managed folders: the policies, one row each; errors land on the policy's own input.
  await page.select(`${n} [name=type]`, 'managed_folders');
  await page.type(`${n} [name=description]`, env('DEFINITION') + '-mf');
  await page.click(`${n} button[type=submit]`);
  await page.waitForSelector(`${n} [data-field="settings.policies[0].lifespan_days"] .field-error`);
  out.policy_error = await fieldError(page, 'settings.policies[0].lifespan_days');
  await page.type(`${n} [name="settings.policies[0].lifespan_days"]`, '365');
  await within(page, n, 'Add policy');
  await page.type(`${n} [name="settings.policies[1].folder"]`, '/Inbox/Projects');
  await page.type(`${n} [name="settings.policies[1].lifespan_days"]`, '30');
  await page.click(`${n} button[type=submit]`);
  await waitRow(page, 'table.definitions', env('DEFINITION') + '-mf');
  await visit(page, 'definitions-edited');

  // The dashboard's count of disabled tasks leads to the list filtered to them. The server
  // counts them: the dashboard reads the summary, never the task list.
  const asked = [];
  const onRequest = (r) => asked.push(new URL(r.url()).pathname);
  page.on('request', onRequest);
  await go(page, '#/dashboard', '[data-status="disabled"]');
  out.dashboard_disabled = Number(await text(page, '[data-status="disabled"]'));
  out.dashboard_mfr = await text(page, '[data-type="mailbox_folder_replication"]');
  page.off('request', onRequest);
  out.dashboard_asked = [...new Set(asked.filter((u) => u.startsWith('/api/v1/')))].sort();
  await page.click('a[href="#/tasks?status=disabled"]');
  await page.waitForSelector('table.tasks tbody tr', { timeout: 15000 });
  out.status_filter = await page.$eval('form[aria-label="Filter tasks"] [name=status]', (e) => e.value);
  out.filtered_first_page = await text(page, 'nav[aria-label="Task pages, above"] [role=status]');

  // The task list in pages of the API's keyset cursors: every task once, one page in the DOM.
  await go(page, '#/tasks', 'table.tasks tbody tr');
  const pager = 'nav[aria-label="Task pages, above"]';
  out.task_pages = [];
  out.task_names = [];
  out.max_rows = 0;
  await visit(page, 'tasks-paged');
  for (let i = 0; i < 30; i++) {
    const names = await rowNames(page, 'table.tasks');
    out.max_rows = Math.max(out.max_rows, await count(page, 'table.tasks tbody tr'));
    out.task_pages.push(await text(page, `${pager} [role=status]`));
    out.task_names.push(...names);
    if (await page.$eval(`${pager} button:last-of-type`, (b) => b.disabled)) break;
    const first = names[0];
    await page.click(`${pager} button:last-of-type`);
    await page.waitForFunction((s, f0) => { const td = document.querySelector(s); return td && td.textContent.trim() !== f0; },
      { timeout: 15000 }, 'table.tasks tbody tr td:first-child', first);
  }
  await page.click(`${pager} button:first-of-type`);
  await page.waitForFunction((s, t) => document.querySelector(s).textContent !== t, { timeout: 15000 },
    `${pager} [role=status]`, out.task_pages[out.task_pages.length - 1]);
  out.back_page = await text(page, `${pager} [role=status]`);

  // A task's edit form: someone else changes the task's schedule while it is open, so saving
  // is refused (412) and says so; Reload shows the server's schedule; saved again, it stands.
  await go(page, `#/tasks/${env('DELETE_TASK_ID')}`, '#h-info');
  const te = `form[aria-label="Edit task ${env('DELETE_TASK')}"]`;
  await within(page, 'main .actions', 'Edit');
  await page.waitForSelector(`${te} [name=schedule_id]`);
  out.task_edit_prefilled = await page.$eval(`${te} [name=schedule_id]`, (x) => x.value);
  await apiCall('PATCH', `/exchange-tasks/${env('DELETE_TASK_ID')}`, { schedule_id: env('THEIRS_ID') });
  await page.select(`${te} [name=schedule_id]`, env('MINE_ID'));
  await page.click(`${te} button[type=submit]`);
  await page.waitForSelector(`${te} .conflict`);
  out.task_conflict_text = await text(page, `${te} .conflict p`);
  await visit(page, 'task-conflict');
  await within(page, te, 'Reload');
  await page.waitForFunction((s, v) => document.querySelector(s).value === v, { timeout: 15000 },
    `${te} [name=schedule_id]`, env('THEIRS_ID'));
  out.task_reloaded_schedule = await page.$eval(`${te} [name=schedule_id]`, (x) => x.value);
  out.task_conflict_after_reload = await count(page, `${te} .conflict`);
  await page.select(`${te} [name=schedule_id]`, env('MINE_ID'));
  await page.click(`${te} button[type=submit]`);
  await page.waitForSelector(te, { hidden: true });
  // The page shows the saved schedule once its next read has it (it is polled, not patched).
  await page.waitForFunction((n) => document.querySelector('[data-info="Schedule"]').textContent.trim() === n,
    { timeout: 15000 }, env('MINE'));
  out.task_schedule_shown = await text(page, '[data-info="Schedule"]');

  // The same page: membership refresh, then delete (confirmed), back to the list.
  await clickText(page, 'button', 'Refresh membership');
  out.task_refresh_note = await (await page.waitForSelector('::-p-xpath(//main//p[@role="status"][contains(., "afresh")])')).evaluate((e) => e.textContent);
  await page.click('main .actions button[aria-label^="Delete "]');
  await clickText(page, 'button', 'Confirm delete');
  await page.waitForFunction(() => location.hash === '#/tasks', { timeout: 15000 });
  out.after_task_delete = await page.evaluate(() => location.hash);
}

// Sync & Recover: a server connection made and tested from the console, a sync task with an
// exclusion (refused without its region, then created), its actions; the archive search.
async function sync(page) {
  await signIn(page, env('ADMIN_ID'), env('ADMIN_SECRET'));
  await go(page, '#/connections', 'table.connections');
  const c = 'form[aria-label="New server connection"]';
  const CONN = env('CONN');
  await page.type(`${c} [name=name]`, CONN);
  await page.select(`${c} [name=site_id]`, env('SITE_ID'));
  await page.type(`${c} [name=ews_url]`, env('EWS_URL'));
  await page.select(`${c} [name=authentication]`, 'basic');
  await page.type(`${c} [name=service_account]`, env('SERVICE_USER'));
  await page.click(`${c} button[type=submit]`);
  await page.waitForSelector(`${c} [data-field="secret"] .field-error`);
  out.secret_error = await fieldError(page, 'secret');
  out.conn_rows_after_error = await rowNames(page, 'table.connections');
  await page.type(`${c} [name=secret]`, env('SERVICE_PASSWORD'));
  await page.click(`${c} button[type=submit]`);
  await waitRow(page, 'table.connections', CONN);
  await visit(page, 'connections');

  // "Test": pending at once, then the worker's outcome.
  await page.click(`button[aria-label="Test ${CONN}"]`);
  const t = `form[aria-label="Test ${CONN}"]`;
  await page.type(`${t} [name=mailbox]`, env('TEST_MAILBOX'));
  await page.click(`${t} button[type=submit]`);
  await page.waitForSelector(`${t} .test-result[data-state="pending"]`, { timeout: 10000 });
  out.test_first = await text(page, `${t} .test-result`);
  await page.waitForSelector(`${t} .test-result[data-state="succeeded"], ${t} .test-result[data-state="failed"]`, { timeout: 60000 });
  out.test_state = await page.$eval(`${t} .test-result`, (e) => e.dataset.state);
  out.test_text = await text(page, `${t} .test-result`);
  await visit(page, 'connection-test');

  // Edit: the secret is never shown; left empty it is kept.
  await page.click(`button[aria-label="Edit ${CONN}"]`);
  const ce = `form[aria-label="Edit connection ${CONN}"]`;
  await page.waitForSelector(`${ce} [name=secret]`);
  out.secret_on_edit = await page.$eval(`${ce} [name=secret]`, (e) => e.value);
  out.ews_url_on_edit = await page.$eval(`${ce} [name=ews_url]`, (e) => e.value);
  await page.click(`${ce} [name=tls_verify]`);
  await page.click(`${ce} button[type=submit]`);
  await page.waitForSelector(ce, { hidden: true });

  // A sync task whose exclusion lacks its region: the API's error at the region input, no task.
  await go(page, '#/sync-tasks', 'form[aria-label="New sync task"]');
  const s = 'form[aria-label="New sync task"]';
  await page.type(`${s} [name=name]`, env('TASK'));
  await page.type(`${s} [name="group.value"]`, env('MAILBOX'));
  await page.type(`${s} [name=message_classes]`, 'IPM.Note.Custom');
  await page.click(`${s} [name=exclusions_active]`);
  await within(page, s, 'Add exclusion');
  await page.type(`${s} [name="exclusions[0].from"]`, '08:00');
  await page.type(`${s} [name="exclusions[0].to"]`, '18:00');
  await page.click(`${s} button[type=submit]`);
  await page.waitForSelector(`${s} [data-field="exclusions[0].region"] .field-error`);
  out.region_error = await fieldError(page, 'exclusions[0].region');
  out.region_invalid = await page.$eval(`${s} [name="exclusions[0].region"]`, (e) => e.getAttribute('aria-invalid'));
  out.sync_rows_after_error = await rowNames(page, 'table.sync-tasks');
  await visit(page, 'sync-task-error');
  await page.type(`${s} [name="exclusions[0].region"]`, 'Europe/Berlin');
  await page.click(`${s} button[type=submit]`);
  await waitRow(page, 'table.sync-tasks', env('TASK'));
  // The list filtered to stopped tasks leaves the started one out.
  await page.select('form[aria-label="Filter sync tasks"] [name=enabled]', 'false');
  await waitRow(page, 'table.sync-tasks', env('TASK'), false);
  out.stopped_filter_rows = await rowNames(page, 'table.sync-tasks');
  await page.select('form[aria-label="Filter sync tasks"] [name=enabled]', '');
  await waitRow(page, 'table.sync-tasks', env('TASK'));
  out.list_not_implemented = await page.$$eval('main .not-implemented', (e) => e.length);
  await visit(page, 'sync-tasks');
  await clickText(page, 'a', env('TASK'));
  await page.waitForSelector('#h-smbx');
  out.sync_url = await page.evaluate(() => location.hash);
  out.sync_status = await text(page, '[data-info="Status"]');
  out.sync_detail = await text(page, '[data-info="Latest Detail"]');
  out.detail_not_implemented = await page.$$eval('main .not-implemented', (e) => e.length);
  out.content_sync = await text(page, '[data-info="Content sync"]');
  await visit(page, 'sync-task-detail');
  await clickText(page, 'button', 'Stop');
  await page.waitForFunction(() => document.querySelector('[data-info="Status"]').textContent.trim() === 'disabled', { timeout: 15000 });
  out.stopped_status = 'disabled';
  await clickText(page, 'button', 'Start');
  await page.waitForFunction(() => document.querySelector('[data-info="Status"]').textContent.trim() !== 'disabled', { timeout: 15000 });
  out.started_status = await text(page, '[data-info="Status"]');
  await clickText(page, 'button', 'Refresh membership');
  out.refresh_note = await (await page.waitForSelector('::-p-xpath(//main//p[@role="status"][contains(., "afresh")])')).evaluate((e) => e.textContent);
  // Edit: a window that ends when it starts is refused at its "to"; corrected, it is saved.
  await clickText(page, 'button', 'Edit');
  const se = `form[aria-label="Edit sync task ${env('TASK')}"]`;
  await page.waitForSelector(`${se} [name=interval_minutes]`);
  await replace(page, `${se} [name=interval_minutes]`, '30');
  await replace(page, `${se} [name="exclusions[0].to"]`, '08:00');
  await page.click(`${se} button[type=submit]`);
  await page.waitForSelector(`${se} [data-field="exclusions[0].to"] .field-error`);
  out.to_error = await page.$eval(`${se} [data-field="exclusions[0].to"] .field-error`, (e) => e.textContent);
  await replace(page, `${se} [name="exclusions[0].to"]`, '19:00');
  await page.click(`${se} button[type=submit]`);
  await page.waitForSelector(se, { hidden: true });
  await page.waitForFunction(() => document.querySelector('[data-info="Exclusions"]').textContent.includes('19:00'), { timeout: 15000 });
  out.exclusions_shown = await text(page, '[data-info="Exclusions"]');

  // The connection a task uses cannot be deleted: the API's reason is shown.
  await go(page, '#/connections', 'table.connections tbody tr');
  await page.click(`button[aria-label="Delete ${CONN}"]`);
  await within(page, 'table.connections', 'Confirm delete');
  out.conn_delete_error = await (await page.waitForSelector('table.connections .form-error')).evaluate((e) => e.textContent);
  // Deleting the task leads back to the list.
  await go(page, out.sync_url, '#h-smbx');
  await page.click(`button[aria-label="Delete ${env('TASK')}"]`);
  await clickText(page, 'button', 'Confirm delete');
  await page.waitForFunction(() => location.hash === '#/sync-tasks', { timeout: 15000 });
  await page.waitForSelector('table.sync-tasks');
  out.sync_rows_after_delete = await rowNames(page, 'table.sync-tasks');

  // Archive search: a page, then "More" (keyset); a filter; a hit's content saved as a file.
  await go(page, '#/search', 'form[aria-label="Search the archive"]');
  const q = 'form[aria-label="Search the archive"]';
  await page.type(`${q} [name=q]`, env('WORD'));
  await page.click(`${q} button[type=submit]`);
  await page.waitForSelector('table.search-hits tbody tr');
  out.search_first = await count(page, 'table.search-hits tbody tr');
  await clickText(page, 'button', 'More');
  await page.waitForFunction((n) => document.querySelectorAll('table.search-hits tbody tr').length > n, { timeout: 15000 }, out.search_first);
  out.search_all = await count(page, 'table.search-hits tbody tr');
  out.more_left = await count(page, '::-p-xpath(//main//button[normalize-space()="More"])');
  const cdp = await page.createCDPSession();
  await cdp.send('Page.setDownloadBehavior', { behavior: 'allow', downloadPath: env('DOWNLOADS') });
  out.downloaded = await page.$eval('table.search-hits tbody tr', (e) => e.dataset.sha);
  await page.click('table.search-hits tbody tr button');
  for (let i = 0; i < 100 && !fs.existsSync(path.join(env('DOWNLOADS'), `${out.downloaded}.eml`)); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await visit(page, 'search');
  await page.select(`${q} [name=has_attachments]`, 'true');
  await page.click(`${q} button[type=submit]`);
  await page.waitForFunction((n) => document.querySelectorAll('table.search-hits tbody tr').length < n, { timeout: 15000 }, out.search_all);
  out.search_with_attachments = await page.$$eval('table.search-hits tbody tr td:nth-child(3)', (l) => l.map((td) => td.textContent.trim()));
}

const browser = await puppeteer.launch({
  executablePath: env('CHROMIUM') || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  defaultViewport: { width: 1366, height: 768 },
});
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') out.console_errors.push(m.text()); });
  page.on('pageerror', (e) => out.console_errors.push(String(e)));
  out.not_modified = 0; // API answers of 304: polling revalidates instead of downloading
  page.on('response', (r) => {
    if (r.status() !== 304 || !r.url().includes('/api/v1/')) return;
    out.not_modified++;
    notModified.add(new URL(r.url()).pathname);
  });
  await ({ admin, readonly, edit, sync })[process.argv[2]](page);
} catch (e) {
  out.error = String(e.stack || e);
  try { const [p] = await browser.pages(); await shot(p, `failure-${process.argv[2]}`); } catch { /* none */ }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
