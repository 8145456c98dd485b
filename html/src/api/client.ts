// The API client: fetch with the access token in memory only, the refresh
// token in its HttpOnly cookie (cookie mode), X-Kanban-CSRF on every
// state-changing request, a silent refresh before the token expires and
// once on a 401. Errors are thrown as ApiError carrying the problem+json.
import type { Me, Schemas } from './types';

// The document's Problem, every field but status optional: the client makes
// problems of its own for answers that are not problem+json (a proxy's 502,
// a network error, an upload's plain-text answer).
export type Problem = Partial<Omit<Schemas['Problem'], 'code'>> & { status: number; code?: string };

type Session = Schemas['Session'];
export type SessionUser = Session['user'];

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
      const body: unknown = await r.json();
      if (body && typeof body === 'object') return { ...body, status: r.status };
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
  if (accessToken && !headers.Authorization) headers.Authorization = `Bearer ${accessToken}`;
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

export async function api<T = unknown>(method: string, path: string, o: Opts = {}): Promise<T> {
  const r = await request(method, path, o);
  if (r.status === 204) return undefined as T;
  const type = r.headers.get('Content-Type') || '';
  return (/json/.test(type) ? r.json() : r.text()) as Promise<T>;
}

// For what the document does not describe (insights) or a POST without a
// body; everything else goes through read() and write() below.
export const get = <T = unknown>(path: string, signal?: AbortSignal) =>
  api<T>('GET', path, { signal });
export const post = <T = unknown>(path: string, body?: unknown) =>
  api<T>('POST', path, { body: body ?? {} });

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

// A person with two-factor sign-in on gets no session for the password:
// login() throws ApiError 401 mfa_required carrying this challenge, and
// loginMfa() completes the sign-in with a code or a recovery code.
export function mfaChallenge(e: unknown): string | null {
  if (!(e instanceof ApiError) || e.code !== 'mfa_required') return null;
  const c = (e.problem as Problem & { challenge?: unknown }).challenge;
  return typeof c === 'string' ? c : null;
}

export async function loginMfa(challenge: string, factor: { code: string } | { recovery_code: string }) {
  const s = await api<Session>('POST', '/api/v1/auth/login/mfa',
    { body: { challenge, ...factor, cookie: true }, retry: false });
  setSession(s);
  return s.user!;
}

// A person the workspace's two-factor policy makes enrol gets no session
// for the password (or the provider's sign-in, as /signin#mfa_enrolment=):
// login() throws ApiError 401 mfa_enrolment_required with an enrolment
// session, which only the two enrolment calls below take.
export function mfaEnrolmentToken(e: unknown): string | null {
  if (!(e instanceof ApiError) || e.code !== 'mfa_enrolment_required') return null;
  const t = (e.problem as Problem & { enrolment_token?: unknown }).enrolment_token;
  return typeof t === 'string' ? t : null;
}

export function enrolAtSignIn(enrolment: string) {
  return api<Schemas['MfaEnrolment']>('POST', '/api/v1/auth/login/mfa/enrol',
    { headers: { Authorization: `Bearer ${enrolment}` }, retry: false });
}

// The session comes with the recovery codes; adopt it once they are saved.
export function confirmEnrolAtSignIn(enrolment: string, code: string) {
  return api<Schemas['MfaEnrolledSession']>('POST', '/api/v1/auth/login/mfa/enrol/confirm',
    { body: { code, cookie: true }, headers: { Authorization: `Bearer ${enrolment}` }, retry: false });
}

export function adoptSession(s: Session) {
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
  // Web Locks are in every browser this app supports, but not in old ones
  const locks: LockManager | undefined = navigator.locks;
  refreshing = (locks ? locks.request('kanban-refresh', run) : run())
    .finally(() => { refreshing = null; });
  return refreshing;
}

export async function me(): Promise<Me> {
  return get<Me>('/api/v1/auth/me');
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
export function upload<T>(path: string, file: File, onProgress: (f: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', path);
    if (accessToken) x.setRequestHeader('Authorization', `Bearer ${accessToken}`);
    x.setRequestHeader('X-Kanban-CSRF', '1');
    x.setRequestHeader('Accept', 'application/json');
    x.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    x.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    x.onload = () => {
      let body: unknown = null;
      try { body = JSON.parse(x.responseText); } catch { /* not JSON */ }
      // the caller names the answer's type, as with get<T>(); it is JSON
      if (x.status >= 200 && x.status < 300) resolve(body as T);
      else reject(new ApiError(body && typeof body === 'object'
        ? { ...body, status: x.status } : { status: x.status, title: `Upload failed (${x.status}).` }));
    };
    x.onerror = () => reject(new Error('Failed to fetch'));
    x.send(file);
  });
}

// ---- calls typed by the OpenAPI document's paths ----------------------
// `read('/api/v1/projects/{id}/kanban', { id })` answers what the
// document says that path's GET answers (its 200's JSON), takes the path's
// parameters by name and its query as the document types them: a path, a
// parameter or an answer the document changes breaks `make ui` here.
type Paths = import('./schema').paths;
type JsonOf<R> = R extends { content: { 'application/json': infer J } } ? J : never;
type GetOp<P extends keyof Paths> = Paths[P] extends { get: infer O } ? O : never;
export type Readable = { [P in keyof Paths]: Paths[P] extends { get: { responses: { 200: unknown } } } ? P : never }[keyof Paths];
export type ReadResult<P extends Readable> = GetOp<P> extends { responses: { 200: infer R } } ? JsonOf<R> : never;
type PathParams<P extends Readable> = GetOp<P> extends { parameters: { path: infer X extends object } } ? X : Record<string, never>;
type QueryParams<P extends Readable> = GetOp<P> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

export function read<P extends Readable>(path: P, params: PathParams<P>,
  o: { query?: QueryParams<P>; signal?: AbortSignal } = {}): Promise<ReadResult<P>> {
  const named = new Map<string, unknown>(Object.entries(params));
  const url = path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(String(named.get(k))));
  const query: Record<string, string | number | boolean | null | undefined> = {};
  for (const [k, v] of Object.entries(o.query || {})) {
    if (v === undefined || v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') query[k] = v;
  }
  return api<ReadResult<P>>('GET', url + qs(query), { signal: o.signal });
}

// `write('patch', '/api/v1/tasks/{id}/move', { id }, body)`: the body as the
// document's request schema, the answer as its 200, 201 or 202 (nothing for a
// 204), the path and its parameters the document's.
type WriteMethod = 'post' | 'patch' | 'put' | 'delete';
type WriteOp<P extends keyof Paths, M extends WriteMethod> = Paths[P] extends { [K in M]: infer O } ? O : never;
export type Writable<M extends WriteMethod> =
  { [P in keyof Paths]: Paths[P] extends { [K in M]: { responses: unknown } } ? P : never }[keyof Paths];
type Answer<O> = O extends { responses: infer R }
  ? R extends { 200: infer X } ? JsonOf<X> : R extends { 201: infer X } ? JsonOf<X>
    : R extends { 202: infer X } ? JsonOf<X> : undefined
  : never;
type BodyOf<O> = O extends { requestBody: { content: { 'application/json': infer B } } } ? B
  : O extends { requestBody?: { content: { 'application/json': infer B } } } ? B | undefined : undefined;
type WriteParams<O> = O extends { parameters: { path: infer X extends object } } ? X : Record<string, never>;

export function write<M extends WriteMethod, P extends Writable<M>>(method: M, path: P,
  params: WriteParams<WriteOp<P, M>>, body: BodyOf<WriteOp<P, M>>): Promise<Answer<WriteOp<P, M>>> {
  const named = new Map<string, unknown>(Object.entries(params));
  const url = path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(String(named.get(k))));
  return api<Answer<WriteOp<P, M>>>(method.toUpperCase(), url, body === undefined ? {} : { body });
}
