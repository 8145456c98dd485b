// Admin → Settings → Sign-in methods: the workspace's GitHub and OIDC
// providers, added, edited, disabled and deleted here. The client secret
// is write-only: the server says only whether one is set, and leaving the
// field empty when editing keeps it.
import { useState, type FormEvent } from 'react';
import { errorMessage, read, write } from '../api/client';
import type { components } from '../api/schema';
import { Empty, ErrorNote, Field, Modal, Spinner, useLoad, useToast } from '../ui/kit';

type Provider = components['schemas']['AuthProvider'];
type ProviderRequest = components['schemas']['AuthProviderRequest'];
type ProviderPatch = components['schemas']['AuthProviderPatch'];
type MfaRequired = components['schemas']['MfaPolicy']['required'];

const callbackOf = (slug: string) => `${location.origin}/api/v1/auth/oauth/${slug || '{slug}'}/callback`;

export function SignInMethods() {
  const { data, error, loading, reload } = useLoad((s) => read('/api/v1/auth/providers', {}, { signal: s }), []);
  const policy = useLoad((s) => read('/api/v1/auth/sign-in-policy', {}, { signal: s }), []);
  const mfa = useLoad((s) => read('/api/v1/auth/mfa-policy', {}, { signal: s }), []);
  const [editing, setEditing] = useState<Provider | 'new' | null>(null);
  const toast = useToast();
  const anyEnabled = !!data?.items.some((p) => p.enabled);

  const setPassword = async (on: boolean) => {
    try {
      await write('put', '/api/v1/auth/sign-in-policy', {}, { password: on });
      toast(on ? 'Passwords sign people in again.' : 'Only the providers sign people in now.');
      policy.reload();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };

  const setEmailLink = async (on: boolean) => {
    try {
      await write('put', '/api/v1/auth/sign-in-policy', {}, { email_link: on });
      toast(on ? 'Emailed sign-in links work now.' : 'Emailed sign-in links no longer work.');
      policy.reload();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };

  const setMfa = async (required: MfaRequired) => {
    try {
      await write('put', '/api/v1/auth/mfa-policy', {}, { required });
      toast(required === 'off' ? 'Two-factor sign-in is up to each person.'
        : `Two-factor sign-in is required of ${required === 'admins' ? 'admins' : 'everyone'}; who has not set it up does so at their next sign-in.`);
      mfa.reload();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };

  const toggle = async (p: Provider) => {
    try {
      await write('patch', '/api/v1/auth/providers/{id}', { id: p.id }, { enabled: !p.enabled });
      reload();
    } catch (e) { toast(errorMessage(e), 'error'); }
  };
  const remove = async (p: Provider) => {
    if (!confirm(`Delete ${p.name}? People who signed in with it keep their accounts and sign in another way.`)) return;
    try { await write('delete', '/api/v1/auth/providers/{id}', { id: p.id }, undefined); reload(); } catch (e) { toast(errorMessage(e), 'error'); }
  };

  return (
    <section className="box stack" aria-labelledby="sign-in-methods-title">
      <div className="row between">
        <h2 id="sign-in-methods-title">Sign-in methods</h2>
        <button type="button" className="btn primary" onClick={() => setEditing('new')}>Add a provider</button>
      </div>
      <p className="muted">
        Besides email and password, people can sign in with GitHub or your organisation's OpenID Connect
        provider (Okta, Entra ID, Google, Keycloak…). They come in as the account with their verified address,
        or accept their invitation that way.
      </p>
      <ErrorNote error={error} onRetry={reload} />
      {loading && !data ? <Spinner /> : !data?.items.length ? (
        <Empty title="No providers yet">Only email and password sign people in.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="data">
            <thead><tr><th>Button</th><th>Kind</th><th>Client</th><th>Secret</th><th>Status</th><th /></tr></thead>
            <tbody>
              {data.items.map((p) => (
                <tr key={p.id}>
                  <td>Continue with {p.name}<div className="muted small">{p.slug}</div></td>
                  <td>{p.kind === 'oidc' ? `OIDC · ${p.issuer}` : p.issuer ? `GitHub Enterprise · ${p.issuer}` : 'GitHub'}</td>
                  <td>{p.client_id}</td>
                  <td>{p.client_secret_set ? 'set' : p.secret_file ? `file ${p.secret_file}` : 'none'}</td>
                  <td><span className={`status-pill ${p.enabled ? 'active' : 'draft'}`}>{p.enabled ? 'Enabled' : 'Disabled'}</span></td>
                  <td className="row end">
                    <button type="button" className="btn small" onClick={() => setEditing(p)}>Edit</button>
                    <button type="button" className="btn small" onClick={() => toggle(p)}>{p.enabled ? 'Disable' : 'Enable'}</button>
                    <button type="button" className="btn small danger-ghost" onClick={() => remove(p)}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {policy.data && (
        <label className="check">
          <input type="checkbox" checked={policy.data.password} disabled={policy.data.password && !anyEnabled}
            onChange={(e) => setPassword(e.target.checked)} />
          Email and password sign people in too
          {!anyEnabled && <span className="muted small"> (they always do while no provider is enabled)</span>}
        </label>
      )}
      {policy.data && (
        <label className="check">
          <input type="checkbox" checked={policy.data.email_link}
            onChange={(e) => setEmailLink(e.target.checked)} />
          Single-use links sent by email sign people in ("find my workspaces", the workspace switcher)
        </label>
      )}
      {mfa.data && (
        <Field label="Two-factor sign-in required of"
          hint="Who it covers and has not set it up does so at their next sign-in, before anything else. Turn it on for yourself first (Profile). API tokens are not affected.">
          <select value={mfa.data.required} onChange={(e) => { void setMfa(e.target.value as MfaRequired); }}
            aria-label="Two-factor sign-in required of">
            <option value="off">Nobody (each person chooses)</option>
            <option value="admins">Admins</option>
            <option value="everyone">Everyone</option>
          </select>
        </Field>
      )}
      {editing && (
        <ProviderForm provider={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)} onSaved={() => { setEditing(null); reload(); }} />
      )}
    </section>
  );
}

function ProviderForm({ provider, onClose, onSaved }: {
  provider: Provider | null; onClose: () => void; onSaved: () => void;
}) {
  const [kind, setKind] = useState<'github' | 'oidc'>(provider?.kind || 'oidc');
  const [slug, setSlug] = useState(provider?.slug || '');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const toast = useToast();

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const text = (k: string) => String(f.get(k) || '').trim();
    const issuer = text('issuer') || null;
    const secret = text('client_secret');
    const scopes = text('scopes');
    setBusy(true);
    try {
      if (provider) {
        const body: ProviderPatch = { slug, name: text('name'), issuer, client_id: text('client_id') };
        if (secret) body.client_secret = secret;
        if (scopes) body.scopes = scopes;
        await write('patch', '/api/v1/auth/providers/{id}', { id: provider.id }, body);
      } else {
        const body: ProviderRequest = { slug, kind, name: text('name'), issuer, client_id: text('client_id'), client_secret: secret };
        if (scopes) body.scopes = scopes;
        await write('post', '/api/v1/auth/providers', {}, body);
      }
      toast(provider ? 'Provider saved.' : 'Provider added.');
      onSaved();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };

  return (
    <Modal title={provider ? `Edit ${provider.name}` : 'Add a sign-in provider'} onClose={onClose}>
      <form className="stack" onSubmit={submit}>
        <ErrorNote error={error} />
        {!provider && (
          <fieldset className="row">
            <legend className="field-label">Kind</legend>
            <label className="check"><input type="radio" name="kind" checked={kind === 'oidc'} onChange={() => setKind('oidc')} /> OpenID Connect</label>
            <label className="check"><input type="radio" name="kind" checked={kind === 'github'} onChange={() => setKind('github')} /> GitHub</label>
          </fieldset>
        )}
        <Field label="Name on the button" hint={'Shown as "Continue with …".'}>
          <input name="name" defaultValue={provider?.name || (kind === 'github' ? 'GitHub' : '')} required maxLength={100} />
        </Field>
        <Field label="Slug" hint="Lower-case letters, digits and hyphens; part of the callback URL.">
          <input name="slug" value={slug} onChange={(e) => setSlug(e.target.value.toLowerCase())} required
            pattern="[a-z0-9][a-z0-9-]{0,39}" maxLength={40} />
        </Field>
        <Field label={kind === 'oidc' ? 'Issuer URL' : 'GitHub Enterprise URL (optional)'}
          hint={kind === 'oidc' ? 'Its discovery document is this URL + /.well-known/openid-configuration.' : 'Empty for github.com.'}>
          <input name="issuer" type="url" defaultValue={provider?.issuer || ''} required={kind === 'oidc'} maxLength={500} />
        </Field>
        <Field label="Client ID">
          <input name="client_id" defaultValue={provider?.client_id || ''} required maxLength={200} autoComplete="off" />
        </Field>
        <Field label="Client secret" hint={provider ? (provider.client_secret_set ? 'Set. Leave empty to keep it; it is never shown again.' : 'Not set.') : 'Stored encrypted; never shown again.'}>
          <input name="client_secret" type="password" required={!provider} maxLength={500} autoComplete="new-password" />
        </Field>
        <Field label="Scopes (optional)" hint={kind === 'oidc' ? 'Default: openid email profile.' : 'Default: read:user user:email.'}>
          <input name="scopes" defaultValue={provider?.scopes || ''} maxLength={500} />
        </Field>
        <p className="field-hint">Register this redirect URI at the provider: <code>{callbackOf(slug)}</code></p>
        <div className="row end">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button className="btn primary" disabled={busy}>{busy ? 'Saving…' : provider ? 'Save' : 'Add provider'}</button>
        </div>
      </form>
    </Modal>
  );
}
