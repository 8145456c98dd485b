// An operator's setup link (kanbanctl operator add): the TOTP secret to
// enrol, then a password and the authenticator's first code. The token is
// in the link's fragment, which never reaches a server's log.
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../api/client';
import type { Operator, OperatorSetup as Setup } from '../api/types';
import { ErrorNote, Field, Spinner } from '../ui/kit';

export default function OperatorSetup() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
  const [setup, setSetup] = useState<Setup | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<Operator | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!token) return;
    api<Setup>('POST', '/api/v1/platform/auth/setup', { body: { token } })
      .then(setSetup, setError);
  }, [token]);

  const finish = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      setDone(await api<Operator>('POST', '/api/v1/platform/auth/setup/finish', {
        body: { token, password: String(f.get('password')), totp: String(f.get('totp')) },
      }));
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
        {done ? (
          <section className="auth-card" role="status">
            <h1>You are set up</h1>
            <p>{done.email} can now sign in to the console with the password and a code
              from the authenticator.</p>
            <a className="btn primary block" href="/operators">Open the console</a>
          </section>
        ) : !token ? (
          <section className="auth-card"><h1>No setup link</h1>
            <p className="muted">Open the link <code>kanbanctl operator add</code> printed.</p></section>
        ) : !setup ? (
          <section className="auth-card"><h1>Operator setup</h1>
            {error ? <ErrorNote error={error} /> : <Spinner />}</section>
        ) : (
          <form className="auth-card wide" onSubmit={finish} aria-labelledby="setup-title">
            <h1 id="setup-title">Set up {setup.email}</h1>
            <ol className="op-steps">
              <li>Add this account to an authenticator app (TOTP, 6 digits, 30 seconds):
                <div className="op-secret" aria-label="TOTP secret">{setup.totp_secret.replace(/(.{4})/g, '$1 ').trim()}</div>
                <details><summary>The otpauth:// address</summary>
                  <code className="op-uri">{setup.otpauth_uri}</code></details>
              </li>
              <li>Choose a password and enter the code the app shows now.</li>
            </ol>
            <ErrorNote error={error} />
            <Field label="Password" hint="10 characters or more; not a common one">
              <input name="password" type="password" required minLength={10} maxLength={128}
                autoComplete="new-password" />
            </Field>
            <Field label="Code from the app">
              <input name="totp" required inputMode="numeric" pattern="[0-9]{6}" maxLength={6}
                autoComplete="one-time-code" />
            </Field>
            <button className="btn primary block" disabled={busy}>Finish setup</button>
          </form>
        )}
      </div>
    </div>
  );
}
