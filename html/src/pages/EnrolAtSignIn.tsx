// Enrolment at sign-in: the workspace requires two-factor sign-in of this
// person and they have not set it up. With the enrolment session of their
// sign-in (password, or a provider's, handed over in the URL's fragment)
// they get a secret (QR code, key, link), confirm it with a first code,
// see their ten recovery codes this once, and only then are signed in.
import { useEffect, useState, type FormEvent } from 'react';
import { adoptSession, ApiError, confirmEnrolAtSignIn, enrolAtSignIn } from '../api/client';
import type { Schemas } from '../api/types';
import { ErrorNote, Field, Spinner } from '../ui/kit';
import { totpQr } from './TwoFactor';

type Enrolment = Schemas['MfaEnrolment'];
type Enrolled = Schemas['MfaEnrolledSession'];

export function EnrolAtSignIn({ token, onDone, onRestart }: {
  token: string; onDone: () => void; onRestart: () => void;
}) {
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [enrolled, setEnrolled] = useState<Enrolled | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // a spent, expired or dead enrolment session: only a new sign-in helps
  const dead = error instanceof ApiError && error.status === 401;

  useEffect(() => {
    let live = true;
    enrolAtSignIn(token).then((e) => { if (live) setEnrolment(e); }, (e) => { if (live) setError(e); });
    return () => { live = false; };
  }, [token]);

  const confirm = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const code = String(new FormData(e.currentTarget).get('code') || '').trim();
    setBusy(true);
    setError(null);
    try { setEnrolled(await confirmEnrolAtSignIn(token, code)); } catch (err) { setError(err); } finally { setBusy(false); }
  };

  const finish = () => { if (enrolled) { adoptSession(enrolled); onDone(); } };

  return (
    <div className="auth-page">
      <div className="auth-card two-factor" aria-labelledby="enrol-title">
        <div className="brand big"><span className="logo" aria-hidden="true" /> Kanban</div>
        <h1 id="enrol-title">Set up two-factor sign-in</h1>
        {enrolled ? (
          <div className="recovery-codes">
            <p><strong>Two-factor sign-in is on. Save these recovery codes now.</strong> Each signs you in
              once if you lose your authenticator; they are not shown again.</p>
            <ol className="plain-list mono" aria-label="Recovery codes">
              {enrolled.recovery_codes.map((c) => <li key={c}>{c}</li>)}
            </ol>
            <div className="row wrap">
              <button type="button" className="btn small"
                onClick={() => navigator.clipboard?.writeText(enrolled.recovery_codes.join('\n')).catch(() => undefined)}>Copy</button>
              <button type="button" className="btn primary" onClick={finish}>I have saved them, continue</button>
            </div>
          </div>
        ) : (
          <form onSubmit={confirm} className="mfa-enrol" aria-label="Confirm two-factor sign-in">
            <p className="muted small">This workspace requires two-factor sign-in. Scan the QR code with
              your authenticator app (or type the key), then enter the code it shows.</p>
            <ErrorNote error={error} />
            {dead ? (
              <p><button type="button" className="btn primary block" onClick={onRestart}>Sign in again</button></p>
            ) : !enrolment ? <Spinner label="Preparing your key…" /> : (
              <>
                <img className="qr" src={totpQr(enrolment)} width={200} height={200}
                  alt="QR code of your authenticator key" />
                <Field label="Key">
                  <input readOnly className="mono" value={enrolment.secret} onFocus={(e) => e.currentTarget.select()} />
                </Field>
                <Field label="The code the app shows" hint="Six digits; confirms that the app has the key.">
                  <input name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}"
                    minLength={6} maxLength={6} required autoFocus />
                </Field>
                <button className="btn primary block" disabled={busy}>{busy ? 'Checking…' : 'Turn on and sign in'}</button>
              </>
            )}
            <p className="small center-text">
              <button type="button" className="link" onClick={onRestart}>Start over</button>
            </p>
          </form>
        )}
      </div>
    </div>
  );
}
