// SPDX-License-Identifier: Apache-2.0
// The console's shell: sign-in, navigation and the hash router that picks a page.
import { html, render, useEffect, useState } from './preact-htm.js';
import * as api from './api.js';
import { Session, TextField, FormError } from './ui.js';
import { Dashboard, Tasks, TaskDetail, Schedules, Sites, Audit, Clients } from './pages.js';
import { Definitions } from './definitions.js';
import { Connections, SyncTasks, SyncTaskDetail } from './sync.js';
import { Search } from './search.js';
import { Wizard } from './wizard.js';
import { Archive } from './archive.js';

const NAV = [
  ['dashboard', 'Dashboard', false],
  ['tasks', 'Exchange Tasks', false],
  ['schedules', 'Schedules', false],
  ['definitions', 'Definitions', false],
  ['sites', 'Sites', false],
  ['archive', 'Archive', false],
  ['search', 'Archive Search', false],
  ['connections', 'Server Connections', false],
  ['sync-tasks', 'Sync Tasks', false],
  ['clients', 'API Clients', true],
  ['audit', 'Audit Log', true],
];

function SignIn({ onSignedIn }) {
  const [id, setId] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.signIn(id, secret);
      // Only admin clients may list API clients: the answer tells the console its role.
      let admin = true;
      try { await api.get('/api-clients', { limit: 1 }); } catch (err) {
        if (err.status !== 403) throw err;
        admin = false;
      }
      onSignedIn({ admin, clientId: id });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin">
    <h1>MSE Administration Console</h1>
    <form onSubmit=${submit} aria-label="Sign in">
      <${TextField} label="Client ID" name="client_id" value=${id} onInput=${setId}
        autocomplete="username" required />
      <${TextField} label="Client secret" name="client_secret" type="password" value=${secret}
        onInput=${setSecret} autocomplete="current-password" required />
      <${FormError} error=${error} />
      <button type="submit" disabled=${busy}>Sign in</button>
    </form>
  </main>`;
}

function useRoute() {
  // The query (#/tasks?status=running, the dashboard's links) is the page's, not the route's.
  const parse = () => (location.hash.replace(/^#\/?/, '').split('?')[0] || 'dashboard').split('/');
  const [route, setRoute] = useState(parse());
  useEffect(() => {
    const on = () => setRoute(parse());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function Page({ route }) {
  const [name, ...rest] = route;
  switch (name) {
    case 'tasks':
      if (rest[0] === 'new') return html`<${Wizard} />`;
      if (rest[0]) return html`<${TaskDetail} id=${rest[0]} />`;
      return html`<${Tasks} />`;
    case 'schedules': return html`<${Schedules} />`;
    case 'definitions': return html`<${Definitions} />`;
    case 'sites': return html`<${Sites} />`;
    case 'archive': return html`<${Archive} address=${rest[0] && decodeURIComponent(rest[0])} />`;
    case 'search': return html`<${Search} />`;
    case 'connections': return html`<${Connections} />`;
    case 'sync-tasks': return rest[0] ? html`<${SyncTaskDetail} id=${rest[0]} />` : html`<${SyncTasks} />`;
    case 'clients': return html`<${Clients} />`;
    case 'audit': return html`<${Audit} />`;
    default: return html`<${Dashboard} />`;
  }
}

function Shell({ session, onSignOut }) {
  const route = useRoute();
  const [menu, setMenu] = useState(false);
  useEffect(() => {
    setMenu(false);
    const h = document.querySelector('main h1');
    if (h) h.focus();
  }, [route.join('/')]);
  return html`<${Session.Provider} value=${session}>
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main').focus(); }}>Skip to content</a>
    <header class="top">
      <span class="brand">MSE Console</span>
      <button class="menu" aria-expanded=${menu} aria-controls="nav" onClick=${() => setMenu(!menu)}>Menu</button>
      <nav id="nav" class=${menu ? 'open' : ''} aria-label="Main">
        <ul>${NAV.filter(([, , adminOnly]) => !adminOnly || session.admin).map(([k, t]) =>
          html`<li><a href=${`#/${k}`} aria-current=${route[0] === k || (k === 'dashboard' && !route[0]) ? 'page' : undefined}>${t}</a></li>`)}</ul>
      </nav>
      <span class="who">${session.clientId}${session.admin ? '' : ' (read-only)'}</span>
      <button class="signout" onClick=${onSignOut}>Sign out</button>
    </header>
    <main id="main" tabindex="-1"><${Page} route=${route} /></main>
  <//>`;
}

function App() {
  const [session, setSession] = useState(null);
  useEffect(() => api.setUnauthorizedHandler(() => setSession(null)), []);
  const signOut = async () => {
    await api.signOut();
    setSession(null);
  };
  if (!session) return html`<${SignIn} onSignedIn=${setSession} />`;
  return html`<${Shell} session=${session} onSignOut=${signOut} />`;
}

const root = document.getElementById('app');
root.textContent = ''; // the boot message
render(html`<${App} />`, root);
