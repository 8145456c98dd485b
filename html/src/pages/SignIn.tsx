import { useCallback, useState, type FormEvent } from 'react';
import { ApiError, login, loginMfa, me, mfaChallenge, mfaEnrolmentToken, write } from '../api/client';
import { useAuth } from '../auth';
import { ErrorNote, Field } from '../ui/kit';
import { EnrolAtSignIn } from './EnrolAtSignIn';
import { linkToken } from './PasswordReset';
import { SignInProviders } from './SignInProviders';

export function SignIn() {
  const { workspace, setUser } = useAuth();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [password, setPassword] = useState(true);
  const onPassword = useCallback((on: boolean) => setPassword(on), []);
  // the second step of a person with two-factor sign-in on
  const [challenge, setChallenge] = useState<string | null>(null);
  const [recovery, setRecovery] = useState(false);
  // the enrolment the workspace's policy asks first: from the password's
  // answer, or from a provider's sign-in in the fragment (then cleared)
  const [enrolment, setEnrolment] = useState<string | null>(() => {
    const m = /^#mfa_enrolment=(kbe_[A-Za-z0-9_-]+)$/.exec(location.hash);
    if (m) history.replaceState(null, '', location.pathname + location.search);
    return m ? m[1] : null;
  });

  const signedIn = async () => {
    try { setUser(await me()); } catch { /* the login's user stands */ }
    if (location.pathname === '/signin' || location.pathname === '/') history.replaceState(null, '', '/projects');
  };

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await login(String(f.get('email')), String(f.get('password')));
      await signedIn();
    } catch (err) {
      const c = mfaChallenge(err);
      const t = mfaEnrolmentToken(err);
      if (c) setChallenge(c); else if (t) setEnrolment(t); else setError(err);
    } finally {
      setBusy(false);
    }
  };

  const submitCode = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (!challenge) return;
    const v = String(new FormData(e.currentTarget).get('code') || '').trim();
    setBusy(true);
    setError(null);
    try {
      await loginMfa(challenge, recovery ? { recovery_code: v } : { code: v });
      await signedIn();
    } catch (err) {
      // a used, expired or dead challenge: back to the password
      if (err instanceof ApiError && err.code === 'invalid_token') setChallenge(null);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (enrolment) {
    return <EnrolAtSignIn token={enrolment} onDone={() => { void signedIn(); }}
      onRestart={() => { setEnrolment(null); setError(null); }} />;
  }

  if (challenge) {
    return (
      <div className="auth-page">
        <form className="auth-card" onSubmit={submitCode} aria-labelledby="signin-title" key={recovery ? 'r' : 'c'}>
          <div className="brand big"><span className="logo" aria-hidden="true" /> Kanban</div>
          <h1 id="signin-title">Two-factor sign-in</h1>
          <ErrorNote error={error} />
          {recovery ? (
            <Field label="Recovery code" hint="One of the codes you saved when you turned two-factor sign-in on; each works once.">
              <input name="code" autoComplete="off" maxLength={64} required autoFocus spellCheck={false} />
            </Field>
          ) : (
            <Field label="Code from your authenticator app" hint="The six digits it shows now.">
              <input name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}"
                minLength={6} maxLength={6} required autoFocus />
            </Field>
          )}
          <button className="btn primary block" disabled={busy}>{busy ? 'Checking…' : 'Verify'}</button>
          <p className="small center-text">
            <button type="button" className="link" onClick={() => { setRecovery(!recovery); setError(null); }}>
              {recovery ? 'Use the authenticator app instead' : 'Use a recovery code instead'}
            </button>
            {' · '}
            <button type="button" className="link" onClick={() => { setChallenge(null); setError(null); }}>Start over</button>
          </p>
        </form>
      </div>
    );
  }

  return (
    <div className="auth-page">
      <form className="auth-card" onSubmit={submit} aria-labelledby="signin-title">
        <div className="brand big"><span className="logo" aria-hidden="true" /> Kanban</div>
        <h1 id="signin-title">Sign in to {workspace?.name}</h1>
        <SignInProviders onPassword={onPassword} />
        <ErrorNote error={error} />
        {password && (
          <>
            <Field label="Email">
              <input name="email" type="email" autoComplete="username" required autoFocus />
            </Field>
            <Field label="Password">
              <input name="password" type="password" autoComplete="current-password" required />
            </Field>
            <button className="btn primary block" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
            <p className="small center-text"><a href="/forgot-password">Forgot your password?</a></p>
          </>
        )}
        <p className="muted small center-text">
          New here? Ask an admin of this workspace for an invitation.
        </p>
      </form>
    </div>
  );
}

export function AcceptInvite() {
  const { setUser } = useAuth();
  const token = linkToken();     // the mailed link has it in the fragment
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const password = String(f.get('password'));
    if (password !== f.get('again')) { setError(new Error('The two passwords differ.')); return; }
    setBusy(true);
    setError(null);
    try {
      const u = await write('post', '/api/v1/auth/accept-invite', {}, { invite_token: token, password });
      await login(u.email, password);
      try { setUser(await me()); } catch { /* fine */ }
      history.replaceState(null, '', '/projects');
      location.reload();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <div className="auth-page">
      <form className="auth-card" onSubmit={submit} aria-labelledby="inv-title">
        <div className="brand big"><span className="logo" aria-hidden="true" /> Kanban</div>
        <h1 id="inv-title">Accept your invitation</h1>
        {!token && <p className="error-note" role="alert">This link has no invitation in it. Ask the admin for a new one.</p>}
        <ErrorNote error={error} />
        <Field label="Choose a password" hint="10 to 128 characters, not a common one.">
          <input name="password" type="password" autoComplete="new-password" minLength={10} maxLength={128} required />
        </Field>
        <Field label="The same again">
          <input name="again" type="password" autoComplete="new-password" required />
        </Field>
        <button className="btn primary block" disabled={busy || !token}>{busy ? 'Joining…' : 'Join the workspace'}</button>
      </form>
    </div>
  );
}
