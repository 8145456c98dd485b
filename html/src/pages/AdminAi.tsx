// Admin → AI: the workspace's model (the installation's default, its own
// OpenAI-compatible or Anthropic one, or none), its key (write-only: set
// or not), the month's token budget and the features that may use it;
// then the usage: tokens per day as a chart, and per day, feature and
// person as a table, with the month's budget left.
import { useState, type FormEvent } from 'react';
import { errorMessage, read, write } from '../api/client';
import type { AiFeature, AiSettings, AiSettingsUpdate } from '../api/types';
import { BarChart } from '../ui/charts';
import { Empty, ErrorNote, Field, Spinner, useLoad, useToast } from '../ui/kit';

const FEATURES: { id: AiFeature; label: string }[] = [
  { id: 'insights', label: 'Insights' },
  { id: 'updates', label: 'Update drafts' },
  { id: 'agents', label: 'Agents' },
];
type Choice = 'default' | 'openai' | 'anthropic' | 'none';
const fmt = (n: number | null | undefined) => (n == null ? 'no limit' : n.toLocaleString());

export default function AdminAi() {
  const settings = useLoad((s) => read('/api/v1/ai/settings', {}, { signal: s }), []);
  const [saves, setSaves] = useState(0);         // a new budget: the usage again
  return (
    <>
      <p className="muted">Every call to a language model (insights, update drafts, agents) goes through one gateway:
        addresses, secrets and tokens are removed before anything is sent, and answers are checked before anything is written.</p>
      <ErrorNote error={settings.error} onRetry={settings.reload} />
      {settings.loading && !settings.data ? <Spinner label="Loading the AI settings…" />
        : settings.data && <SettingsForm current={settings.data} onSaved={() => { settings.reload(); setSaves((n) => n + 1); }} />}
      <Usage key={saves} />
    </>
  );
}

function SettingsForm({ current, onSaved }: { current: AiSettings; onSaved: () => void }) {
  const [choice, setChoice] = useState<Choice>(current.provider ?? 'default');
  const [features, setFeatures] = useState<AiFeature[]>(current.enabled_features);
  const [clearKey, setClearKey] = useState(false);
  const [key, setKey] = useState('');             // sent once, then forgotten
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const toast = useToast();
  const own = choice === 'openai' || choice === 'anthropic';
  const inst = current.installation;

  const submit = async (ev: FormEvent<HTMLFormElement>) => {
    ev.preventDefault();
    const f = new FormData(ev.currentTarget);
    const text = (k: string) => String(f.get(k) || '').trim() || null;
    const budget = text('budget');
    const body: AiSettingsUpdate = {
      provider: choice === 'default' ? null : choice,
      base_url: own ? text('base_url') : null,
      model: own ? text('model') : null,
      monthly_token_budget: budget === null ? null : Number(budget),
      enabled_features: features,
    };
    if (key.trim()) body.api_key = key.trim(); else if (clearKey) body.api_key = null;
    setBusy(true); setError(null);
    try {
      await write('put', '/api/v1/ai/settings', {}, body);
      toast('AI settings saved.');
      setClearKey(false);
      setKey('');
      onSaved();
    } catch (e) { setError(e); toast(errorMessage(e), 'error'); } finally { setBusy(false); }
  };

  return (
    <form className="box form ai-settings" onSubmit={submit} aria-label="AI settings">
      <h2>Model</h2>
      <Field label="Provider" hint={inst.configured
        ? `The installation's default: ${inst.provider} · ${inst.model}` : 'The installation has no default model.'}>
        <select name="provider" value={choice} onChange={(e) => setChoice(e.target.value as Choice)}>
          <option value="default">The installation's default</option>
          <option value="openai">OpenAI-compatible (OpenAI, Ollama, vLLM)</option>
          <option value="anthropic">Anthropic</option>
          <option value="none">None: no model for this workspace</option>
        </select>
      </Field>
      {own && (
        <>
          <Field label="Base URL" hint={choice === 'anthropic' ? 'Empty: https://api.anthropic.com' : 'e.g. https://api.openai.com/v1'}>
            <input name="base_url" type="url" defaultValue={current.base_url ?? ''} required={choice === 'openai'} />
          </Field>
          <Field label="Model">
            <input name="model" defaultValue={current.model ?? ''} required maxLength={200} />
          </Field>
          <Field label="API key" hint={current.api_key_set ? 'A key is set; it is never shown. Leave empty to keep it.' : 'No key is set.'}>
            <input name="api_key" type="password" autoComplete="off" maxLength={1024}
              value={key} onChange={(e) => setKey(e.target.value)} placeholder={current.api_key_set ? '•••••••• (set)' : ''} />
          </Field>
          {current.api_key_set && (
            <label className="check"><input type="checkbox" checked={clearKey} onChange={(e) => setClearKey(e.target.checked)} /> Remove the key</label>
          )}
        </>
      )}
      <Field label="Monthly token budget" hint={`Input and output tokens; empty: no limit. This month: ${fmt(current.budget.used)} used, ${fmt(current.budget.remaining)} left.`}>
        <input name="budget" type="number" min={0} step={1000} defaultValue={current.monthly_token_budget ?? ''} />
      </Field>
      <fieldset className="checks">
        <legend>Features that may use the model</legend>
        {FEATURES.map((x) => (
          <label key={x.id} className="check">
            <input type="checkbox" checked={features.includes(x.id)}
              onChange={(e) => setFeatures((l) => (e.target.checked ? [...l.filter((y) => y !== x.id), x.id] : l.filter((y) => y !== x.id)))} />
            {' '}{x.label}
          </label>
        ))}
      </fieldset>
      <ErrorNote error={error} />
      <button type="submit" className="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Save'}</button>
    </form>
  );
}

function Usage() {
  const { data, error, loading, reload } = useLoad((s) => read('/api/v1/ai/usage', {}, { signal: s }), []);
  if (loading && !data) return <Spinner label="Loading the usage…" />;
  if (error) return <ErrorNote error={error} onRetry={reload} />;
  if (!data) return null;
  const byDay = new Map<string, number>();
  for (const r of data.items) byDay.set(r.day, (byDay.get(r.day) ?? 0) + r.input_tokens + r.output_tokens);
  const m = data.month;
  return (
    <section className="box ai-usage" aria-label="AI usage">
      <h2>Usage this month</h2>
      <p className="muted">{fmt(m.used)} tokens used{m.budget != null ? ` of ${fmt(m.budget)}, ${fmt(m.remaining)} left` : ' (no budget set)'}.</p>
      {!data.items.length ? <Empty title="No model calls yet this month." /> : (
        <>
          <div style={{ maxWidth: '36rem' }}>
            <BarChart title="Tokens per day" data={[...byDay].map(([day, v]) => ({ label: day.slice(5), value: v }))} />
          </div>
          <div className="table-wrap">
            <table className="data">
              <thead><tr><th>Day</th><th>Feature</th><th>Person</th><th>Calls</th><th>Failures</th>
                <th>Tokens in</th><th>Tokens out</th><th>p50</th><th>p95</th></tr></thead>
              <tbody>
                {data.items.map((r, i) => (
                  <tr key={i}>
                    <td>{r.day}</td><td>{r.feature}</td><td>{r.user_name ?? '—'}</td><td>{r.calls}</td>
                    <td className={r.failures ? 'bad' : ''}>{r.failures}</td>
                    <td>{r.input_tokens.toLocaleString()}</td><td>{r.output_tokens.toLocaleString()}</td>
                    <td>{r.p50_latency_ms} ms</td><td>{r.p95_latency_ms} ms</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
