// What the built-in agents do on the project unasked, in the board
// settings (admins and the project's managers): triage of each new task,
// proposed in its agent session or applied, and the daily digest, written
// as a comment on the project's "Daily digest" task at the workspace's hour.
import { errorMessage, read, write } from '../api/client';
import type { Schemas } from '../api/types';
import { ErrorNote, Spinner, useLoad, useToast } from '../ui/kit';

type Settings = Schemas['ProjectAgentSettings'];
type Patch = Schemas['ProjectAgentSettingsPatch'];

const TRIAGE: Record<Settings['triage'], string> = {
  off: 'Off',
  propose: 'Propose labels, priority and assignee in the task',
  apply: 'Apply them at once',
};

export default function AgentSettings({ projectId }: { projectId: string }) {
  const { data, error, loading, reload } = useLoad(
    (s) => read('/api/v1/projects/{id}/agent-settings', { id: projectId }, { signal: s }), [projectId]);
  const toast = useToast();

  const save = async (patch: Patch) => {
    try {
      await write('patch', '/api/v1/projects/{id}/agent-settings', { id: projectId }, patch);
      toast('Agent settings saved.');
      reload();
    } catch (err) { toast(errorMessage(err), 'error'); }
  };

  return (
    <section className="stack agent-settings" aria-label="Agents">
      <h3>Agents</h3>
      <ErrorNote error={error} onRetry={reload} />
      {loading && !data ? <Spinner label="Loading the agent settings…" /> : data && (
        <>
          <label className="row wrap">
            Triage of each new task
            <select aria-label="Triage of each new task" value={data.triage} disabled={!data.triage_agent_id && data.triage === 'off'}
              onChange={(e) => save({ triage: e.target.value as Settings['triage'] })}>
              {(Object.keys(TRIAGE) as Settings['triage'][]).map((k) => <option key={k} value={k}>{TRIAGE[k]}</option>)}
            </select>
          </label>
          <label className="row wrap">
            <input type="checkbox" checked={data.digest} disabled={!data.digest_agent_id && !data.digest}
              onChange={(e) => save({ digest: e.target.checked })} />
            A daily digest at {String(data.digest_hour).padStart(2, '0')}:00 ({data.time_zone})
          </label>
          {data.digest && data.last_digest_on && <p className="muted small">Last digest: {data.last_digest_on}.</p>}
          {(!data.triage_agent_id || !data.digest_agent_id) &&
            <p className="muted small">An admin adds the built-in {!data.triage_agent_id ? 'triage' : ''}{!data.triage_agent_id && !data.digest_agent_id ? ' and ' : ''}{!data.digest_agent_id ? 'digest' : ''} agent in Admin → Agents first.</p>}
        </>
      )}
    </section>
  );
}
