// The workspace's administration: people (invite, roles, deactivate),
// teams and their members, skills, API tokens, webhooks (AdminWebhooks),
// the model and its usage (AdminAi), and the workspace's settings (time
// zone, open registration) with its plan's usage (WorkspaceUsage).
import { useMemo, useState, type FormEvent } from 'react';
import { NavLink, Navigate, Route, Routes } from 'react-router-dom';
import { errorMessage, read, write } from '../api/client';
import type { Role, ApiTokenRequest, Team, User, Workspace, WorkspacePatch } from '../api/types';
import { useAuth } from '../auth';
import { label, longDate } from '../ui/format';
import { Avatar, Empty, ErrorNote, Field, Modal, Spinner, useLoad, useToast } from '../ui/kit';
import { SignInMethods } from './SignInMethods';
import AdminWebhooks from './AdminWebhooks';
import AdminAi from './AdminAi';
import AdminAgents from './AdminAgents';
import { WorkspaceUsage } from './WorkspaceUsage';
import { WorkspaceExport } from './WorkspaceExport';

export default function Admin() {
  const { user } = useAuth();
  return (
    <div className="page">
      <h1>Admin</h1>
      <nav className="sub-tabs" aria-label="Admin sections">
        <NavLink to="/admin/users">People</NavLink>
        <NavLink to="/admin/teams">Teams</NavLink>
        <NavLink to="/admin/skills">Skills</NavLink>
        <NavLink to="/admin/tokens">API tokens</NavLink>
        {user?.role === 'admin' && <NavLink to="/admin/webhooks">Webhooks</NavLink>}
        {user?.role === 'admin' && <NavLink to="/admin/agents">Agents</NavLink>}
        {user?.role === 'admin' && <NavLink to="/admin/ai">AI</NavLink>}
        {user?.role === 'admin' && <NavLink to="/admin/settings">Settings</NavLink>}
      </nav>
      <Routes>
        <Route path="/" element={<Navigate to={user?.role === 'admin' ? 'users' : 'tokens'} replace />} />
        <Route path="users" element={<Users />} />
        <Route path="teams" element={<Teams />} />
        <Route path="skills" element={<Skills />} />
        <Route path="tokens" element={<Tokens />} />
        <Route path="webhooks" element={<AdminWebhooks />} />
        <Route path="agents" element={<AdminAgents />} />
        <Route path="ai" element={<AdminAi />} />
        <Route path="settings" element={<Settings />} />
      </Routes>
    </div>
  );
}

const ROLES: Role[] = ['admin', 'project_manager', 'contributor'];

function Users() {
  const { data, error, loading, reload } = useLoad((s) => read('/api/v1/users', {}, { query: { limit: 200 }, signal: s }), []);
  const [inviting, setInviting] = useState(false);
  const [invite, setInvite] = useState<{ name: string; url: string } | null>(null);
  const toast = useToast();
  const setRole = async (u: User, value: string) => {
    const role = ROLES.find((r) => r === value);
    if (!role) return;
    try { await write('patch', '/api/v1/users/{id}', { id: u.id }, { role, version: u.version }); reload(); } catch (e) { toast(errorMessage(e), 'error'); }
  };
  const remove = async (u: User) => {
    if (!confirm(`Remove ${u.name} from the workspace? Their tasks and comments stay.`)) return;
    try { await write('delete', '/api/v1/users/{id}', { id: u.id }, undefined); reload(); } catch (e) { toast(errorMessage(e), 'error'); }
  };
  // for a member who lost the authenticator and the recovery codes (audited)
  const resetMfa = async (u: User) => {
    if (!confirm(`Reset the two-factor sign-in of ${u.name}? They sign in with their password alone until they set it up again.`)) return;
    try { await write('delete', '/api/v1/users/{id}/mfa', { id: u.id }, undefined); toast(`Two-factor sign-in of ${u.name} reset.`); } catch (e) { toast(errorMessage(e), 'error'); }
  };
  return (
    <>
      <div className="row between"><p className="muted">Everyone in the workspace and their role.</p>
        <button type="button" className="btn primary" onClick={() => setInviting(true)}>Invite someone</button></div>
      <ErrorNote error={error} onRetry={reload} />
      {invite && (
        <div className="banner ok" role="status">
          Send {invite.name} this link to join (it works once): <div className="secret">{invite.url}</div>
        </div>
      )}
      {loading && !data ? <Spinner /> : (
        <div className="table-wrap">
          <table className="data">
            <thead><tr><th>Person</th><th>Email</th><th>Role</th><th>Status</th><th>Since</th><th /></tr></thead>
            <tbody>
              {(data?.items || []).map((u) => (
                <tr key={u.id}>
                  <td><span className="row"><Avatar name={u.name} /> {u.name}</span></td>
                  <td>{u.email}</td>
                  <td>
                    <select aria-label={`Role of ${u.name}`} value={u.role} onChange={(e) => setRole(u, e.target.value)}>
                      {['admin', 'project_manager', 'contributor'].map((r) => <option key={r} value={r}>{label(r)}</option>)}
                    </select>
                  </td>
                  <td><span className={`status-pill ${u.status === 'active' ? 'active' : 'draft'}`}>{label(u.status || 'active')}</span></td>
                  <td>{longDate(u.created_at)}</td>
                  <td><span className="row end">
                    <button type="button" className="btn small" onClick={() => resetMfa(u)}
                      aria-label={`Reset two-factor sign-in of ${u.name}`}>Reset 2FA</button>
                    <button type="button" className="btn small danger-ghost" onClick={() => remove(u)}>Remove</button>
                  </span></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {inviting && <InviteForm onClose={() => setInviting(false)} onDone={(u, token) => {
        setInviting(false);
        reload();
        if (token) setInvite({ name: u.name || '', url: `${location.origin}/accept-invite?token=${encodeURIComponent(token)}` });
      }} />}
    </>
  );
}

function InviteForm({ onClose, onDone }: { onClose: () => void; onDone: (u: User, token?: string) => void }) {
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    try {
      const u = await write('post', '/api/v1/users', {}, { name: String(f.get('name')), email: String(f.get('email')), role: ROLES.find((r) => r === f.get('role')) });
      onDone(u, u.invite_token);
    } catch (err) { setError(err); }
  };
  return (
    <Modal title="Invite someone" onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <ErrorNote error={error} />
        <Field label="Name"><input name="name" required autoFocus /></Field>
        <Field label="Email"><input name="email" type="email" required /></Field>
        <Field label="Role">
          <select name="role" defaultValue="contributor">
            <option value="contributor">Contributor</option>
            <option value="project_manager">Project manager</option>
            <option value="admin">Admin</option>
          </select>
        </Field>
        <div className="row end"><button type="button" className="btn" onClick={onClose}>Cancel</button><button className="btn primary">Invite</button></div>
      </form>
    </Modal>
  );
}

function Teams() {
  const { data, error, loading, reload } = useLoad((s) => read('/api/v1/teams', {}, { signal: s }), []);
  const people = useLoad((s) => read('/api/v1/users', {}, { query: { limit: 200 }, signal: s }), []);
  const toast = useToast();
  const create = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    try { await write('post', '/api/v1/teams', {}, { name: String(f.get('name')) }); form.reset(); reload(); } catch (err) { toast(errorMessage(err), 'error'); }
  };
  const member = async (t: Team, userId: string, add: boolean) => {
    try {
      if (add) await write('put', '/api/v1/teams/{id}/members/{user_id}', { id: t.id, user_id: userId }, undefined);
      else await write('delete', '/api/v1/teams/{id}/members/{user_id}', { id: t.id, user_id: userId }, undefined);
      reload();
    } catch (err) { toast(errorMessage(err), 'error'); }
  };
  return (
    <>
      <form className="row" onSubmit={create}>
        <input name="name" required placeholder="New team's name" aria-label="New team's name" />
        <button className="btn primary">Create team</button>
      </form>
      <ErrorNote error={error} onRetry={reload} />
      {loading && !data ? <Spinner /> : !data?.items.length ? <Empty title="No teams yet." /> : (
        <div className="dash-grid" style={{ marginTop: '1rem' }}>
          {data.items.map((t) => (
            <div key={t.id} className="box">
              <div className="row between"><h2>{t.name}</h2>
                <button type="button" className="btn small danger-ghost" onClick={async () => {
                  if (!confirm(`Delete the team ${t.name}?`)) return;
                  try { await write('delete', '/api/v1/teams/{id}', { id: t.id }, undefined); reload(); } catch (err) { toast(errorMessage(err), 'error'); }
                }}>Delete</button></div>
              {t.description && <p className="muted small">{t.description}</p>}
              <ul className="plain-list">
                {t.members.map((m) => (
                  <li key={m.id} className="row between"><span className="row"><Avatar name={m.name} /> {m.name}</span>
                    <button type="button" className="icon-btn small" aria-label={`Take ${m.name} out of ${t.name}`} onClick={() => member(t, m.id, false)}>✕</button></li>
                ))}
              </ul>
              <select aria-label={`Add someone to ${t.name}`} value="" onChange={(e) => e.target.value && member(t, e.target.value, true)}>
                <option value="">+ Add a member…</option>
                {(people.data?.items || []).filter((p) => !t.members.some((m) => m.id === p.id)).map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
              </select>
            </div>
          ))}
        </div>
      )}
    </>
  );
}

function Skills() {
  const { data, error, loading, reload } = useLoad((s) => read('/api/v1/skills', {}, { signal: s }), []);
  const toast = useToast();
  return (
    <>
      <form className="row" onSubmit={async (e) => {
        e.preventDefault();
        const form = e.currentTarget;
        try { await write('post', '/api/v1/skills', {}, { name: String(new FormData(form).get('name')) }); form.reset(); reload(); } catch (err) { toast(errorMessage(err), 'error'); }
      }}>
        <input name="name" required placeholder="A skill, e.g. PostgreSQL" aria-label="New skill" />
        <button className="btn primary">Add skill</button>
      </form>
      <ErrorNote error={error} onRetry={reload} />
      {loading && !data ? <Spinner /> : !data?.items.length ? <Empty title="No skills yet.">Skills help match people to tasks.</Empty> : (
        <div className="tags" style={{ marginTop: '1rem' }}>{data.items.map((s) => <span key={s.id} className="tag">{s.name}</span>)}</div>
      )}
    </>
  );
}

type Scope = ApiTokenRequest['scopes'][number];
const SCOPES: Scope[] = ['read', 'write', 'admin'];
const isScope = (v: unknown): v is Scope => SCOPES.some((s) => s === v);

function Tokens() {
  const { data, error, loading, reload } = useLoad((s) => read('/api/v1/api-tokens', {}, { signal: s }), []);
  const [shown, setShown] = useState<string | null>(null);
  const [formError, setFormError] = useState<unknown>(null);
  const toast = useToast();
  const create = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const body: ApiTokenRequest = { name: String(f.get('name')), scopes: f.getAll('scopes').filter(isScope) };
    if (f.get('expires_at')) body.expires_at = `${f.get('expires_at')}T23:59:59Z`;
    try {
      const t = await write('post', '/api/v1/api-tokens', {}, body);
      setShown(t.token); form.reset(); setFormError(null); reload();
    } catch (err) { setFormError(err); }
  };
  return (
    <>
      <form className="box stack" onSubmit={create}>
        <h2>New API token</h2>
        <ErrorNote error={formError} />
        <div className="row wrap">
          <Field label="Name"><input name="name" required placeholder="CI pipeline" /></Field>
          <Field label="Expires (optional)"><input name="expires_at" type="date" /></Field>
        </div>
        <div className="row" role="group" aria-label="Scopes">
          {SCOPES.map((s) => <label key={s} className="check"><input type="checkbox" name="scopes" value={s} defaultChecked={s === 'read'} /> {s}</label>)}
        </div>
        <div><button className="btn primary">Create token</button></div>
      </form>
      {shown && <div className="banner warn" role="status">Copy it now: it is shown only once. <div className="secret">{shown}</div></div>}
      <ErrorNote error={error} onRetry={reload} />
      {loading && !data ? <Spinner /> : !data?.items.length ? <Empty title="No API tokens.">Scripts and integrations use them as Authorization: Bearer kbt_…</Empty> : (
        <div className="table-wrap" style={{ marginTop: '1rem' }}>
          <table className="data">
            <thead><tr><th>Name</th><th>Scopes</th><th>Created</th><th>Expires</th><th /></tr></thead>
            <tbody>
              {data.items.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td><td>{t.scopes.join(', ')}</td><td>{longDate(t.created_at)}</td>
                  <td>{t.revoked_at ? 'Revoked' : t.expires_at ? longDate(t.expires_at) : 'Never'}</td>
                  <td>{!t.revoked_at && <button type="button" className="btn small danger-ghost" onClick={async () => {
                    try { await write('delete', '/api/v1/api-tokens/{id}', { id: t.id }, undefined); reload(); } catch (err) { toast(errorMessage(err), 'error'); }
                  }}>Revoke</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

// The zones this browser knows (and so can show "today" in), UTC first;
// none when it cannot list them, and then a text field takes any name.
function knownZones(): string[] {
  if (typeof Intl.supportedValuesOf !== 'function') return [];
  try {
    const z = Intl.supportedValuesOf('timeZone');
    return z.includes('UTC') ? z : ['UTC', ...z];
  } catch { return []; }
}

function Settings() {
  const { workspace, setWorkspace } = useAuth();
  if (!workspace) return <Spinner />;
  // keyed so that the form starts again from what the server saved
  return (
    <>
      <SettingsForm key={`${workspace.time_zone}/${workspace.open_registration}`} ws={workspace} onSaved={setWorkspace} />
      <SignInMethods />
      <WorkspaceUsage />
      <WorkspaceExport slug={workspace.slug} />
    </>
  );
}

function SettingsForm({ ws, onSaved }: { ws: Workspace; onSaved: (w: Workspace) => void }) {
  const zones = useMemo(knownZones, []);
  const [zone, setZone] = useState(ws.time_zone);
  const [search, setSearch] = useState('');
  const [open, setOpen] = useState(ws.open_registration);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const toast = useToast();
  const shown = useMemo(() => {
    const q = search.trim().toLowerCase().replace(/\s+/g, '_');
    const list = q ? zones.filter((z) => z.toLowerCase().includes(q)) : zones;
    // the chosen zone stays in the list, known to this browser or not
    return list.includes(zone) ? list : [zone, ...list];
  }, [zones, search, zone]);
  const changed = zone !== ws.time_zone || open !== ws.open_registration;
  const save = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const body: WorkspacePatch = {};
    if (zone !== ws.time_zone) body.time_zone = zone.trim();
    if (open !== ws.open_registration) body.open_registration = open;
    setBusy(true);
    try {
      const w = await write('patch', '/api/v1/workspace', {}, body);
      setError(null);
      toast('Settings saved.');
      onSaved(w);
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  let now = '';
  try {
    now = new Intl.DateTimeFormat(undefined, { timeZone: zone, weekday: 'long', hour: '2-digit', minute: '2-digit' }).format(new Date());
  } catch { /* a zone this browser does not know: the server decides */ }
  return (
    <form className="box stack settings-form" onSubmit={save} aria-labelledby="ws-settings-title">
      <h2 id="ws-settings-title">Workspace settings</h2>
      <ErrorNote error={error} />
      {zones.length > 0 ? (
        <fieldset className="stack tz-picker">
          <legend className="field-label">Time zone</legend>
          <input type="search" aria-label="Search time zones" placeholder="Search: Berlin, New_York, Tokyo…"
            value={search} onChange={(e) => setSearch(e.target.value)} />
          <select aria-label="Time zone" size={8} value={zone} onChange={(e) => setZone(e.target.value)}>
            {shown.map((z) => <option key={z} value={z}>{z.replace(/_/g, ' ')}</option>)}
          </select>
          <span className="field-hint">
            {zone}{now ? ` · now ${now}` : ''}. Decides which day is today, and where days and weeks begin,
            for every report, due date, rule and timesheet of the workspace.
          </span>
        </fieldset>
      ) : (
        <Field label="Time zone" hint="An IANA name such as Europe/Berlin or America/New_York. Decides which day is today for the whole workspace.">
          <input name="time_zone" value={zone} onChange={(e) => setZone(e.target.value)} required maxLength={64} />
        </Field>
      )}
      <label className="check">
        <input type="checkbox" checked={open} onChange={(e) => setOpen(e.target.checked)} />
        Open registration: anyone who reaches this workspace's sign-in page may create an account (otherwise invitations only)
      </label>
      <div className="row end">
        <button type="button" className="btn" disabled={!changed || busy}
          onClick={() => { setZone(ws.time_zone); setOpen(ws.open_registration); setError(null); }}>Undo</button>
        <button className="btn primary" disabled={!changed || busy}>{busy ? 'Saving…' : 'Save settings'}</button>
      </div>
    </form>
  );
}
