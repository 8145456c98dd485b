// Two-factor sign-in in the person's profile: enrol an authenticator app
// (the password again, unless they have none: signed in by a provider;
// the secret shown as the QR code the server drew of its otpauth:// URI,
// and as text to type or paste in), confirm with a first code, see the
// ten recovery codes this once, turn it off with the password and a code.
import { useState, type FormEvent } from 'react';
import { errorMessage, read, write } from '../api/client';
import type { Schemas } from '../api/types';
import { ErrorNote, Field, Spinner, useLoad, useToast } from '../ui/kit';

type Enrolment = Schemas['MfaEnrolment'];

// the server's QR code (an SVG of the otpauth:// URI) as an image source
export const totpQr = (e: Enrolment) => `data:image/svg+xml;charset=utf-8,${encodeURIComponent(e.qr_svg)}`;

export default function TwoFactor() {
  const { data, error, loading, reload } = useLoad((s) => read('/api/v1/me/mfa', {}, { signal: s }), []);
  const toast = useToast();
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [formError, setFormError] = useState<unknown>(null);

  const run = async (e: FormEvent<HTMLFormElement>, f: (d: FormData) => Promise<void>) => {
    e.preventDefault();
    const d = new FormData(e.currentTarget);
    setBusy(true);
    setFormError(null);
    try { await f(d); } catch (err) { setFormError(err); } finally { setBusy(false); }
  };

  const start = (e: FormEvent<HTMLFormElement>) => run(e, async (d) => {
    const password = String(d.get('password') || '');
    setEnrolment(await write('post', '/api/v1/me/mfa/totp', {}, password ? { password } : {}));
  });
  const confirm = (e: FormEvent<HTMLFormElement>) => run(e, async (d) => {
    const r = await write('post', '/api/v1/me/mfa/totp/confirm', {}, { code: String(d.get('code')).trim() });
    setEnrolment(null);
    setCodes(r.recovery_codes);
    reload();
  });
  const disable = (e: FormEvent<HTMLFormElement>) => run(e, async (d) => {
    const password = String(d.get('password') || '');
    await write('delete', '/api/v1/me/mfa/totp', {},
      { ...(password ? { password } : {}), code: String(d.get('code')).trim() });
    toast('Two-factor sign-in is off.');
    reload();
  });
  const copy = (text: string) => navigator.clipboard?.writeText(text)
    .then(() => toast('Copied.'), (e) => toast(errorMessage(e), 'error'));

  const on = data?.totp === 'on';

  return (
    <section className="box two-factor" aria-labelledby="mfa-title">
      <div className="row between wrap">
        <h2 id="mfa-title">Two-factor sign-in</h2>
        {data && <span className={`status-pill ${on ? 'active' : ''}`}>{on ? 'On' : 'Off'}</span>}
      </div>
      <p className="muted small">
        With it on, signing in with your password also asks for the code of an authenticator app
        (or one of your recovery codes). Sign-ins through GitHub or your company's provider rely on
        that provider's own checks.
      </p>
      <ErrorNote error={error} onRetry={reload} />
      <ErrorNote error={formError} />
      {loading && !data ? <Spinner label="Loading…" /> : codes ? (
        <div className="recovery-codes">
          <p><strong>Save these recovery codes now.</strong> Each signs you in once if you lose your
            authenticator; they are not shown again.</p>
          <ol className="plain-list mono" aria-label="Recovery codes">
            {codes.map((c) => <li key={c}>{c}</li>)}
          </ol>
          <div className="row wrap">
            <button type="button" className="btn small" onClick={() => copy(codes.join('\n'))}>Copy</button>
            <button type="button" className="btn small primary" onClick={() => setCodes(null)}>I have saved them</button>
          </div>
        </div>
      ) : enrolment ? (
        <form onSubmit={confirm} className="mfa-enrol" aria-label="Confirm two-factor sign-in">
          <p>Add this account to your authenticator app: scan the QR code, or type the key.</p>
          <img className="qr" src={totpQr(enrolment)} width={200} height={200} alt="QR code of your authenticator key" />
          <Field label="Key">
            <input readOnly className="mono" value={enrolment.secret} onFocus={(e) => e.currentTarget.select()} />
          </Field>
          <Field label="Link (otpauth://)">
            <input readOnly className="mono" value={enrolment.otpauth_uri} onFocus={(e) => e.currentTarget.select()} />
          </Field>
          <Field label="The code the app shows" hint="Six digits; confirms that the app has the key.">
            <input name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}"
              minLength={6} maxLength={6} required autoFocus />
          </Field>
          <div className="row wrap">
            <button className="btn primary" disabled={busy}>{busy ? 'Checking…' : 'Turn on'}</button>
            <button type="button" className="btn" onClick={() => { setEnrolment(null); setFormError(null); }}>Cancel</button>
          </div>
        </form>
      ) : on ? (
        <form onSubmit={disable} className="mfa-disable" aria-label="Turn two-factor sign-in off">
          <p className="small">{data?.recovery_codes_left} recovery codes left.</p>
          <div className="row wrap">
            <Field label="Password">
              <input name="password" type="password" autoComplete="current-password" />
            </Field>
            <Field label="Code">
              <input name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}"
                minLength={6} maxLength={6} required />
            </Field>
          </div>
          <button className="btn danger-ghost" disabled={busy}>{busy ? 'Turning off…' : 'Turn off'}</button>
        </form>
      ) : (
        <form onSubmit={start} className="mfa-start" aria-label="Set up two-factor sign-in">
          <Field label="Your password" hint="Asked again before your sign-in changes; leave it empty if you only sign in through a provider.">
            <input name="password" type="password" autoComplete="current-password" />
          </Field>
          <button className="btn primary" disabled={busy}>{busy ? 'Starting…' : 'Set up'}</button>
        </form>
      )}
    </section>
  );
}
