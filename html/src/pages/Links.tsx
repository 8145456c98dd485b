// Every share link the person may see, in one place: filtered by tag,
// folder and state, one link's QR code and visits beside the list, its
// expiry, tags and folder edited, its visits downloaded as CSV; and links
// made in bulk from pasted URLs or a CSV, each row's result shown.
import { useEffect, useMemo, useState, type FormEvent, type KeyboardEvent } from 'react';
import { Link } from 'react-router-dom';
import { api, download, errorMessage, read, write } from '../api/client';
import type { Schemas, ShareLink } from '../api/types';
import { shortDate } from '../ui/format';
import { Empty, ErrorNote, Field, Modal, Spinner, useToast } from '../ui/kit';
import LinkQr from './LinkQr';
import LinkRules from './LinkRules';
import { LinkView } from './ShareDialog';

type State = 'live' | 'expired' | 'revoked' | 'all';
type BulkResult = Schemas['ShareLinkBulkResult'];
type Tab = 'overview' | 'rules' | 'qr';

const stateOf = (l: ShareLink): Exclude<State, 'all'> =>
  l.revoked_at ? 'revoked'
    : (l.expires_at && Date.parse(l.expires_at) <= Date.now())
      || (l.max_visits != null && l.visits >= l.max_visits) ? 'expired' : 'live';

export default function Links() {
  const [links, setLinks] = useState<ShareLink[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tag, setTag] = useState('');
  const [folder, setFolder] = useState('');
  const [state, setState] = useState<State>('live');
  const [text, setText] = useState('');
  const [selected, setSelected] = useState<string | null>(null);
  const [bulk, setBulk] = useState(false);
  const [tab, setTab] = useState<Tab>('overview');
  const [busy, setBusy] = useState(false);
  // the tags and folders seen so far: the filters' choices stay when one
  // of them narrows the list
  const [known, setKnown] = useState<{ tags: string[]; folders: string[] }>({ tags: [], folders: [] });

  const learn = (items: ShareLink[]) => setKnown((k) => ({
    tags: [...new Set([...k.tags, ...items.flatMap((l) => l.tags || [])])].sort(),
    folders: [...new Set([...k.folders, ...items.map((l) => l.folder).filter((f): f is string => !!f)])].sort(),
  }));

  const load = (after?: string) => {
    setBusy(true);
    const query = { limit: 100, tag: tag || undefined, folder: folder || undefined, cursor: after };
    read('/api/v1/share-links', {}, { query }).then((r) => {
      setLinks((x) => (after ? [...(x || []), ...r.items] : r.items));
      setCursor(r.next_cursor ?? null);
      learn(r.items);
      setError(null);
    }, setError).finally(() => setBusy(false));
  };
  useEffect(() => { setLinks(null); load(); }, [tag, folder]);

  const shown = useMemo(() => (links || []).filter((l) => {
    if (state !== 'all' && stateOf(l) !== state) return false;
    const q = text.trim().toLowerCase();
    return !q || l.code.toLowerCase().includes(q) || (l.url || '').toLowerCase().includes(q)
      || (l.folder || '').toLowerCase().includes(q) || (l.tags || []).some((t) => t.toLowerCase().includes(q));
  }), [links, state, text]);
  const current = (links || []).find((l) => l.id === selected) || null;
  const names = useTargetNames(shown);
  const replace = (l: ShareLink) => { setLinks((x) => (x || []).map((y) => (y.id === l.id ? l : y))); learn([l]); };

  return (
    <div className="page">
      <div className="page-head">
        <h1>Share links</h1>
        <button type="button" className="btn primary" onClick={() => setBulk(true)}>New links in bulk</button>
      </div>
      <div className="filters" role="search">
        <input type="search" placeholder="Code, URL or tag" aria-label="Find a link" value={text} onChange={(e) => setText(e.target.value)} />
        <select aria-label="Tag" value={tag} onChange={(e) => setTag(e.target.value)}>
          <option value="">Any tag</option>
          {known.tags.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
        <select aria-label="Folder" value={folder} onChange={(e) => setFolder(e.target.value)}>
          <option value="">Any folder</option>
          {known.folders.map((f) => <option key={f} value={f}>{f}</option>)}
        </select>
        <div className="seg" role="radiogroup" aria-label="State">
          {(['live', 'expired', 'revoked', 'all'] as State[]).map((s) => (
            <button key={s} type="button" role="radio" aria-checked={state === s} className={state === s ? 'on' : ''} onClick={() => setState(s)}>
              {s[0].toUpperCase() + s.slice(1)}
            </button>
          ))}
        </div>
        <span className="muted small links-count" aria-live="polite">{links ? `${shown.length} link${shown.length === 1 ? '' : 's'}` : ''}</span>
      </div>
      <ErrorNote error={error} onRetry={() => load()} />
      <div className="links-split">
        <div>
          {links === null ? <Spinner label="Loading links…" /> : shown.length === 0 ? (
            <Empty title={links.length ? 'No link matches.' : 'No share link yet.'}>
              {links.length ? 'Change the filters above.' : 'Share a task from its panel, or make many at once with “New links in bulk”.'}
            </Empty>
          ) : (
            <div className="table-wrap">
              <table className="data links-table" aria-label="Share links">
                <thead><tr><th>Link</th><th>Goes to</th><th>Tags</th><th className="num">Visits</th><th>Expires</th></tr></thead>
                <tbody>
                  {shown.map((l) => (
                    <tr key={l.id} className={l.id === selected ? 'sel' : ''} aria-selected={l.id === selected}>
                      <td>
                        <button type="button" className="linkish" onClick={() => setSelected(l.id)}><code>{l.code}</code></button>
                        {stateOf(l) !== 'live' && <span className={`tag ${stateOf(l) === 'revoked' ? 'danger' : 'warn'}`}>{stateOf(l)}</span>}
                      </td>
                      <td className="target"><Target link={l} names={names} /></td>
                      <td>{(l.tags || []).map((t) => <span key={t} className="tag">{t}</span>)}{l.folder && <span className="muted small"> {l.folder}/</span>}</td>
                      <td className="num">{l.visits}</td>
                      <td className="muted small">{l.expires_at ? shortDate(l.expires_at) : 'never'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {cursor && <button type="button" className="btn" disabled={busy} onClick={() => load(cursor)} style={{ marginTop: '.75rem' }}>{busy ? 'Loading…' : 'More links'}</button>}
        </div>
        {current && (
          <aside className={`box links-detail${tab === 'rules' ? ' wide' : ''}`} aria-label={`Link ${current.code}`}>
            <div className="row between"><h2>Link {current.code}</h2>
              <button type="button" className="btn ghost" aria-label="Close" onClick={() => setSelected(null)}>✕</button></div>
            {!current.revoked_at && <DetailTabs tab={tab} onTab={setTab} link={current} />}
            {current.revoked_at ? <p className="muted">Revoked {shortDate(current.revoked_at)}: it no longer opens. Its visits are kept.</p>
              : tab === 'rules' ? <LinkRules key={current.id} link={current} onSaved={replace} />
                : tab === 'qr' ? <LinkQr key={current.id} link={current} />
                  : <LinkView link={current} onRevoked={() => { read('/api/v1/share-links/{id}', { id: current.id }).then(replace, setError); }} />}
            {!current.revoked_at && tab === 'overview' && <LinkEdit key={current.id} link={current} onSaved={replace} />}
            {(current.revoked_at || tab === 'overview') && (
              <button type="button" className="btn" onClick={() => download(`/api/v1/share-links/${current.id}/visits.csv`, `visits-${current.code}.csv`, 'text/csv').catch(setError)}>
                Download visits (CSV)
              </button>
            )}
          </aside>
        )}
      </div>
      {bulk && <BulkCreate onClose={() => setBulk(false)} onMade={() => { setLinks(null); load(); }} />}
    </div>
  );
}

// One link's detail in three views: its visits and settings, where its
// visitors are sent (rules, only for a link to a URL), its QR code.
function DetailTabs({ tab, onTab, link }: { tab: Tab; onTab: (t: Tab) => void; link: ShareLink }) {
  const tabs: [Tab, string][] = [['overview', 'Overview'], ['rules', `Rules${link.rules?.length ? ` · ${link.rules.length}` : ''}`], ['qr', 'QR code']];
  const keys = (e: KeyboardEvent, i: number) => {
    const j = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : -9;
    if (j < -1) return;
    const t = tabs[(j + tabs.length) % tabs.length][0];
    onTab(t);
    (e.currentTarget.parentElement?.querySelector(`[data-tab="${t}"]`) as HTMLElement | null)?.focus();
  };
  return (
    <div className="tabs detail-tabs" role="tablist" aria-label="Link views">
      {tabs.map(([t, name], i) => (
        <button key={t} type="button" role="tab" data-tab={t} aria-selected={tab === t} tabIndex={tab === t ? 0 : -1}
          className={tab === t ? 'tab active' : 'tab'} onClick={() => onTab(t)} onKeyDown={(e) => keys(e, i)}>{name}</button>
      ))}
    </div>
  );
}

// The names of the tasks and projects the listed links open: the
// projects in one read, each task (of the first 50 listed) in its own.
function useTargetNames(links: ShareLink[] | null) {
  const [names, setNames] = useState<Record<string, string>>({});
  const tasks = [...new Set((links || []).filter((l) => l.target_type === 'task' && l.target_id)
    .map((l) => l.target_id as string))].slice(0, 50);
  const wantsProjects = (links || []).some((l) => l.target_type === 'project');
  useEffect(() => {
    if (wantsProjects) {
      read('/api/v1/projects', {}, { query: { limit: 200 } }).then((r) => setNames((n) => ({
        ...n, ...Object.fromEntries(r.items.map((p) => [p.id, p.name])),
      })), () => {});
    }
  }, [wantsProjects]);
  useEffect(() => {
    for (const id of tasks.filter((t) => !(t in names))) {
      read('/api/v1/tasks/{id}', { id }).then((t) => setNames((n) => ({ ...n, [id]: `${t.key} ${t.title}` })),
        () => setNames((n) => ({ ...n, [id]: 'A task no longer there' })));
    }
  }, [tasks.join()]);
  return names;
}

function Target({ link, names }: { link: ShareLink; names: Record<string, string> }) {
  const name = link.target_id ? names[link.target_id] : undefined;
  if (link.target_type === 'url') return <span className="muted small url" title={link.url || ''}>{link.url}</span>;
  if (link.target_type === 'task') return <Link className="url" to={`/tasks/${link.target_id}`} title={name}>{name || 'A task'}</Link>;
  if (link.target_type === 'project') return <Link className="url" to={`/projects/${link.target_id}`}>{name || 'A project'}</Link>;
  return <span>Portfolio report {link.report_week}</span>;
}

// Expiry, tags and folder: the three things of a link that change
// without a new code (a password or a target needs a new link).
function LinkEdit({ link, onSaved }: { link: ShareLink; onSaved: (l: ShareLink) => void }) {
  const [expiry, setExpiry] = useState('keep');
  const [date, setDate] = useState('');
  const [tags, setTags] = useState((link.tags || []).join(', '));
  const [folder, setFolder] = useState(link.folder || '');
  const [error, setError] = useState<unknown>(null);
  const toast = useToast();
  const save = async (e: FormEvent) => {
    e.preventDefault();
    const body: Record<string, unknown> = {
      tags: [...new Set(tags.split(',').map((t) => t.trim()).filter(Boolean))],
      folder: folder.trim() || null,
    };
    if (expiry === 'never') body.expires_at = null;
    else if (expiry === 'date') body.expires_at = new Date(`${date}T23:59:59`).toISOString();
    else if (expiry !== 'keep') body.expires_in_seconds = Number(expiry);
    try {
      onSaved(await write('patch', '/api/v1/share-links/{id}', { id: link.id }, body));
      setExpiry('keep');
      setError(null);
      toast('Link saved');
    } catch (err) { setError(err); }
  };
  return (
    <form className="stack links-edit" onSubmit={save}>
      <h3>Change</h3>
      <ErrorNote error={error} />
      <Field label="Expires">
        <select value={expiry} onChange={(e) => setExpiry(e.target.value)}>
          <option value="keep">{link.expires_at ? `as now (${shortDate(link.expires_at)})` : 'as now (never)'}</option>
          <option value="86400">in a day</option>
          <option value="604800">in a week</option>
          <option value="2592000">in 30 days</option>
          <option value="date">on a date…</option>
          <option value="never">never</option>
        </select>
      </Field>
      {expiry === 'date' && <Field label="Last day"><input type="date" required value={date} onChange={(e) => setDate(e.target.value)} /></Field>}
      <Field label="Tags" hint="Separated by commas, at most 20">
        <input value={tags} onChange={(e) => setTags(e.target.value)} maxLength={900} />
      </Field>
      <Field label="Folder"><input value={folder} onChange={(e) => setFolder(e.target.value)} maxLength={100} /></Field>
      <button className="btn primary">Save</button>
    </form>
  );
}

// Pasted URLs (one a line) with the tags, folder and expiry they share,
// or a CSV with its header row as the API reads it.
function BulkCreate({ onClose, onMade }: { onClose: () => void; onMade: () => void }) {
  const [text, setText] = useState('');
  const [tags, setTags] = useState('');
  const [folder, setFolder] = useState('');
  const [expires, setExpires] = useState('');
  const [result, setResult] = useState<BulkResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  const csv = /^\s*[a-z_]+(\s*,\s*[a-z_]+)*\s*$/.test(lines[0] || '') && /\b(url|task_id|project_id)\b/.test(lines[0] || '');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const common: Record<string, unknown> = {};
      const t = tags.split(',').map((x) => x.trim()).filter(Boolean);
      if (t.length) common.tags = t;
      if (folder.trim()) common.folder = folder.trim();
      if (expires) common.expires_in_seconds = Number(expires);
      const r = csv
        ? await api<BulkResult>('POST', '/api/v1/share-links/bulk', { raw: text, headers: { 'Content-Type': 'text/csv' } })
        : await api<BulkResult>('POST', '/api/v1/share-links/bulk', { body: lines.map((u) => ({ url: u.trim(), ...common })) });
      setResult(r);
      setError(null);
      if (r.created) onMade();
    } catch (err) { setError(new Error(errorMessage(err))); } finally { setBusy(false); }
  };
  const made = (result?.results || []).filter((r) => r.status === 'created' && r.link);
  const copy = () => navigator.clipboard.writeText(made.map((r) => r.link!.short_url).join('\n'));
  return (
    <Modal title="New links in bulk" onClose={onClose} wide>
      {result ? (
        <div className="stack">
          <p className="bulk-summary" role="status"><b>{result.created}</b> made{result.failed ? <>, <b className="danger-text">{result.failed}</b> not made</> : ''}.</p>
          <div className="table-wrap bulk-results">
            <table className="data" aria-label="Each row's result">
              <thead><tr><th>Row</th><th>Result</th></tr></thead>
              <tbody>
                {result.results.map((r) => (
                  <tr key={r.row}>
                    <td className="num">{r.row}</td>
                    <td>{r.status === 'created' && r.link ? <code>{r.link.short_url}</code> : <span className="danger-text">{r.error}</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="row end">
            {made.length > 0 && <button type="button" className="btn" onClick={copy}>Copy the {made.length} short links</button>}
            <button type="button" className="btn" onClick={() => setResult(null)}>Make more</button>
            <button type="button" className="btn primary" onClick={onClose}>Done</button>
          </div>
        </div>
      ) : (
        <form className="stack" onSubmit={submit}>
          <ErrorNote error={error} />
          <Field label="Links" hint="One URL a line, up to 1,000; or a CSV whose first line names its columns (url, task_id, project_id, expires_in_seconds, max_visits, tags, folder)">
            <textarea rows={10} value={text} onChange={(e) => setText(e.target.value)} required spellCheck={false}
              placeholder={'https://example.com/spring-offer\nhttps://example.com/docs/start'} />
          </Field>
          {csv ? <p className="muted small">Read as CSV: its own columns say each link's tags, folder and expiry.</p> : (
            <div className="row wrap top">
              <Field label="Tags for all" hint="Separated by commas"><input value={tags} onChange={(e) => setTags(e.target.value)} /></Field>
              <Field label="Folder for all"><input value={folder} onChange={(e) => setFolder(e.target.value)} maxLength={100} /></Field>
              <Field label="Expire">
                <select value={expires} onChange={(e) => setExpires(e.target.value)}>
                  <option value="">never</option>
                  <option value="86400">in a day</option>
                  <option value="604800">in a week</option>
                  <option value="2592000">in 30 days</option>
                </select>
              </Field>
            </div>
          )}
          <div className="row end">
            <span className="muted small">{lines.length ? `${csv ? lines.length - 1 : lines.length} link${(csv ? lines.length - 1 : lines.length) === 1 ? '' : 's'}` : ''}</span>
            <button className="btn primary" disabled={busy || !lines.length}>{busy ? 'Making…' : 'Make links'}</button>
          </div>
        </form>
      )}
    </Modal>
  );
}
