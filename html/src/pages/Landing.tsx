// The platform host: sign up a workspace, or find the ones you belong to.
import { useState, type FormEvent } from 'react';
import { write } from '../api/client';
import type { Tenant } from '../api/types';
import { ErrorNote, Field } from '../ui/kit';

export default function Landing() {
  const [error, setError] = useState<unknown>(null);
  const [made, setMade] = useState<Tenant | null>(null);
  const [busy, setBusy] = useState(false);
  const [slug, setSlug] = useState('');
  const [where, setWhere] = useState('');

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      const v = (k: string) => String(f.get(k) ?? '');
      const t = await write('post', '/api/v1/tenants', {}, {
        slug: v('slug'), name: v('name'),
        admin: { name: v('admin_name'), email: v('email'), password: v('password') },
      });
      setMade(t);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  // A person who knows their workspace's name goes straight to it.
  const go = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const name = where.trim().toLowerCase();
    if (name) window.location.assign(`${location.protocol}//${name}.${location.host}/`);
  };

  // One who does not gets them by email; the answer is the same for any
  // address, so the page says only that a message is on its way.
  const [sent, setSent] = useState<string | null>(null);
  const [findError, setFindError] = useState<unknown>(null);
  const find = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const email = String(new FormData(e.currentTarget).get('email') ?? '').trim();
    setFindError(null);
    try {
      await write('post', '/api/v1/portal/find-workspaces', {}, { email });
      setSent(email);
    } catch (err) {
      setFindError(err);
    }
  };

  return (
    <div className="landing">
      <header className="landing-head">
        <div className="brand big"><span className="logo" aria-hidden="true" /> Kanban</div>
      </header>
      <div className="landing-grid">
        <section className="pitch">
          <h1>Plan, track and ship, together.</h1>
          <p>Boards that update live for everyone, timesheets your managers approve in a click,
            and a portfolio view that tells executives where the risk is.</p>
          <ul className="ticks">
            <li>Drag-and-drop boards with WIP limits and swimlanes</li>
            <li>Weekly timesheets, approvals and utilisation</li>
            <li>Portfolio dashboard with risk flags</li>
            <li>Share a task with a link, a password and a QR code</li>
          </ul>
          <form className="card pad" onSubmit={find} aria-labelledby="mine-title">
            <h2 id="mine-title">Find my workspaces</h2>
            {sent ? (
              <p role="status">If {sent} belongs to any workspace, a message listing them,
                with sign-in links, is on its way. The links work once, for 15 minutes.</p>
            ) : (
              <>
                <ErrorNote error={findError} />
                <div className="row">
                  <input name="email" type="email" required maxLength={254}
                    placeholder="you@example.com" aria-label="Email to look up" />
                  <button className="btn">Email me</button>
                </div>
              </>
            )}
          </form>
          <form className="card pad" onSubmit={go} aria-labelledby="find-title">
            <h2 id="find-title">Already have a workspace?</h2>
            <div className="row">
              <input name="workspace" required pattern="[a-z][a-z0-9\-]{1,30}[a-z0-9]"
                value={where} onChange={(e) => setWhere(e.target.value)}
                placeholder="acme" aria-label="Workspace to open"
                title="The name before the dot in your workspace's address" />
              <span className="muted">.{location.host}</span>
              <button className="btn">Go</button>
            </div>
          </form>
        </section>
        {made ? (
          <section className="auth-card" role="status">
            <h2>{made.name} is ready</h2>
            <p>Your workspace lives at its own address. Sign in there with the email and password you chose.</p>
            <a className="btn primary block" href={made.url}>Open {made.url.replace(/^https?:\/\//, '')}</a>
          </section>
        ) : (
          <form className="auth-card" onSubmit={submit} aria-labelledby="signup-title">
            <h2 id="signup-title">Create a workspace</h2>
            <ErrorNote error={error} />
            <Field label="Workspace name"><input name="name" required maxLength={100} /></Field>
            <Field label="Address" hint={`${slug || 'acme'}.${location.host}`}>
              <input name="slug" required pattern="[a-z][a-z0-9\-]{1,30}[a-z0-9]" value={slug}
                onChange={(e) => setSlug(e.target.value.toLowerCase())}
                title="3 to 32 lowercase letters, digits or dashes, starting with a letter" />
            </Field>
            <Field label="Your name"><input name="admin_name" required autoComplete="name" /></Field>
            <Field label="Your email"><input name="email" type="email" required autoComplete="email" /></Field>
            <Field label="Password" hint="10 to 128 characters, not a common one.">
              <input name="password" type="password" required minLength={10} maxLength={128} autoComplete="new-password" />
            </Field>
            <button className="btn primary block" disabled={busy}>{busy ? 'Creating…' : 'Create workspace'}</button>
          </form>
        )}
      </div>
    </div>
  );
}
