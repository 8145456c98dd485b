// The board's settings for managers: columns' names and WIP limits,
// swimlanes, the project's GitHub link, its rules, its calendar feeds,
// and saving it as a template.
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { errorMessage, write } from '../api/client';
import type { Column, Swimlane } from '../api/types';
import { ErrorNote, Modal, useToast } from '../ui/kit';
import GithubSettings from './GithubSettings';
import AgentSettings from './AgentSettings';
import CalendarFeeds from '../pages/CalendarFeeds';

export default function BoardSettings({ projectId, columns, lanes, onClose, onChanged }: {
  projectId: string; columns: Column[]; lanes: Swimlane[]; onClose: () => void; onChanged: () => void;
}) {
  const toast = useToast();
  const [error, setError] = useState<unknown>(null);
  const saveColumn = async (c: Column, change: Partial<Column>) => {
    try {
      await write('patch', '/api/v1/columns/{id}', { id: c.id }, change);
      onChanged();
      toast(`${change.name || c.name} saved.`);
    } catch (e) { setError(new Error(errorMessage(e))); }
  };
  const addLane = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const name = String(new FormData(form).get('name')).trim();
    if (!name) return;
    try {
      await write('post', '/api/v1/projects/{id}/swimlanes', { id: projectId }, { name, position: lanes.length });
      form.reset();
      onChanged();
    } catch (err) { setError(err); }
  };
  const saveTemplate = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const name = String(new FormData(e.currentTarget).get('name')).trim();
    try {
      const t = await write('post', '/api/v1/projects/{id}/templates', { id: projectId }, name ? { name } : {});
      toast(`Saved as the template “${t.name}”: it is in the gallery of new projects.`);
    } catch (err) { setError(err); }
  };
  return (
    <Modal title="Board settings" onClose={onClose}>
      <div className="stack">
        <ErrorNote error={error} />
        <h3>Columns and WIP limits</h3>
        <p className="muted small">A WIP limit caps how many tasks a column holds; a move into a full column is refused. Empty means no limit.</p>
        <table className="data">
          <thead><tr><th>Column</th><th>WIP limit</th></tr></thead>
          <tbody>
            {columns.map((c) => (
              <tr key={c.id}>
                <td><input aria-label={`Name of ${c.name}`} defaultValue={c.name}
                  onBlur={(e) => { const v = e.target.value.trim(); if (v && v !== c.name) void saveColumn(c, { name: v }); }} /></td>
                <td><input type="number" min={1} aria-label={`WIP limit of ${c.name}`} defaultValue={c.wip_limit ?? ''} className="narrow"
                  onBlur={(e) => {
                    const v = e.target.value === '' ? null : Number(e.target.value);
                    if (v !== c.wip_limit) void saveColumn(c, { wip_limit: v });
                  }} /></td>
              </tr>
            ))}
          </tbody>
        </table>
        <h3>Swimlanes</h3>
        {lanes.length === 0 ? <p className="muted small">No swimlanes: one row of columns. Add lanes to split the board (by team, by stream).</p>
          : <ul className="plain-list">{lanes.map((l) => <li key={l.id}>{l.name}</li>)}</ul>}
        <form className="row" onSubmit={addLane}>
          <input name="name" placeholder="New swimlane" aria-label="New swimlane's name" />
          <button className="btn">Add swimlane</button>
        </form>
        <GithubSettings projectId={projectId} columns={columns} />
        <AgentSettings projectId={projectId} />
        <CalendarFeeds projectId={projectId} />
        <h3>Rules</h3>
        <p className="muted small">When this happens, if this holds, do that: <Link to={`/projects/${projectId}/rules`}>the project's rules and their runs</Link>.</p>
        <h3>Template</h3>
        <p className="muted small">Keep this board's columns, swimlanes, fields, milestones and tasks (dates relative to the start) to start new projects from.</p>
        <form className="row" onSubmit={saveTemplate}>
          <input name="name" placeholder="Template name (the project's by default)" aria-label="Template name" maxLength={200} />
          <button className="btn">Save as template</button>
        </form>
        <div className="row end"><button type="button" className="btn primary" onClick={onClose}>Done</button></div>
      </div>
    </Modal>
  );
}
