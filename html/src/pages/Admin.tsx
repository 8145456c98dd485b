// The workspace's administration: people (invite, roles, deactivate),
// teams and their members, skills, API tokens.
import { useState, type FormEvent } from 'react';
import { NavLink, Navigate, Route, Routes } from 'react-router-dom';
import { del, errorMessage, get, patch, post, put } from '../api/client';
import type { Page, Skill, Team, User } from '../api/types';
import { useAuth } from '../auth';
import { label, longDate } from '../ui/format';
import { Avatar, Empty, ErrorNote, Field, Modal, Spinner, useLoad, useToast } from '../ui/kit';

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
      </nav>
      <Routes>
        <Route path="/" element={<Navigate to={user?.role === 'admin' ? 'users' : 'tokens'} replace />} />
        <Route path="users" element={<Users />} />
        <Route path="teams" element={<Teams />} />
        <Route path="skills" element={<Skills />} />
        <Route path="tokens" element={<Tokens />} />
      </Routes>
    </div>
  );
}

function Users() {
  const { data, error, loading, reload } = useLoad((s) => get<Page<User>>('/api/v1/users?limit=200', s), []);
  const [inviting, setInviting] = useState(false);
  const [invite, setInvite] = useState<{ name: string; url: string } | null>(null);
  const toast = useToast();
  const setRole = async (u: User, role: string) => {
    try { await patch(`/api/v1/users/${u.id}`, { role, version: u.version }); reload(); } catch (e) { toast(errorMessage(e), 'error'); }
  };
  const remove = async (u: User) => {
    if (!confirm(`Remove ${u.name} from the workspace? Their tasks and comments stay.`)) return;
    try { await del(`/api/v1/users/${u.id}`); reload(); } catch (e) { toast(errorMessage(e), 'error'); }
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
                  <td><button type="button" className="btn small danger-ghost" onClick={() => remove(u)}>Remove</button></td>
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
      const u = await post<User & { invite_token?: string }>('/api/v1/users', { name: f.get('name'), email: f.get('email'), role: f.get('role') });
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

type TeamFull = Team & { members?: { id: string; name: string }[] };

function Teams() {
  const { data, error, loading, reload } = useLoad((s) => get<Page<TeamFull>>('/api/v1/teams', s), []);
  const people = useLoad((s) => get<Page<User>>('/api/v1/users?limit=200', s), []);
  const toast = useToast();
  const create = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    try { await post('/api/v1/teams', { name: f.get('name') }); form.reset(); reload(); } catch (err) { toast(errorMessage(err), 'error'); }
  };
  const member = async (t: TeamFull, userId: string, add: boolean) => {
    try {
      if (add) await put(`/api/v1/teams/${t.id}/members/${userId}`, undefined);
      else await del(`/api/v1/teams/${t.id}/members/${userId}`);
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
                  try { await del(`/api/v1/teams/${t.id}`); reload(); } catch (err) { toast(errorMessage(err), 'error'); }
                }}>Delete</button></div>
              {t.description && <p className="muted small">{t.description}</p>}
              <ul className="plain-list">
                {(t.members || []).map((m) => (
                  <li key={m.id} className="row between"><span className="row"><Avatar name={m.name} /> {m.name}</span>
                    <button type="button" className="icon-btn small" aria-label={`Take ${m.name} out of ${t.name}`} onClick={() => member(t, m.id, false)}>✕</button></li>
                ))}
              </ul>
              <select aria-label={`Add someone to ${t.name}`} value="" onChange={(e) => e.target.value && member(t, e.target.value, true)}>
                <option value="">+ Add a member…</option>
                {(people.data?.items || []).filter((p) => !(t.members || []).some((m) => m.id === p.id)).map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}
              </select>
            </div>
          ))}
        </div>
      )}
    </>
  );
}

function Skills() {
  const { data, error, loading, reload } = useLoad((s) => get<Page<Skill>>('/api/v1/skills', s), []);
  const toast = useToast();
  return (
    <>
      <form className="row" onSubmit={async (e) => {
        e.preventDefault();
        const form = e.currentTarget;
        try { await post('/api/v1/skills', { name: new FormData(form).get('name') }); form.reset(); reload(); } catch (err) { toast(errorMessage(err), 'error'); }
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

type Token = { id: string; name: string; scopes: string[]; created_at: string; expires_at: string | null; revoked_at: string | null };

function Tokens() {
  const { data, error, loading, reload } = useLoad((s) => get<Page<Token>>('/api/v1/api-tokens', s), []);
  const [shown, setShown] = useState<string | null>(null);
  const [formError, setFormError] = useState<unknown>(null);
  const toast = useToast();
  const create = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const body: Record<string, unknown> = { name: f.get('name'), scopes: f.getAll('scopes') };
    if (f.get('expires_at')) body.expires_at = `${f.get('expires_at')}T23:59:59Z`;
    try {
      const t = await post<Token & { token: string }>('/api/v1/api-tokens', body);
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
          {['read', 'write', 'admin'].map((s) => <label key={s} className="check"><input type="checkbox" name="scopes" value={s} defaultChecked={s === 'read'} /> {s}</label>)}
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
                    try { await del(`/api/v1/api-tokens/${t.id}`); reload(); } catch (err) { toast(errorMessage(err), 'error'); }
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
