// SPDX-License-Identifier: Apache-2.0
// The console's only way to the server: the REST API, with the bearer token kept in memory.

let token = null;
// RFC 7009 revocation authenticates the client, so its credentials stay in this module's memory
// (never in storage) until sign-out; a page reload forgets everything.
let client = null;
const etags = new Map(); // url -> { etag, body }: polling answers 304 when nothing moved

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.error_description)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  // 412 to a write that carried If-Match: someone changed the resource since it was read.
  get conflict() {
    return this.status === 412;
  }
  // { field: message } from the problem document's errors[].
  get fields() {
    const out = {};
    for (const e of this.problem.errors || []) out[e.field] = e.message;
    return out;
  }
}

function form(obj) {
  return new URLSearchParams(obj).toString();
}

// Exchanges an API client's id and secret for a token (client_credentials grant).
export async function signIn(clientId, secret) {
  const r = await fetch('/api/v1/oauth/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }),
  });
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, body);
  token = body.access_token;
  client = { client_id: clientId, client_secret: secret };
  return body;
}

// Revokes the token (RFC 7009) and forgets it; forgetting happens even when revoking fails.
export async function signOut() {
  const t = token;
  const c = client;
  token = null;
  client = null;
  etags.clear();
  if (!t) return;
  await fetch('/api/v1/oauth/revoke', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: form({ token: t, token_type_hint: 'access_token', ...c }),
  }).catch(() => {});
}

export function signedIn() {
  return token !== null;
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== '' && v != null) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

// One call; { data, etag }. A GET revalidates what it fetched before (If-None-Match) unless
// fresh is set; ifMatch makes a write conditional on the ETag the form was filled from.
async function call(method, path, { params, body, ifMatch, fresh } = {}) {
  // Signed out (a poll's timer may still fire): nothing to send, and no sign-in form to show
  // before sign-out's own revocation has gone out.
  const sent = token;
  if (!sent) throw new ApiError(401, { detail: 'signed out' });
  const url = `/api/v1${path}${query(params)}`;
  const headers = { Authorization: `Bearer ${sent}`, Accept: 'application/json' };
  const cached = method === 'GET' && !fresh ? etags.get(url) : null;
  if (cached) headers['If-None-Match'] = cached.etag;
  if (ifMatch) headers['If-Match'] = ifMatch;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(url, {
    method, headers, cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 304 && cached) return { data: cached.body, etag: cached.etag };
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (r.status === 401 && sent === token) {
    // Expired or revoked: forget it, as sign-out would, and go back to the sign-in form.
    token = null;
    client = null;
    etags.clear();
    onUnauthorized();
  }
  if (!r.ok) throw new ApiError(r.status, data);
  const etag = r.headers.get('ETag');
  if (method === 'GET' && etag) etags.set(url, { etag, body: data });
  return { data, etag };
}

export async function request(method, path, opts = {}) {
  return (await call(method, path, opts)).data;
}

// A resource with its current ETag, always fetched afresh: what an edit form starts from.
export const getForEdit = (path) => call('GET', path, { fresh: true });

export const get = (path, params) => request('GET', path, { params });
export const post = (path, body) => request('POST', path, { body: body ?? {} });
export const patch = (path, body, ifMatch) => request('PATCH', path, { body, ifMatch });
export const del = (path, ifMatch) => request('DELETE', path, { ifMatch });

// One page of a keyset-paged list: { items, next_cursor }.
export const page = (path, params, cursor, limit) => get(path, { ...params, limit, cursor });

// Saves what an authenticated URL serves (a message's EML) as a file: the browser cannot send
// the bearer token with a plain link, so the bytes are fetched and handed over as a blob.
export async function download(path, filename) {
  const r = await fetch(path, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
  if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => null));
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return r.headers.get('Content-Type');
}

// Every page of a list (small resource lists: sites, schedules, definitions).
export async function all(path, params) {
  let items = [];
  let cursor = null;
  do {
    const page = await get(path, { ...params, limit: 500, cursor });
    items = items.concat(page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}
