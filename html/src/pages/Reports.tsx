// Productivity (mine, and my team's for managers) and the utilisation
// report, as charts, with the CSV the API gives.
import { useState } from 'react';
import { download, qs, read } from '../api/client';
import type { Page, Team } from '../api/types';
import { canManage, useAuth } from '../auth';
import { BarList } from '../ui/charts';
import { addDays, hours, today } from '../ui/format';
import { Empty, ErrorNote, Spinner, useLoad } from '../ui/kit';

const pct = (x: number | null | undefined) => (x == null ? '—' : `${Math.round(x * 100)}%`);

export default function Reports() {
  const { user } = useAuth();
  const [from, setFrom] = useState(addDays(today(), -30));
  const [to, setTo] = useState(today());
  const [team, setTeam] = useState('');
  const manager = canManage(user);
  const me = useLoad((s) => read('/api/v1/timesheets/productivity/me', {}, { query: { from, to }, signal: s }), [from, to]);
  const teams = useLoad((s) => manager ? read('/api/v1/teams', {}, { signal: s }) : Promise.resolve<Page<Team>>({ items: [], next_cursor: null }), [manager]);
  const teamProd = useLoad((s) => team ? read('/api/v1/timesheets/productivity/team/{id}', { id: team }, { query: { from, to }, signal: s }) : Promise.resolve(null), [team, from, to]);
  const util = useLoad((s) => manager ? read('/api/v1/timesheets/reports/utilization', {}, { query: { from, to, team_id: team || undefined }, signal: s }) : Promise.resolve(null), [from, to, team, manager]);
  const members = teamProd.data?.members || [];

  return (
    <div className="page">
      <div className="page-head">
        <h1>Reports</h1>
        <div className="row wrap">
          <label className="row small">From <input type="date" value={from} max={to} onChange={(e) => setFrom(e.target.value)} /></label>
          <label className="row small">To <input type="date" value={to} min={from} onChange={(e) => setTo(e.target.value)} /></label>
          {manager && (
            <select aria-label="Team" value={team} onChange={(e) => setTeam(e.target.value)}>
              <option value="">Everyone</option>
              {(teams.data?.items || []).map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
            </select>
          )}
        </div>
      </div>
      <h2>My productivity</h2>
      <ErrorNote error={me.error} onRetry={me.reload} />
      {!me.data ? <Spinner /> : (
        <div className="tiles">
          <div className="tile"><b>{Math.round(me.data.score * 100)}</b><span>Score (of 100)</span></div>
          <div className="tile"><b>{me.data.tasks_completed}</b><span>Tasks completed</span></div>
          <div className="tile"><b>{pct(me.data.on_time_rate)}</b><span>On time</span></div>
          <div className="tile"><b>{pct(me.data.utilization_rate)}</b><span>Utilisation ({hours(me.data.logged_minutes)} of {hours(me.data.capacity_minutes)})</span></div>
        </div>
      )}
      {manager && (
        <>
          <div className="row between wrap">
            <h2>Utilisation</h2>
            <button type="button" className="btn small" onClick={() => download(`/api/v1/timesheets/reports/utilization${qs({ from, to, team_id: team })}`,
              `utilisation-${from}-${to}.csv`, 'text/csv')}>Download CSV</button>
          </div>
          <ErrorNote error={util.error} onRetry={util.reload} />
          {!util.data ? <Spinner /> : util.data.items.length === 0 ? <Empty title="Nobody to report on." /> : (
            <div className="dash-grid">
              <div className="box">
                <BarList title="Utilisation by person (%)" unit="%" max={Math.max(100, ...util.data.items.map((u) => Math.round(u.utilization_rate * 100)))}
                  line={{ value: 90, label: '90 %' }}
                  data={util.data.items.map((u) => ({ label: u.name, value: Math.round(u.utilization_rate * 100), color: u.utilization_rate > 0.9 ? '#ef4444' : undefined }))} />
              </div>
              <div className="table-wrap">
                <table className="data">
                  <thead><tr><th>Person</th><th className="num">Logged</th><th className="num">Billable</th><th className="num">Capacity</th><th className="num">Utilisation</th></tr></thead>
                  <tbody>
                    {util.data.items.map((u) => (
                      <tr key={u.user_id}><td>{u.name}</td><td className="num">{hours(u.logged_minutes)}</td><td className="num">{hours(u.billable_minutes)}</td>
                        <td className="num">{hours(u.capacity_minutes)}</td><td className="num">{pct(u.utilization_rate)}</td></tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </div>
          )}
          {team && (
            <>
              <h2>Team productivity</h2>
              <ErrorNote error={teamProd.error} />
              {teamProd.loading ? <Spinner /> : members.length > 0 && (
                <div className="box">
                  <BarList title="Productivity score by person" max={100}
                    data={members.map((m) => ({ label: m.name, value: Math.round(m.score * 100) }))} />
                </div>
              )}
            </>
          )}
        </>
      )}
    </div>
  );
}
