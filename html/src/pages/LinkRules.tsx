// A link's redirect rules and UTM template (PUT /share-links/{id}/rules):
// rules tried top to bottom, the first that matches wins, so the order is
// shown as numbers and changed with the arrows (or Alt+↑/↓ in a rule);
// each kind edited in place, a split's weights shown as percentages. The
// whole set is sent at once; a 422 names its field (rules[1].url,
// rules[0].targets[2].weight, utm) and is shown beside that field, with
// everything typed kept.
import { useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { ApiError, write } from '../api/client';
import type { Schemas, ShareLink } from '../api/types';
import { ErrorNote, useToast } from '../ui/kit';

type Rule = Schemas['ShareLinkRule'];
type Utm = Schemas['ShareLinkUtm'];
type Kind = Rule['match'];

const DEVICES = ['ios', 'android', 'windows', 'macos', 'linux', 'mobile', 'desktop'];
const DEVICE_NAMES: Record<string, string> = {
  ios: 'iOS', android: 'Android', windows: 'Windows', macos: 'macOS', linux: 'Linux', mobile: 'Mobile', desktop: 'Desktop',
};
const KINDS: { kind: Kind; name: string; hint: string }[] = [
  { kind: 'device', name: 'Device', hint: 'By device or operating system, from the browser' },
  { kind: 'language', name: 'Language', hint: 'By the browser\'s preferred language: de also takes de-AT' },
  { kind: 'country', name: 'Country', hint: 'By country, from the visitor\'s address (ISO codes such as DE)' },
  { kind: 'split', name: 'Split', hint: 'A/B test: each visit one of the targets, by weight' },
];
const UTM_KEYS = ['source', 'medium', 'campaign', 'term', 'content'] as const;

// What the form holds: text as typed (a weight too), each item with a key
// of its own so that moving a rule moves its inputs and its errors.
type Target = { key: number; url: string; weight: string };
type Draft = { key: number; match: Kind; values: string; devices: string[]; url: string; targets: Target[] };

let lastKey = 0;
const nextKey = () => ++lastKey;

const fromRule = (r: Rule): Draft => ({
  key: nextKey(), match: r.match,
  values: r.match === 'device' ? '' : (r.values || []).join(', '),
  devices: r.match === 'device' ? r.values || [] : [],
  url: r.url || '',
  targets: (r.targets || []).map((t) => ({ key: nextKey(), url: t.url, weight: String(t.weight) })),
});

const blank = (match: Kind, fallback: string): Draft => ({
  key: nextKey(), match, values: '', devices: match === 'device' ? ['ios'] : [], url: '',
  targets: match === 'split'
    ? [{ key: nextKey(), url: fallback, weight: '50' }, { key: nextKey(), url: '', weight: '50' }] : [],
});

const toRule = (d: Draft): Rule => d.match === 'split'
  ? { match: 'split', targets: d.targets.map((t) => ({ url: t.url.trim(), weight: Number(t.weight) || 0 })) }
  : {
    match: d.match, url: d.url.trim(),
    values: d.match === 'device' ? d.devices
      : d.values.split(/[,\s]+/).map((v) => v.trim()).filter(Boolean)
        .map((v) => (d.match === 'country' ? v.toUpperCase() : v)),
  };

// A 422's field, as the server names it (the body's validator lists
// errors; the rules' own check says it first in its detail), kept by the
// rule's key: the rule may be moved before the person fixes it.
type Errors = { rules: Record<number, Record<string, string>>; utm?: string; other?: string };

function errorsOf(err: unknown, keys: number[]): Errors | null {
  if (!(err instanceof ApiError) || err.status !== 422) return null;
  const p = err.problem;
  const found: { field: string; message: string }[] = (p.errors || [])
    .map((e) => ({ field: e.field || '', message: e.message || e.code || '' }));
  if (!found.length && p.detail) {
    const m = /^(rules\[\d+\](?:\.\w+(?:\[\d+\])?)*(?:\.\w+)?|utm)(?=[\s:.]|$)/.exec(p.detail);
    found.push({ field: m ? m[1] : '', message: p.detail });
  }
  const out: Errors = { rules: {} };
  for (const { field, message: said } of found) {
    // beside its field the message need not name it again
    const bare = said.replace(/^(rules\[\d+\](\.\w+(\[\d+\])?)*|utm)\s*[:.]?\s*/, '');
    const message = field ? bare.charAt(0).toUpperCase() + bare.slice(1) : said;
    const m = /^rules\[(\d+)\]\.?(.*)$/.exec(field);
    const key = m ? keys[Number(m[1])] : undefined;
    if (m && key !== undefined) {
      // a split's "targets[1].url" is shown at that target, a value's
      // "values[3]" at the values
      const at = m[2].replace(/^values\[\d+\]$/, 'values') || 'rule';
      (out.rules[key] ||= {})[at] = message;
    } else if (field.startsWith('utm')) out.utm = message;
    else out.other = out.other ? `${out.other} ${said}` : said;
  }
  return out;
}

const pct = (w: string, all: Target[]) => {
  const sum = all.reduce((s, t) => s + (Number(t.weight) > 0 ? Number(t.weight) : 0), 0);
  const v = Number(w) > 0 ? Number(w) : 0;
  return sum ? Math.round((v / sum) * 1000) / 10 : 0;
};

export default function LinkRules({ link, onSaved }: { link: ShareLink; onSaved: (l: ShareLink) => void }) {
  const [drafts, setDrafts] = useState<Draft[]>(() => (link.rules || []).map(fromRule));
  const [utm, setUtm] = useState<Record<string, string>>(() => ({ ...(link.utm || {}) }));
  const [errors, setErrors] = useState<Errors | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [dirty, setDirty] = useState(false);
  const [busy, setBusy] = useState(false);
  const toast = useToast();

  if (link.target_type !== 'url') {
    return (
      <div className="lr-none">
        <p><b>Redirect rules are for links to a URL.</b></p>
        <p className="muted small">This link opens a {link.target_type === 'report' ? 'portfolio report' : link.target_type} in
          the workspace: everyone who opens it sees the same page, read-only. To send visitors elsewhere by device,
          language or country, or to split them between pages, make a link to a URL.</p>
      </div>
    );
  }

  const change = (f: (d: Draft[]) => Draft[]) => { setDrafts(f); setDirty(true); };
  const edit = (key: number, p: Partial<Draft>) => change((ds) => ds.map((d) => (d.key === key ? { ...d, ...p } : d)));
  const move = (i: number, by: number) => change((ds) => {
    const j = i + by;
    if (j < 0 || j >= ds.length) return ds;
    const out = [...ds];
    [out[i], out[j]] = [out[j], out[i]];
    return out;
  });
  const moveKeys = (e: KeyboardEvent, i: number, key: number) => {
    if (!e.altKey || (e.key !== 'ArrowUp' && e.key !== 'ArrowDown')) return;
    e.preventDefault();
    move(i, e.key === 'ArrowUp' ? -1 : 1);
    // the focus stays with the moved rule
    requestAnimationFrame(() => document.getElementById(`rule-${key}`)?.querySelector<HTMLElement>('select')?.focus());
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const sent = drafts.map((d) => d.key);
    const template: Utm = Object.fromEntries(UTM_KEYS.filter((k) => (utm[k] || '').trim()).map((k) => [k, utm[k].trim()]));
    try {
      const l = await write('put', '/api/v1/share-links/{id}/rules', { id: link.id },
        { rules: drafts.map(toRule), utm: Object.keys(template).length ? template : null });
      onSaved(l);
      setDrafts((l.rules || []).map(fromRule));
      setUtm({ ...(l.utm || {}) });
      setErrors(null); setError(null); setDirty(false);
      toast('Rules saved');
    } catch (err) {
      const fields = errorsOf(err, sent);
      setErrors(fields);
      setError(fields ? (fields.other ? new Error(fields.other) : null) : err);
    } finally { setBusy(false); }
  };
  const discard = () => {
    setDrafts((link.rules || []).map(fromRule)); setUtm({ ...(link.utm || {}) });
    setErrors(null); setError(null); setDirty(false);
  };

  const example = withUtm(link.url || '', utm);
  return (
    <form className="lr-form" onSubmit={save} aria-label="Redirect rules">
      <p className="muted small">Tried from the top; the first rule that matches sends the visitor to its page.
        Alt+↑ and Alt+↓ move the rule you are in.</p>
      <ErrorNote error={error} />
      <ol className="lr-list">
        {drafts.map((d, i) => {
          const err = errors?.rules[d.key] || {};
          const kind = KINDS.find((k) => k.kind === d.match)!;
          return (
            <li key={d.key} id={`rule-${d.key}`} className={Object.keys(err).length ? 'lr-rule bad' : 'lr-rule'}
              aria-label={`Rule ${i + 1}: ${kind.name}`} onKeyDown={(e) => moveKeys(e, i, d.key)}>
              <div className="lr-head">
                <span className="lr-n" aria-hidden="true">{i + 1}</span>
                <select aria-label={`Rule ${i + 1} matches`} value={d.match} title={kind.hint}
                  onChange={(e) => { const m = e.target.value as Kind; edit(d.key, { ...blank(m, link.url || ''), key: d.key }); }}>
                  {KINDS.map((k) => <option key={k.kind} value={k.kind}>{k.name}</option>)}
                </select>
                {(d.match === 'language' || d.match === 'country') && (
                  <input className="lr-values" aria-label={`Rule ${i + 1} ${d.match === 'language' ? 'languages' : 'countries'}`} value={d.values}
                    aria-invalid={!!err.values} maxLength={800} spellCheck={false}
                    placeholder={d.match === 'language' ? 'de, pt-BR' : 'DE, AT, CH'}
                    onChange={(e) => edit(d.key, { values: e.target.value })} />
                )}
                <span className="lr-tools">
                  <button type="button" className="icon-btn small" aria-label={`Move rule ${i + 1} up`} disabled={i === 0} onClick={() => move(i, -1)}>↑</button>
                  <button type="button" className="icon-btn small" aria-label={`Move rule ${i + 1} down`} disabled={i === drafts.length - 1} onClick={() => move(i, 1)}>↓</button>
                  <button type="button" className="icon-btn small" aria-label={`Remove rule ${i + 1}`} onClick={() => change((ds) => ds.filter((x) => x.key !== d.key))}>✕</button>
                </span>
              </div>
              <At error={err.rule || err.match} />
              {d.match === 'split'
                ? <SplitTargets rule={d} n={i + 1} err={err} onChange={(targets) => edit(d.key, { targets })} />
                : (
                  <>
                    {d.match === 'device' ? (
                      <div className="lr-chips" role="group" aria-label={`Rule ${i + 1} devices`}>
                        {DEVICES.map((v) => (
                          <button key={v} type="button" aria-pressed={d.devices.includes(v)} className={d.devices.includes(v) ? 'lr-chip on' : 'lr-chip'}
                            onClick={() => edit(d.key, { devices: d.devices.includes(v) ? d.devices.filter((x) => x !== v) : [...d.devices, v] })}>
                            {DEVICE_NAMES[v]}
                          </button>
                        ))}
                      </div>
                    ) : null}
                    <At error={err.values} />
                    <label className="lr-to">
                      <span aria-hidden="true">→</span>
                      <input aria-label={`Rule ${i + 1} goes to`} value={d.url} inputMode="url" spellCheck={false} maxLength={2048}
                        aria-invalid={!!err.url} placeholder="https://" onChange={(e) => edit(d.key, { url: e.target.value })} />
                    </label>
                    <At error={err.url} />
                  </>
                )}
            </li>
          );
        })}
        <li className="lr-rule lr-otherwise"><span className="lr-n" aria-hidden="true">{drafts.length + 1}</span>
          <span className="muted small">Otherwise → <span className="url">{link.url}</span></span></li>
      </ol>
      {drafts.length < 10 ? (
        <div className="lr-add" role="group" aria-label="Add a rule">
          <span className="muted small">Add</span>
          {KINDS.map((k) => (
            <button key={k.kind} type="button" className="btn small" title={k.hint}
              onClick={() => change((ds) => [...ds, blank(k.kind, link.url || '')])}>+ {k.name}</button>
          ))}
        </div>
      ) : <p className="muted small">At most 10 rules a link.</p>}

      <fieldset className="lr-utm">
        <legend>UTM parameters <span className="muted small">added to every target, a parameter it has kept</span></legend>
        <div className="lr-utm-grid">
          {UTM_KEYS.map((k) => (
            <label key={k}><span>{k}</span>
              <input aria-label={`utm_${k}`} value={utm[k] || ''} maxLength={100} aria-invalid={!!errors?.utm}
                onChange={(e) => { setUtm((u) => ({ ...u, [k]: e.target.value })); setDirty(true); }} />
            </label>
          ))}
        </div>
        <At error={errors?.utm} />
        {example !== link.url && <p className="muted small lr-example" title={example}>{example}</p>}
      </fieldset>

      <div className="row end">
        {dirty && <span className="muted small">Unsaved changes</span>}
        {dirty && <button type="button" className="btn ghost" onClick={discard}>Discard</button>}
        <button className="btn primary" disabled={busy || !dirty}>{busy ? 'Applying…' : 'Apply rules'}</button>
      </div>
    </form>
  );
}

// A split's targets: URL and weight each, the weight's share of all shown
// as a percentage and as one stacked bar.
function SplitTargets({ rule, n, err, onChange }: {
  rule: Draft; n: number; err: Record<string, string>; onChange: (t: Target[]) => void;
}) {
  const set = (key: number, p: Partial<Target>) => onChange(rule.targets.map((t) => (t.key === key ? { ...t, ...p } : t)));
  return (
    <div className="lr-split">
      <div className="lr-split-bar" aria-hidden="true">
        {rule.targets.map((t, j) => <span key={t.key} className={`c${j % 6}`} style={{ width: `${pct(t.weight, rule.targets)}%` }} />)}
      </div>
      {rule.targets.map((t, j) => (
        <div key={t.key} className="lr-target">
          <div className="lr-target-row">
            <i className={`lr-dot c${j % 6}`} aria-hidden="true" />
            <input aria-label={`Rule ${n} target ${j + 1}`} value={t.url} inputMode="url" spellCheck={false} maxLength={2048}
              placeholder="https://" aria-invalid={!!err[`targets[${j}].url`]} onChange={(e) => set(t.key, { url: e.target.value })} />
            <input aria-label={`Rule ${n} target ${j + 1} weight`} className="lr-weight" type="number" min={1} max={100} value={t.weight}
              aria-invalid={!!err[`targets[${j}].weight`]} onChange={(e) => set(t.key, { weight: e.target.value })} />
            <output className="lr-pct" aria-label={`Rule ${n} target ${j + 1} share`}>{pct(t.weight, rule.targets)} %</output>
            <button type="button" className="icon-btn small" aria-label={`Remove rule ${n} target ${j + 1}`} disabled={rule.targets.length <= 2}
              onClick={() => onChange(rule.targets.filter((x) => x.key !== t.key))}>✕</button>
          </div>
          <At error={err[`targets[${j}].url`] || err[`targets[${j}].weight`] || err[`targets[${j}]`]} />
        </div>
      ))}
      <At error={err.targets} />
      {rule.targets.length < 10 && (
        <button type="button" className="btn small ghost" onClick={() => onChange([...rule.targets, { key: nextKey(), url: '', weight: '50' }])}>
          + Target
        </button>
      )}
    </div>
  );
}

function At({ error }: { error?: string }): ReactNode {
  return error ? <p className="field-error" role="alert">{error}</p> : null;
}

// The link's own URL with the template merged as the server merges it
// (a parameter the URL has is kept; before any #fragment): an example.
function withUtm(url: string, utm: Record<string, string>): string {
  const [base, frag] = url.split('#', 2);
  const has = new Set(new URLSearchParams(base.split('?')[1] || '').keys());
  const add = UTM_KEYS.filter((k) => (utm[k] || '').trim() && !has.has(`utm_${k}`))
    .map((k) => `utm_${k}=${encodeURIComponent(utm[k].trim())}`);
  if (!add.length) return url;
  const sep = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  return `${base}${sep}${add.join('&')}${frag !== undefined ? `#${frag}` : ''}`;
}
