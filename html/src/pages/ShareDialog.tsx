// Share a task or a week's portfolio report: a short link with an expiry,
// a password, a visit cap; copy it, show its QR code, see who came (per
// day, referrers, bots); revoke.
import { useEffect, useState, type FormEvent } from 'react';
import { api, errorMessage, read, write } from '../api/client';
import type { ShareLink, ShareLinkAnalytics, ShareLinkCreate, Task } from '../api/types';
import { BarChart, BarList } from '../ui/charts';
import { ago, longDate, shortDate } from '../ui/format';
import { Empty, ErrorNote, Field, Modal, Spinner } from '../ui/kit';

// What is shared: a task, or the portfolio report of one ISO week.
type Shared = { task: Task; week?: undefined } | { task?: undefined; week: string };

export default function ShareDialog({ task, week, onClose }: Shared & { onClose: () => void }) {
  const what = task ? task.key : `the report of ${week}`;
  const [links, setLinks] = useState<ShareLink[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [shown, setShown] = useState<ShareLink | null>(null);
  useEffect(() => {
    const query = task ? { task_id: task.id } : { report_week: week };
    read('/api/v1/share-links', {}, { query }).then((r) => {
      const live = r.items.filter((l) => !l.revoked_at);
      setLinks(live);
      setShown(live[0] || null);
    }, setError);
  }, [task?.id, week]);

  const create = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const body: ShareLinkCreate = task ? { task_id: task.id } : { report_week: week };
    const exp = String(f.get('expires') || '');
    if (exp) body.expires_in_seconds = Number(exp);
    if (f.get('password')) body.password = String(f.get('password'));
    if (f.get('max_visits')) body.max_visits = Number(f.get('max_visits'));
    try {
      const l = await write('post', '/api/v1/share-links', {}, body);
      setLinks((x) => [l, ...(x || [])]);
      setShown(l);
      setError(null);
      e.currentTarget?.reset?.();
    } catch (err) { setError(err); }
  };

  return (
    <Modal title={`Share ${what}`} onClose={onClose} wide>
      <ErrorNote error={error} />
      <div className="share-grid">
        <form onSubmit={create} className="stack">
          <h3>New link</h3>
          <p className="muted small">{task
            ? 'Anyone with the link sees this task read-only: no comments, no email addresses.'
            : 'Anyone with the link reads this week\'s report read-only (live until the week ends, then final): no ids, no email addresses.'}</p>
          <Field label="Expires">
            <select name="expires" defaultValue="604800">
              <option value="3600">in an hour</option>
              <option value="86400">in a day</option>
              <option value="604800">in a week</option>
              <option value="2592000">in 30 days</option>
              <option value="">never</option>
            </select>
          </Field>
          <Field label="Password" hint="Optional, 4 to 128 characters">
            <input name="password" type="password" minLength={4} maxLength={128} autoComplete="new-password" />
          </Field>
          <Field label="Max visits" hint="Optional: the link stops working after this many">
            <input name="max_visits" type="number" min={1} />
          </Field>
          <button className="btn primary">Create link</button>
          {links && links.length > 0 && (
            <>
              <h3>Links to this {task ? 'task' : 'report'}</h3>
              <ul className="plain-list">
                {links.map((l) => (
                  <li key={l.id}>
                    <button type="button" className={shown?.id === l.id ? 'link-row sel' : 'link-row'} onClick={() => setShown(l)}>
                      <code>{l.code}</code>
                      <span className="muted small">{l.visits} visits{l.has_password ? ' · password' : ''}{l.expires_at ? ` · until ${shortDate(l.expires_at)}` : ''}</span>
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
        </form>
        <div>
          {links === null ? <Spinner /> : shown
            ? <LinkView link={shown} onRevoked={(id) => { setLinks((x) => (x || []).filter((l) => l.id !== id)); setShown(null); }} />
            : <Empty title="No link yet.">Create one on the left; it appears here with its QR code and visits.</Empty>}
        </div>
      </div>
    </Modal>
  );
}

export function LinkView({ link, onRevoked }: { link: ShareLink; onRevoked: (id: string) => void }) {
  const [qr, setQr] = useState<string | null>(null);
  const [stats, setStats] = useState<ShareLinkAnalytics | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    setQr(null); setStats(null);
    // the QR code through the API (it needs the token); a data: URL is an
    // image the CSP allows
    api<string>('GET', `/api/v1/share-links/${link.id}/qr.svg`, { accept: 'image/svg+xml' })
      .then((svg) => setQr(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`)).catch(setError);
    read('/api/v1/share-links/{id}/analytics', { id: link.id }).then(setStats).catch(setError);
  }, [link.id]);
  const copy = async () => {
    try { await navigator.clipboard.writeText(link.short_url); setCopied(true); setTimeout(() => setCopied(false), 2000); }
    catch { setError(new Error('The browser did not let us copy: select the link and copy it yourself.')); }
  };
  return (
    <div className="stack">
      <ErrorNote error={error} />
      <div className="copy-row">
        <input readOnly value={link.short_url} aria-label="Short link" onFocus={(e) => e.target.select()} />
        <button type="button" className="btn primary" onClick={copy}>{copied ? 'Copied ✓' : 'Copy link'}</button>
      </div>
      <p className="muted small">
        Created {ago(link.created_at)}
        {link.expires_at ? ` · expires ${longDate(link.expires_at)}` : ' · never expires'}
        {link.max_visits ? ` · ${link.visits} of ${link.max_visits} visits` : ''}
        {link.has_password ? ' · password protected' : ''}
      </p>
      <div className="qr-stats">
        {qr ? <img src={qr} alt={`QR code of ${link.short_url}`} className="qr" width={150} height={150} /> : <div className="qr placeholder" />}
        <div className="stats">
          {stats ? (
            <>
              <div className="kpis">
                <div><b>{stats.visits}</b><span>visits</span></div>
                <div><b>{stats.unique_visitors}</b><span>people</span></div>
                <div><b>{stats.bots}</b><span>bots</span></div>
              </div>
            </>
          ) : <Spinner />}
        </div>
      </div>
      {stats && stats.by_day.length > 0 && (
        <BarChart title="Visits per day" height={140}
          data={stats.by_day.slice(-14).map((d) => ({ label: shortDate(d.date), value: d.visits }))} />
      )}
      {stats && (stats.by_rule || []).some((b) => b.rule != null) && (
        <BarList title="Where the rules sent people" data={(stats.by_rule || []).map((b) => ({
          label: `${b.rule == null ? 'No rule' : `Rule ${b.rule}`} · ${place(b.destination)}`,
          value: b.visits,
          hint: `${b.rule == null ? 'No rule matched' : `Rule ${b.rule}`} → ${b.destination}`,
        }))} />
      )}
      {stats && (stats.by_country || []).length > 0 && (
        <BarList title="Countries" data={(stats.by_country || []).slice(0, 8).map((c) => ({ label: c.country, value: c.visits }))} />
      )}
      {stats && stats.top_referrers.length > 0 && (
        <div>
          <h4>Referrers</h4>
          <ul className="plain-list small">
            {stats.top_referrers.map((r, i) => <li key={i}>{r.referrer || 'Direct'} <span className="muted">· {r.visits}</span></li>)}
          </ul>
        </div>
      )}
      {stats && stats.bot_agents.length > 0 && (
        <p className="muted small">Crawlers seen: {stats.bot_agents.map((b) => b.user_agent).join(', ')}</p>
      )}
      <div className="row end">
        <button type="button" className="btn danger-ghost" onClick={async () => {
          if (!confirm('Revoke this link? It stops working at once.')) return;
          try { await write('delete', '/api/v1/share-links/{id}', { id: link.id }, undefined); onRevoked(link.id); } catch (e) { setError(new Error(errorMessage(e))); }
        }}>Revoke link</button>
      </div>
    </div>
  );
}

// a destination as short as the bars' labels need: its path, or its host
// for a site's front page (the whole URL is the bar's tooltip)
function place(url: string | null): string {
  try {
    const u = new URL(url || '');
    return u.pathname === '/' ? u.host : u.pathname;
  } catch { return url || ''; }
}
