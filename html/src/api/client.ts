// The API client: fetch with the access token in memory only, the refresh
// token in its HttpOnly cookie (cookie mode), X-Kanban-CSRF on every
// state-changing request, a silent refresh before the token expires and
// once on a 401. Errors are thrown as ApiError carrying the problem+json.
import type { components } from './schema';

export type Problem = {
  type?: string;
  title?: string;
  status: number;
  code?: string;
  detail?: string;
  errors?: { field?: string; code?: string; message?: string }[];
};

type Session = components['schemas']['Session'];
export type SessionUser = NonNullable<Session['user']>;

export class ApiError extends Error {
  problem: Problem;
  constructor(problem: Problem) {
    super(problemMessage(problem));
    this.problem = problem;
  }
  get status() { return this.problem.status; }
  get code() { return this.problem.code; }
}

export function problemMessage(p: Problem): string {
  const fields = (p.errors || [])
    .map((e) => (e.field ? `${e.field}: ` : '') + (e.message || e.code || ''))
    .filter(Boolean);
  const head = p.detail || p.title || `The request failed (${p.status}).`;
  return fields.length ? `${head} ${fields.join('; ')}` : head;
}

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) {
    if (e.name === 'AbortError') return 'Cancelled.';
    return e.message === 'Failed to fetch'
      ? 'The server cannot be reached. Check your connection and try again.'
      : e.message;
  }
  return String(e);
}

let accessToken: string | null = null;
let refreshTimer: number | undefined;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<(u: SessionUser | null) => void>();

export function onSessionChange(f: (u: SessionUser | null) => void) {
  listeners.add(f);
  return () => { listeners.delete(f); };
}

export function token() { return accessToken; }

function setSession(s: Session | null) {
  window.clearTimeout(refreshTimer);
  accessToken = s?.access_token ?? null;
  if (s?.access_token) {
    // a minute before it expires, or at half its life when shorter
    const life = (s.expires_in ?? 900) * 1000;
    const at = Math.max(life - 60_000, life / 2);
    refreshTimer = window.setTimeout(() => { void refresh(); }, at);
  }
  for (const f of listeners) f(s ? (s.user ?? null) : null);
}

async function parseProblem(r: Response): Promise<Problem> {
  const type = r.headers.get('Content-Type') || '';
  if (/json/.test(type)) {
    try {
      const body = await r.json();
      return { status: r.status, ...body };
    } catch { /* fall through */ }
  }
  return {
    status: r.status,
    title: r.status === 429
      ? `Too many requests: try again in ${r.headers.get('Retry-After') || 'a few'} seconds.`
      : `The server answered ${r.status} ${r.statusText}.`,
  };
}

export type Opts = {
  body?: unknown;
  raw?: BodyInit;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  retry?: boolean;          // refresh and retry once on a 401 (default)
  accept?: string;
};

export async function request(method: string, path: string, o: Opts = {}): Promise<Response> {
  const headers: Record<string, string> = {
    Accept: o.accept || 'application/json', ...o.headers,
  };
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  if (method !== 'GET' && method !== 'HEAD') headers['X-Kanban-CSRF'] = '1';
  let body: BodyInit | undefined = o.raw;
  if (o.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(o.body);
  }
  const r = await fetch(path, {
    method, headers, body, signal: o.signal, credentials: 'same-origin',
  });
  if (r.status === 401 && o.retry !== false && accessToken
      && !path.startsWith('/api/v1/auth/')) {
    if (await refresh()) return request(method, path, { ...o, retry: false });
  }
  if (!r.ok) throw new ApiError(await parseProblem(r));
  return r;
}

export async function api<T = any>(method: string, path: string, o: Opts = {}): Promise<T> {
  const r = await request(method, path, o);
  if (r.status === 204) return undefined as T;
  const type = r.headers.get('Content-Type') || '';
  return (/json/.test(type) ? r.json() : r.text()) as Promise<T>;
}

export const get = <T = any>(path: string, signal?: AbortSignal) =>
  api<T>('GET', path, { signal });
export const post = <T = any>(path: string, body?: unknown) =>
  api<T>('POST', path, { body: body ?? {} });
export const patch = <T = any>(path: string, body: unknown) =>
  api<T>('PATCH', path, { body });
export const put = <T = any>(path: string, body: unknown) =>
  api<T>('PUT', path, { body });
export const del = (path: string) => api('DELETE', path);

export function qs(params: Record<string, string | number | boolean | null | undefined>) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

export async function login(email: string, password: string) {
  const s = await api<Session>('POST', '/api/v1/auth/login',
    { body: { email, password, cookie: true } });
  setSession(s);
  return s.user!;
}

// One refresh at a time, across tabs too: a refresh token is spent when
// used, and a second tab presenting the spent one would revoke the family.
export function refresh(): Promise<boolean> {
  if (refreshing) return refreshing;
  const run = async () => {
    try {
      const s = await api<Session>('POST', '/api/v1/auth/refresh',
        { body: { cookie: true }, retry: false });
      setSession(s);
      return true;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) setSession(null);
      return false;
    }
  };
  const locks = (navigator as any).locks;
  refreshing = (locks ? locks.request('kanban-refresh', run) : run())
    .finally(() => { refreshing = null; }) as Promise<boolean>;
  return refreshing;
}

export async function me(): Promise<SessionUser> {
  return get<SessionUser>('/api/v1/auth/me');
}

export async function logout() {
  try {
    await api('POST', '/api/v1/auth/logout', { body: { cookie: true }, retry: false });
  } catch { /* signed out here whatever the server says */ }
  setSession(null);
}

// A download through the API (Authorization header), handed to the browser
// as a file. blob: URLs are fine for <a download> under the CSP.
export async function download(path: string, filename: string, accept?: string) {
  const r = await request('GET', path, { accept: accept || '*/*' });
  const blob = await r.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// An upload with progress (fetch has none for request bodies).
export function upload(path: string, file: File, onProgress: (f: number) => void): Promise<any> {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', path);
    if (accessToken) x.setRequestHeader('Authorization', `Bearer ${accessToken}`);
    x.setRequestHeader('X-Kanban-CSRF', '1');
    x.setRequestHeader('Accept', 'application/json');
    x.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    x.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    x.onload = () => {
      let body: any = null;
      try { body = JSON.parse(x.responseText); } catch { /* not JSON */ }
      if (x.status >= 200 && x.status < 300) resolve(body);
      else reject(new ApiError({ status: x.status, ...(body || { title: `Upload failed (${x.status}).` }) }));
    };
    x.onerror = () => reject(new Error('Failed to fetch'));
    x.send(file);
  });
}
