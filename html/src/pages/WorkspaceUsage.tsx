// The workspace's usage against the limits of its plan, as an admin sees
// it in the settings: a bar for each limit (people, stored files), and the
// API rate each person has. A limit the plan does not set shows no bar.
import { read } from '../api/client';
import { ErrorNote, Spinner, useLoad } from '../ui/kit';

type Against = { used: number; limit: number | null };

export function WorkspaceUsage() {
  const { data, error } = useLoad((signal) => read('/api/v1/workspace/usage', {}, { signal }), []);
  if (error) return <section className="box"><ErrorNote error={error} /></section>;
  if (!data) return <Spinner />;
  return (
    <section className="box stack usage" aria-labelledby="ws-usage-title">
      <h2 id="ws-usage-title">Plan and usage</h2>
      <p className="muted">Plan: <strong>{data.plan ?? 'none'}</strong>. The limits are set by the people who run this installation.</p>
      <UsageBar name="People (active)" of={data.users} show={String} />
      <UsageBar name="Stored files" of={data.storage_bytes} show={bytes} />
      <div className="usage-row">
        <span className="field-label">API rate</span>
        <span>{data.api_rate.limit == null ? 'the installation\'s rate' : `${data.api_rate.limit} requests a minute per person`}</span>
      </div>
    </section>
  );
}

function UsageBar({ name, of, show }: { name: string; of: Against; show: (n: number) => string }) {
  const share = of.limit ? Math.min(1, of.used / of.limit) : 0;
  const level = share >= 1 ? 'full' : share >= 0.8 ? 'high' : '';
  return (
    <div className="usage-row">
      <span className="field-label">{name}</span>
      {of.limit == null ? (
        <span>{show(of.used)} · no limit</span>
      ) : (
        <>
          <span role="meter" aria-label={name} aria-valuemin={0} aria-valuemax={of.limit} aria-valuenow={of.used}
            className={`progress usage-bar ${level}`}>
            <span className="bar" style={{ width: `${Math.round(share * 100)}%` }} />
          </span>
          <span>{show(of.used)} of {show(of.limit)}{share >= 1 ? ': full' : ''}</span>
        </>
      )}
    </div>
  );
}

function bytes(n: number) {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
