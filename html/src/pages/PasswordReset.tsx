// Pages a person reaches without signing in, from the sign-in page or a
// message: asking for a password reset link, setting a new password with
// it, and unsubscribing from notification email with a message's link.
import { useState, type FormEvent } from 'react';
import { errorMessage, request, write } from '../api/client';
import { useAuth } from '../auth';
import { ErrorNote, Field } from '../ui/kit';

// the link's token: in the fragment (kept out of logs), or the query
export function linkToken(): string {
  const hash = new URLSearchParams(location.hash.replace(/^#/, ''));
  return hash.get('token') || new URLSearchParams(location.search).get('token') || '';
}

function Card({ title, children, onSubmit }: {
  title: string; children: React.ReactNode; onSubmit?: (e: FormEvent<HTMLFormElement>) => void;
}) {
  return (
    <div className="auth-page">
      <form className="auth-card" onSubmit={onSubmit} aria-labelledby="auth-card-title">
        <div className="brand big"><span className="logo" aria-hidden="true" /> Kanban</div>
        <h1 id="auth-card-title">{title}</h1>
        {children}
      </form>
    </div>
  );
}

export function ForgotPassword() {
  const { workspace } = useAuth();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState('');

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const email = String(new FormData(e.currentTarget).get('email')).trim();
    setBusy(true);
    setError(null);
    try {
      await write('post', '/api/v1/auth/password-reset', {}, { email });
      setSent(email);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (sent) {
    return (
      <Card title="Check your email">
        <p className="reset-sent" role="status">
          If <strong>{sent}</strong> belongs to a member of {workspace?.name}, a link to set a new
          password is on its way. It works once, for 30 minutes.
        </p>
        <a className="btn block" href="/signin">Back to sign-in</a>
      </Card>
    );
  }
  return (
    <Card title="Forgot your password?" onSubmit={submit}>
      <p className="muted">Type the email you sign in with; we send you a link to set a new password.</p>
      <ErrorNote error={error} />
      <Field label="Email">
        <input name="email" type="email" autoComplete="username" maxLength={254} required autoFocus />
      </Field>
      <button className="btn primary block" disabled={busy}>{busy ? 'Sending…' : 'Send me a link'}</button>
      <p className="muted small center-text"><a href="/signin">Back to sign-in</a></p>
    </Card>
  );
}

export function ResetPassword() {
  const token = linkToken();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const password = String(f.get('password'));
    if (password !== f.get('again')) { setError(new Error('The two passwords differ.')); return; }
    setBusy(true);
    setError(null);
    try {
      await write('post', '/api/v1/auth/password-reset/confirm', {}, { token, password });
      history.replaceState(null, '', '/reset-password');
      setDone(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (done) {
    return (
      <Card title="Your password is set">
        <p role="status">Every other session of yours has ended. Sign in with the new password.</p>
        <a className="btn primary block" href="/signin">Sign in</a>
      </Card>
    );
  }
  return (
    <Card title="Set a new password" onSubmit={submit}>
      {!token && <p className="error-note" role="alert">This link has no token in it. Ask for a new one.</p>}
      <ErrorNote error={error} />
      <Field label="New password" hint="10 to 128 characters, not a common one.">
        <input name="password" type="password" autoComplete="new-password" minLength={10} maxLength={128} required autoFocus />
      </Field>
      <Field label="The same again">
        <input name="again" type="password" autoComplete="new-password" required />
      </Field>
      <button className="btn primary block" disabled={busy || !token}>{busy ? 'Saving…' : 'Set the password'}</button>
      <p className="muted small center-text"><a href="/forgot-password">Ask for a new link</a></p>
    </Card>
  );
}

const KIND_NAMES: Record<string, string> = {
  all: 'any notification email',
  assigned: 'emails when you are assigned a task',
  mentioned: 'emails when you are mentioned',
  commented: 'emails about comments',
  approved: 'emails about approved timesheets',
  absence_decided: 'emails about your absences',
  webhook_disabled: 'emails about disabled webhooks',
  health_changed: "emails about projects' health",
  update_due: 'emails about updates that are due',
  rule: "emails from projects' rules",
  budget_alert: 'emails about project budgets',
};

// One click, no sign-in: the same POST a mail client's one-click sends.
export function Unsubscribe() {
  const q = new URLSearchParams(location.search);
  const kind = q.get('k') || '';
  const [state, setState] = useState<'ask' | 'busy' | 'done'>('ask');
  const [error, setError] = useState<string>('');

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setState('busy');
    setError('');
    try {
      await request('POST', '/api/v1/mail/unsubscribe' + location.search, {
        raw: 'List-Unsubscribe=One-Click',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      setState('done');
    } catch (err) {
      setError(errorMessage(err));
      setState('ask');
    }
  };

  if (state === 'done') {
    return (
      <Card title="Unsubscribed">
        <p role="status">You get no more {KIND_NAMES[kind] || 'of these emails'}. You can change this
          in your profile, under Email.</p>
      </Card>
    );
  }
  return (
    <Card title="Unsubscribe" onSubmit={submit}>
      <p>Stop {KIND_NAMES[kind] || 'these emails'}?</p>
      {error && <p className="error-note" role="alert">{error}</p>}
      <button className="btn primary block" disabled={state === 'busy'}>Unsubscribe</button>
    </Card>
  );
}
