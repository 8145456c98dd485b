// The operators' console on the platform host: sign-in with password and
// TOTP, every workspace as figures (filtered, sorted, paged), one
// workspace's status, plan and limits and its move to another server, the
// long jobs with their progress and how many workspaces are on each schema
// version, and the platform audit log. An operator never sees a
// workspace's contents: the API gives figures only.
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, api, qs } from '../api/client';
import type {
  Operator, OperatorSession, PlatformAuditEntry, PlatformAuditList, PlatformJob,
  PlatformJobList, PlatformSchemaVersions, PlatformWorkspace, PlatformWorkspaceList,
  PlatformWorkspacePatch,
} from '../api/types';
import { Empty, ErrorNote, Field, Modal, Spinner, useToast } from '../ui/kit';

type Tab = 'workspaces' | 'jobs' | 'audit';

const TAB_PATHS: Record<Tab, string> = {
  workspaces: '/operators', jobs: '/operators/jobs', audit: '/operators/audit',
};

const tabOfPath = (): Tab => (location.pathname.endsWith('/audit') ? 'audit'
  : location.pathname.endsWith('/jobs') ? 'jobs' : 'workspaces');

export default function Operators() {
  const [me, setMe] = useState<Operator | null | undefined>(undefined);
  const [tab, setTab] = useState<Tab>(tabOfPath);

  useEffect(() => {
    api<Operator>('GET', '/api/v1/platform/me').then(setMe, () => setMe(null));
  }, []);

  const go = (t: Tab) => {
    setTab(t);
    history.replaceState(null, '', TAB_PATHS[t]);
  };

  const signOut = async () => {
    try { await api('POST', '/api/v1/platform/auth/logout'); } finally { setMe(null); }
  };

  if (me === undefined) return <div className="center"><Spinner /></div>;
  if (me === null) return <OperatorSignIn onIn={setMe} />;

  return (
    <div className="op-shell">
      <header className="op-top">
        <div className="brand"><span className="logo" aria-hidden="true" /> Kanban operators</div>
        <nav className="tabs" aria-label="Console">
          <a href="/operators" className={`tab${tab === 'workspaces' ? ' active' : ''}`}
            onClick={(e) => { e.preventDefault(); go('workspaces'); }}>Workspaces</a>
          <a href="/operators/jobs" className={`tab${tab === 'jobs' ? ' active' : ''}`}
            onClick={(e) => { e.preventDefault(); go('jobs'); }}>Jobs</a>
          <a href="/operators/audit" className={`tab${tab === 'audit' ? ' active' : ''}`}
            onClick={(e) => { e.preventDefault(); go('audit'); }}>Audit log</a>
        </nav>
        <span className="muted op-who">{me.email}</span>
        <button className="btn small" onClick={signOut}>Sign out</button>
      </header>
      <main className="page">
        {tab === 'workspaces' ? <Workspaces /> : tab === 'jobs' ? <Jobs /> : <Audit />}
      </main>
    </div>
  );
}

function OperatorSignIn({ onIn }: { onIn: (o: Operator) => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const s = await api<OperatorSession>('POST', '/api/v1/platform/auth/login', {
        body: {
          email: String(f.get('email')), password: String(f.get('password')),
          totp: String(f.get('totp')), cookie: true,
        },
      });
      onIn(s.operator);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="landing">
      <header className="landing-head">
        <div className="brand big"><span className="logo" aria-hidden="true" /> Kanban operators</div>
      </header>
      <div className="op-center">
        <form className="auth-card" onSubmit={submit} aria-labelledby="op-signin">
          <h1 id="op-signin">Operator sign-in</h1>
          <p className="muted">Password and a code from your authenticator, both.</p>
          <ErrorNote error={error} />
          <Field label="Email"><input name="email" type="email" required autoComplete="username" /></Field>
          <Field label="Password">
            <input name="password" type="password" required autoComplete="current-password" />
          </Field>
          <Field label="Code">
            <input name="totp" required inputMode="numeric" pattern="[0-9]{6}" maxLength={6}
              autoComplete="one-time-code" />
          </Field>
          <button className="btn primary block" disabled={busy}>Sign in</button>
        </form>
      </div>
    </div>
  );
}

const SORTS: { key: string; label: string }[] = [
  { key: 'created_at', label: 'Created' },
  { key: 'last_active_at', label: 'Last active' },
  { key: 'users', label: 'Users' },
  { key: 'tasks', label: 'Tasks' },
  { key: 'size', label: 'Size' },
];

function Workspaces() {
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [server, setServer] = useState('');
  const [sort, setSort] = useState('-created_at');
  const [rows, setRows] = useState<PlatformWorkspace[]>([]);
  const [total, setTotal] = useState(0);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [open, setOpen] = useState<PlatformWorkspace | null>(null);

  const load = useCallback(async (after: string | null) => {
    setLoading(true);
    setError(null);
    try {
      const page = await api<PlatformWorkspaceList>('GET', '/api/v1/platform/workspaces'
        + qs({ q, status, server, sort, limit: 50, cursor: after }));
      setRows((r) => (after ? [...r, ...page.items] : page.items));
      setTotal(page.total);
      setCursor(page.next_cursor);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  }, [q, status, server, sort]);

  useEffect(() => {
    const t = window.setTimeout(() => { void load(null); }, 200);
    return () => window.clearTimeout(t);
  }, [load]);

  const sortBy = (key: string) => setSort((s) => (s === `-${key}` ? key : `-${key}`));
  const arrow = (key: string) => (sort === key ? ' ↑' : sort === `-${key}` ? ' ↓' : '');
  const aria = (key: string) => (sort === key ? 'ascending' : sort === `-${key}` ? 'descending' : 'none');

  const changed = (w: PlatformWorkspace) => {
    setRows((r) => r.map((x) => (x.slug === w.slug ? w : x)));
    setOpen(w);
  };

  return (
    <>
      <div className="page-head">
        <h1>Workspaces <span className="muted op-count">{total}</span></h1>
      </div>
      <div className="filters" role="search">
        <input type="search" placeholder="Slug or name" value={q} aria-label="Search workspaces"
          onChange={(e) => setQ(e.target.value)} />
        <select value={status} onChange={(e) => setStatus(e.target.value)} aria-label="Status">
          <option value="">Any status</option>
          <option value="active">Active</option>
          <option value="suspended">Suspended</option>
          <option value="moving">Moving</option>
          <option value="provisioning">Provisioning</option>
          <option value="deleting">Deleting (restorable)</option>
          <option value="deleted">Deleted</option>
        </select>
        <input placeholder="Server" value={server} aria-label="Server"
          onChange={(e) => setServer(e.target.value.trim())} />
      </div>
      <ErrorNote error={error} onRetry={() => load(null)} />
      <div className="table-wrap">
        <table className="data op-table">
          <thead>
            <tr>
              <th scope="col">Workspace</th>
              <th scope="col">Status</th>
              <th scope="col">Plan</th>
              <th scope="col">Server</th>
              <th scope="col">Schema</th>
              {SORTS.map((s) => (
                <th scope="col" key={s.key} aria-sort={aria(s.key)} className="num">
                  <button className="linkish" onClick={() => sortBy(s.key)}>{s.label}{arrow(s.key)}</button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((w) => (
              <tr key={w.slug}>
                <th scope="row">
                  <button className="linkish" onClick={() => setOpen(w)}>{w.name}</button>
                  <div className="muted small">{w.slug}</div>
                </th>
                <td><span className={`status-pill ${w.status === 'active' ? 'active' : 'cancelled'}`}>{w.status}</span></td>
                <td>{w.plan}</td>
                <td>{w.server}</td>
                <td className="num">{w.schema_version}</td>
                <td className="num">{day(w.created_at)}</td>
                <td className="num">{w.last_active_at ? day(w.last_active_at) : '—'}</td>
                <td className="num">{w.users}</td>
                <td className="num">{w.tasks}</td>
                <td className="num">{bytes(w.size_bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!loading && rows.length === 0 && <Empty title="No workspace matches" />}
      </div>
      {loading ? <Spinner /> : cursor && (
        <button className="btn op-more" onClick={() => load(cursor)}>Show more</button>
      )}
      {open && <WorkspaceDetail w={open} onClose={() => setOpen(null)} onChanged={changed} />}
    </>
  );
}

function WorkspaceDetail({ w, onClose, onChanged }: {
  w: PlatformWorkspace; onClose: () => void; onChanged: (w: PlatformWorkspace) => void;
}) {
  const toast = useToast();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const patch = async (body: PlatformWorkspacePatch, done: string) => {
    setBusy(true);
    setError(null);
    try {
      const next = await api<PlatformWorkspace>('PATCH',
        `/api/v1/platform/workspaces/${encodeURIComponent(w.slug)}`, { body });
      onChanged(next);
      toast(done);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const saveLimits = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const n = (k: string) => {
      const v = String(f.get(k) ?? '').trim();
      return v === '' ? null : Number(v);
    };
    void patch({
      plan: String(f.get('plan')),
      limits: { max_users: n('max_users'), max_storage_bytes: n('max_storage_bytes'), api_rate: n('api_rate') },
    }, 'Plan and limits saved');
  };

  const suspended = w.status === 'suspended';
  const deleting = w.status === 'deleting';

  const lifecycle = async (how: 'delete' | 'restore') => {
    if (how === 'delete' && !window.confirm(`Delete ${w.name}? Its users are refused at once; `
        + 'it can be restored for 30 days, then its database is dropped.')) return;
    setBusy(true);
    setError(null);
    try {
      const path = `/api/v1/platform/workspaces/${encodeURIComponent(w.slug)}`;
      const next = how === 'delete'
        ? await api<PlatformWorkspace>('DELETE', path)
        : await api<PlatformWorkspace>('POST', `${path}/restore`);
      onChanged(next);
      toast(how === 'delete' ? `${w.name} is deleted; restorable for 30 days` : `${w.name} is restored`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title={w.name} onClose={onClose} wide>
      <dl className="op-figures">
        <div><dt>Address</dt><dd>{w.slug}</dd></div>
        <div><dt>Status</dt><dd><span className={`status-pill ${w.status === 'active' ? 'active' : 'cancelled'}`}>{w.status}</span></dd></div>
        <div><dt>Users</dt><dd>{w.users}</dd></div>
        <div><dt>Tasks</dt><dd>{w.tasks}</dd></div>
        <div><dt>Size</dt><dd>{bytes(w.size_bytes)}</dd></div>
        <div><dt>Server</dt><dd>{w.server}</dd></div>
        <div><dt>Schema</dt><dd>{w.schema_version}</dd></div>
        <div><dt>Created</dt><dd>{day(w.created_at)}</dd></div>
        <div><dt>Last active</dt><dd>{w.last_active_at ? day(w.last_active_at) : '—'}</dd></div>
      </dl>
      <p className="muted small">Figures as measured {w.figures_at ? `on ${day(w.figures_at)}` : 'never yet'} (kanbanctl figures).
        An operator sees figures only, never a workspace's tasks.</p>
      <ErrorNote error={error} />
      {deleting ? (
        <div className="op-actions">
          <button className="btn primary" disabled={busy} onClick={() => lifecycle('restore')}>Restore</button>
          <span className="muted small">Deleted: its users get 410 until it is restored
            {w.purge_after ? `; its database is dropped after ${day(w.purge_after)}` : ''}.</span>
        </div>
      ) : (
      <div className="op-actions">
        {suspended ? (
          <button className="btn primary" disabled={busy}
            onClick={() => patch({ status: 'active' }, `${w.name} is active again`)}>Resume</button>
        ) : (
          <button className="btn danger" disabled={busy || w.status !== 'active'}
            onClick={() => patch({ status: 'suspended' }, `${w.name} is suspended`)}>Suspend</button>
        )}
        <span className="muted small">{suspended
          ? 'Its users are refused (403 tenant_suspended) until it is resumed; nothing is lost.'
          : 'Suspending refuses its users at once; resuming brings everything back.'}</span>
        <button className="btn danger-ghost op-delete" disabled={busy || w.status === 'deleted'}
          onClick={() => lifecycle('delete')}>Delete…</button>
      </div>
      )}
      {w.status === 'active' && <MoveForm w={w} />}
      <form className="op-limits" onSubmit={saveLimits} aria-label="Plan and limits">
        <Field label="Plan"><input name="plan" defaultValue={w.plan} required pattern="[a-z][a-z0-9_\-]{0,31}" /></Field>
        <Field label="Max users" hint="empty: no limit">
          <input name="max_users" type="number" min={1} defaultValue={w.limits.max_users ?? ''} />
        </Field>
        <Field label="Max storage (bytes)" hint="empty: no limit">
          <input name="max_storage_bytes" type="number" min={1} defaultValue={w.limits.max_storage_bytes ?? ''} />
        </Field>
        <Field label="API rate (requests a minute)" hint="empty: the default">
          <input name="api_rate" type="number" min={1} defaultValue={w.limits.api_rate ?? ''} />
        </Field>
        <button className="btn" disabled={busy}>Save plan and limits</button>
      </form>
    </Modal>
  );
}

function Audit() {
  const [workspace, setWorkspace] = useState('');
  const [rows, setRows] = useState<PlatformAuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);

  const load = useCallback(async (after: string | null) => {
    setLoading(true);
    setError(null);
    try {
      const page = await api<PlatformAuditList>('GET', '/api/v1/platform/audit'
        + qs({ workspace: workspace.trim(), limit: 50, cursor: after }));
      setRows((r) => (after ? [...r, ...page.items] : page.items));
      setCursor(page.next_cursor);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? new Error('Your session ended; reload to sign in.') : err);
    } finally {
      setLoading(false);
    }
  }, [workspace]);

  useEffect(() => {
    const t = window.setTimeout(() => { void load(null); }, 200);
    return () => window.clearTimeout(t);
  }, [load]);

  return (
    <>
      <div className="page-head"><h1>Audit log</h1></div>
      <div className="filters" role="search">
        <input type="search" placeholder="Workspace slug" value={workspace} aria-label="Workspace"
          onChange={(e) => setWorkspace(e.target.value)} />
      </div>
      <ErrorNote error={error} onRetry={() => load(null)} />
      <div className="table-wrap">
        <table className="data">
          <thead>
            <tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th>
              <th scope="col">Workspace</th><th scope="col">From</th></tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.id}>
                <td className="nowrap">{new Date(e.at).toLocaleString()}</td>
                <td>{e.operator.email}</td>
                <td><code>{e.action}</code>{describe(e)}</td>
                <td>{e.workspace ?? '—'}</td>
                <td>{e.address ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!loading && rows.length === 0 && <Empty title="Nothing yet" />}
      </div>
      {loading ? <Spinner /> : cursor && (
        <button className="btn op-more" onClick={() => load(cursor)}>Show more</button>
      )}
    </>
  );
}

function describe(e: PlatformAuditEntry) {
  const d = e.details as { change?: Record<string, unknown>; reason?: string };
  if (d.reason) return <span className="muted small"> ({d.reason})</span>;
  if (d.change) return <span className="muted small"> {JSON.stringify(d.change)}</span>;
  return null;
}

function day(iso: string) {
  return new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

function bytes(n: number) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v < 10 && i ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

// A move to another database server: queued as a job, which a runner
// (kanbanctl jobs run) does; the Jobs tab follows its progress.
function MoveForm({ w }: { w: PlatformWorkspace }) {
  const toast = useToast();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const server = String(new FormData(e.currentTarget).get('server')).trim();
    setBusy(true);
    setError(null);
    try {
      await api<PlatformJob>('POST', `/api/v1/platform/workspaces/${encodeURIComponent(w.slug)}/move`,
        { body: { server } });
      toast(`Move of ${w.name} to ${server} queued; see Jobs`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="op-move" onSubmit={submit} aria-label="Move to another server">
      <Field label="Move to server" hint={`now on ${w.server}`}>
        <input name="server" required pattern="[a-z][a-z0-9\-]*" maxLength={63} placeholder="db2" />
      </Field>
      <button className="btn" disabled={busy}>Queue the move</button>
      <ErrorNote error={error} />
    </form>
  );
}

const JOB_KINDS = ['provision', 'export', 'delete', 'move', 'migrate'];
const JOB_STATES = ['queued', 'running', 'succeeded', 'failed'];

// A job as the operators' stream sends it (job.updated: the PlatformJob
// schema); what comes over the wire is checked before the table uses it.
function streamJob(text: string): PlatformJob | null {
  try {
    const j = JSON.parse(text) as Partial<PlatformJob> | null;
    return j && typeof j.id === 'string' && typeof j.kind === 'string' && typeof j.state === 'string'
      && typeof j.progress === 'number' && Array.isArray(j.failures) ? j as PlatformJob : null;
  } catch {
    return null;
  }
}

// A deletion that a restore ended is failed in the contract (it has no
// cancelled state), but it is no failure: the table says what it is.
const cancelledByRestore = (j: PlatformJob) => j.kind === 'delete' && j.state === 'failed'
  && (j.result.cancelled_by === 'restore' || (j.error ?? '').startsWith('cancelled'));

// The long jobs, newest first, live over the operators' event stream
// (GET /api/v1/platform/events: each job.updated replaces its row, a new
// job that matches the filters comes on top); while the stream is down,
// refreshed every two seconds as long as one is queued or running. And
// the schema versions the workspaces are on.
function Jobs() {
  const [kind, setKind] = useState('');
  const [state, setState] = useState('');
  const [workspace, setWorkspace] = useState('');
  const [rows, setRows] = useState<PlatformJob[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [versions, setVersions] = useState<PlatformSchemaVersions | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);

  const load = useCallback(async (after: string | null) => {
    setError(null);
    try {
      const [page, v] = await Promise.all([
        api<PlatformJobList>('GET', '/api/v1/platform/jobs'
          + qs({ kind, state, workspace: workspace.trim(), limit: 50, cursor: after })),
        api<PlatformSchemaVersions>('GET', '/api/v1/platform/schema-versions'),
      ]);
      setRows((r) => (after ? [...r, ...page.items] : page.items));
      if (!after) setCursor(page.next_cursor);
      setVersions(v);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  }, [kind, state, workspace]);

  useEffect(() => {
    const t = window.setTimeout(() => { void load(null); }, 200);
    return () => window.clearTimeout(t);
  }, [load]);

  const [streaming, setStreaming] = useState(false);
  useEffect(() => {
    if (typeof EventSource === 'undefined') return undefined;
    const es = new EventSource('/api/v1/platform/events', { withCredentials: true });
    let versionsSoon: number | undefined;
    es.onopen = () => setStreaming(true);
    // the browser reconnects by itself (with Last-Event-ID); meanwhile,
    // and for good once it gives up, the table polls
    es.onerror = () => setStreaming(false);
    es.addEventListener('job.updated', (m) => {
      const job = streamJob((m as MessageEvent<string>).data);
      if (!job) return;
      const wanted = (!kind || job.kind === kind) && (!state || job.state === state)
        && (!workspace.trim() || job.workspace === workspace.trim());
      setRows((r) => {
        const i = r.findIndex((x) => x.id === job.id);
        if (i < 0) return wanted ? [job, ...r] : r;
        return wanted ? r.map((x) => (x.id === job.id ? job : x)) : r.filter((x) => x.id !== job.id);
      });
    });
    // a workspace on a new schema version: the counts, a moment later
    const versionsChanged = () => {
      window.clearTimeout(versionsSoon);
      versionsSoon = window.setTimeout(() => {
        api<PlatformSchemaVersions>('GET', '/api/v1/platform/schema-versions').then(setVersions, () => {});
      }, 500);
    };
    es.addEventListener('workspace.created', versionsChanged);
    es.addEventListener('workspace.updated', versionsChanged);
    // too far behind to resume: the list anew
    es.addEventListener('reset', () => { void load(null); });
    return () => { window.clearTimeout(versionsSoon); es.close(); setStreaming(false); };
  }, [kind, state, workspace, load]);

  const live = rows.some((j) => j.state === 'queued' || j.state === 'running');
  useEffect(() => {
    if (!live || streaming) return undefined;
    const t = window.setInterval(() => { void load(null); }, 2000);
    return () => window.clearInterval(t);
  }, [live, streaming, load]);

  return (
    <>
      <div className="page-head">
        <h1>Jobs</h1>
        <span className={`op-live ${streaming ? 'on' : 'off'}`} role="status">
          {streaming ? 'Live' : 'Refreshing every 2 s'}
        </span>
      </div>
      {versions && (
        <section className="op-versions" aria-label="Schema versions">
          <h2>Schema versions</h2>
          <ul>
            {versions.versions.map((v) => (
              <li key={v.version} className={v.version === versions.latest ? 'current' : 'behind'}>
                <strong>{v.workspaces}</strong> on <code>v{v.version}</code>
                {v.version === versions.latest ? ' (newest)' : ''}
              </li>
            ))}
          </ul>
          <p className="muted small">{versions.workspaces} workspaces. <code>kanbanctl migrate</code> brings
            the ones behind to the newest, skipping and recording any that fail; run again, it resumes.</p>
        </section>
      )}
      <div className="filters" role="search">
        <select value={kind} onChange={(e) => setKind(e.target.value)} aria-label="Kind">
          <option value="">Any kind</option>
          {JOB_KINDS.map((k) => <option key={k} value={k}>{k}</option>)}
        </select>
        <select value={state} onChange={(e) => setState(e.target.value)} aria-label="State">
          <option value="">Any state</option>
          {JOB_STATES.map((k) => <option key={k} value={k}>{k}</option>)}
        </select>
        <input type="search" placeholder="Workspace slug" value={workspace} aria-label="Workspace"
          onChange={(e) => setWorkspace(e.target.value)} />
      </div>
      <ErrorNote error={error} onRetry={() => load(null)} />
      <div className="table-wrap">
        <table className="data op-jobs">
          <thead>
            <tr><th scope="col">Kind</th><th scope="col">Workspace</th><th scope="col">State</th>
              <th scope="col">Progress</th><th scope="col">Asked by</th><th scope="col">Started</th>
              <th scope="col">Finished</th></tr>
          </thead>
          <tbody>
            {rows.map((j) => (
              <tr key={j.id}>
                <td><code>{j.kind}</code>{j.kind === 'move' && j.params.server
                  ? <span className="muted small"> to {String(j.params.server)}</span> : null}</td>
                <td>{j.workspace ?? <span className="muted">every workspace</span>}</td>
                <td>
                  {cancelledByRestore(j) ? (
                    <>
                      <span className="status-pill job-cancelled" title="state: failed">cancelled</span>
                      <div className="small muted">the workspace was restored within the grace period</div>
                    </>
                  ) : (
                    <>
                      <span className={`status-pill job-${j.state}`}>{j.state}</span>
                      {j.error && <div className="small op-job-error">{j.error}</div>}
                    </>
                  )}
                  {j.failures.map((f) => (
                    <div key={f.workspace} className="small op-job-error">{f.workspace}: {f.error}</div>
                  ))}
                </td>
                <td className="progress-cell">
                  <span className="progress" role="progressbar" aria-valuenow={j.progress}
                    aria-valuemin={0} aria-valuemax={100} aria-label={`${j.kind} progress`}>
                    <span className="bar" style={{ width: `${j.progress}%` }} />
                  </span>
                  <span className="small"> {j.progress}%</span>
                  {j.kind === 'migrate' && 'total' in j.result && (
                    <div className="muted small">{String(j.result.migrated)} of {String(j.result.total)} migrated,
                      {' '}{String(j.result.failed)} failed</div>
                  )}
                </td>
                <td className="small">{j.requested_by}</td>
                <td className="nowrap small">{j.started_at ? new Date(j.started_at).toLocaleString() : '—'}</td>
                <td className="nowrap small">{j.finished_at ? new Date(j.finished_at).toLocaleString() : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!loading && rows.length === 0 && <Empty title="No job matches" />}
      </div>
      {loading ? <Spinner /> : cursor && (
        <button className="btn op-more" onClick={() => load(cursor)}>Show more</button>
      )}
    </>
  );
}
