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
    ['#/clients', 'main table', 'clients'], ['#/audit', 'main table', 'audit'], ['#/archive', 'main table', 'archive-mailboxes']]) {
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
  for (const p of ['schedules', 'definitions', 'sites']) {
    await go(page, `#/${p}`, 'main table');
    out.forms[p] = await count(page, 'main form, main button');
  }
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
  page.on('response', (r) => { if (r.status() === 304 && r.url().includes('/api/v1/')) out.not_modified++; });
  await ({ admin, readonly })[process.argv[2]](page);
} catch (e) {
  out.error = String(e.stack || e);
  try { const [p] = await browser.pages(); await shot(p, `failure-${process.argv[2]}`); } catch { /* none */ }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
