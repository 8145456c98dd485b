// The sign-in page's other ways in: a "Continue with …" button for each
// provider the workspace has enabled (a plain link: the browser goes to
// the provider and comes back signed in), and what went wrong when a
// provider's sign-in sends the browser back with ?oauth_error=.
import { useEffect, useState } from 'react';
import { read } from '../api/client';
import type { components } from '../api/schema';

type Provider = components['schemas']['SignInProvider'];

// What each code the callback sends back means to the person signing in.
const MESSAGES: Record<string, string> = {
  access_denied: 'The sign-in was cancelled at the provider.',
  state_missing: 'The sign-in could not be matched to this browser (are cookies blocked?). Please try again.',
  state_invalid: 'That sign-in link is not valid for this browser or was already used. Please try again.',
  state_expired: 'The sign-in took too long. Please try again.',
  code_missing: 'The provider sent no sign-in code. Please try again.',
  code_rejected: 'The provider did not accept the sign-in. Please try again.',
  id_token_invalid: 'The provider\'s answer could not be verified. Ask an admin to check the provider\'s settings.',
  email_unverified: 'Your address is not verified at the provider. Verify it there, then try again.',
  not_invited: 'There is no account for your address in this workspace. Ask an admin for an invitation.',
  account_disabled: 'Your account in this workspace is disabled.',
  unknown_provider: 'That sign-in method is not available in this workspace.',
  provider_timeout: 'The provider did not answer in time. Please try again.',
  provider_unavailable: 'The provider cannot be reached right now. Please try again later.',
  provider_error: 'The provider answered with an error. Please try again later.',
  provider_misconfigured: 'This sign-in method is not set up correctly. Ask an admin to check it.',
  temporarily_unavailable: 'Signing in is briefly unavailable. Please try again.',
  quota_exceeded: 'This workspace has as many people as its plan allows. Ask an admin to make room.',
};

export function oauthErrorMessage(code: string): string {
  return MESSAGES[code] || 'The sign-in did not work. Please try again.';
}

// onPassword: whether the workspace still takes email and password
export function SignInProviders({ onPassword }: { onPassword: (on: boolean) => void }) {
  const [providers, setProviders] = useState<Provider[]>([]);
  const [password, setPassword] = useState(true);
  const [error] = useState(() => new URLSearchParams(location.search).get('oauth_error'));

  useEffect(() => {
    const ac = new AbortController();
    read('/api/v1/auth/oauth/providers', {}, { signal: ac.signal })
      .then((r) => { setProviders(r.items); setPassword(r.password); onPassword(r.password); })
      .catch(() => { /* the password form still works */ });
    return () => ac.abort();
  }, [onPassword]);

  // the error is shown once; a reload does not bring it back
  useEffect(() => {
    if (error) history.replaceState(null, '', location.pathname);
  }, [error]);

  const back = location.pathname === '/signin' || location.pathname === '/' ? '/projects' : location.pathname;

  return (
    <>
      {error && <p className="error-note" role="alert" data-oauth-error={error}>{oauthErrorMessage(error)}</p>}
      {providers.length > 0 && (
        <div className="stack oauth-buttons">
          {providers.map((p) => (
            <a key={p.slug} className="btn block"
              href={`/api/v1/auth/oauth/${encodeURIComponent(p.slug)}/start?return_to=${encodeURIComponent(back)}`}>
              Continue with {p.name}
            </a>
          ))}
          {password && <p className="muted small center-text">or with your email and password</p>}
        </div>
      )}
    </>
  );
}
