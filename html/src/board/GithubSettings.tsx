// The project's GitHub link, in the board settings: the repository, the
// webhook URL and the secret to paste into GitHub (the secret shown once,
// when the link is made), and the rules that move cards as pull requests
// open and merge.
import { useState, type FormEvent } from 'react';
import { errorMessage, read, write } from '../api/client';
import type { Column, GithubIntegration, GithubRules } from '../api/types';
import { ago } from '../ui/format';
import { ErrorNote, Spinner, useLoad, useToast } from '../ui/kit';

function CopyButton({ text, what }: { text: string; what: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try { await navigator.clipboard.writeText(text); setCopied(true); setTimeout(() => setCopied(false), 2000); } catch { /* no clipboard: the text is shown to select */ }
  };
  return <button type="button" className="btn small" onClick={copy} aria-label={`Copy the ${what}`}>{copied ? 'Copied' : 'Copy'}</button>;
}

export default function GithubSettings({ projectId, columns }: { projectId: string; columns: Column[] }) {
  const { data, error, loading, reload } = useLoad(
    (s) => read('/api/v1/projects/{id}/integrations/github', { id: projectId }, { signal: s }), [projectId]);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const toast = useToast();

  const link = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const repository = String(new FormData(form).get('repository')).trim();
    if (!repository) return;
    try {
      const made = await write('post', '/api/v1/projects/{id}/integrations/github', { id: projectId }, { repository });
      setSecret({ url: made.webhook_url, secret: made.secret });
      setFailure(null);
      form.reset();
      reload();
    } catch (err) { setFailure(err); }
  };
  const setRules = async (g: GithubIntegration, rules: GithubRules) => {
    try {
      await write('patch', '/api/v1/projects/{id}/integrations/github/{integration_id}',
        { id: projectId, integration_id: g.id }, { rules });
      toast('GitHub rules saved.');
      reload();
    } catch (err) { toast(errorMessage(err), 'error'); }
  };
  const unlink = async (g: GithubIntegration) => {
    if (!confirm(`Unlink ${g.repository}? GitHub's deliveries to it will be refused.`)) return;
    try {
      await write('delete', '/api/v1/projects/{id}/integrations/github/{integration_id}',
        { id: projectId, integration_id: g.id }, undefined);
      reload();
    } catch (err) { toast(errorMessage(err), 'error'); }
  };

  return (
    <section className="stack github-settings" aria-label="GitHub">
      <h3>GitHub</h3>
      <p className="muted small">Pull requests, branches and commits that name a task's key (VULN-12) link to the task; an opened pull request moves it to review, a merged one to done.</p>
      <ErrorNote error={error ?? failure} onRetry={reload} />
      {secret && (
        <div className="banner warn" role="status">
          In the repository's Settings → Webhooks, add a webhook with this Payload URL, the content type application/json and this secret. Copy the secret now: it is shown only once.
          <div className="row"><code className="secret" data-testid="github-webhook-url">{secret.url}</code><CopyButton text={secret.url} what="webhook URL" /></div>
          <div className="row"><code className="secret" data-testid="github-secret">{secret.secret}</code><CopyButton text={secret.secret} what="secret" /></div>
          <button type="button" className="btn small" onClick={() => setSecret(null)}>I have copied it</button>
        </div>
      )}
      {loading && !data ? <Spinner label="Loading the GitHub link…" /> : (
        <ul className="plain-list">
          {(data?.items ?? []).map((g) => (
            <li key={g.id} className="box github-link" data-github-id={g.id}>
              <div className="row between wrap">
                <strong>{g.repository}</strong>
                <span className="muted small">{g.last_delivery_at ? `last delivery ${ago(g.last_delivery_at)}` : 'no delivery yet'}</span>
              </div>
              <div className="row"><span className="muted small">Webhook URL</span> <code className="small">{g.webhook_url}</code><CopyButton text={g.webhook_url} what="webhook URL" /></div>
              <label className="row">
                <input type="checkbox" checked={!!g.rules.move_on_open_to_review}
                  onChange={(e) => setRules(g, { move_on_open_to_review: e.target.checked })} />
                An opened or ready pull request moves the task to
                <select aria-label="The review column" value={g.rules.review_column_id ?? ''}
                  onChange={(e) => setRules(g, { review_column_id: e.target.value || null })}>
                  {columns.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
                </select>
              </label>
              <label className="row">
                <input type="checkbox" checked={!!g.rules.move_on_merge_to_done}
                  onChange={(e) => setRules(g, { move_on_merge_to_done: e.target.checked })} />
                A merged pull request moves the task to done
              </label>
              <div className="row end"><button type="button" className="btn small danger-ghost" onClick={() => unlink(g)}>Unlink</button></div>
            </li>
          ))}
        </ul>
      )}
      <form className="row" onSubmit={link}>
        <input name="repository" placeholder="owner/name" aria-label="GitHub repository (owner/name)" pattern="[A-Za-z0-9-]+/[A-Za-z0-9._-]+" />
        <button className="btn">Link repository</button>
      </form>
    </section>
  );
}
