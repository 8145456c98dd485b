// A task's code: the git branch to give its work (with a copy button), and
// the pull requests, branches and commits GitHub linked to it, a pull
// request with its state.
import { useEffect, useState } from 'react';
import { read } from '../api/client';
import type { Task, TaskLink } from '../api/types';
import { ago, label } from '../ui/format';

const KIND: Record<TaskLink['kind'], string> = { pull_request: 'Pull request', branch: 'Branch', commit: 'Commit' };

export default function TaskCode({ task, refresh }: { task: Task; refresh: number }) {
  const [links, setLinks] = useState<TaskLink[] | null>(null);
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    read('/api/v1/tasks/{id}/links', { id: task.id }).then((r) => setLinks(r.items)).catch(() => setLinks([]));
  }, [task.id, refresh]);
  const copy = async () => {
    if (!task.git_branch) return;
    try { await navigator.clipboard.writeText(task.git_branch); setCopied(true); setTimeout(() => setCopied(false), 2000); } catch { /* shown to select */ }
  };
  return (
    <section className="block task-code">
      <h3>Code</h3>
      {task.git_branch && (
        <div className="row git-branch">
          <span className="muted small">Branch</span>
          <code data-testid="git-branch">{task.git_branch}</code>
          <button type="button" className="btn small" onClick={copy} aria-label="Copy the branch name">{copied ? 'Copied' : 'Copy'}</button>
        </div>
      )}
      {links && links.length > 0 && (
        <ul className="plain-list task-links">
          {links.map((l) => (
            <li key={l.id} className="row wrap" data-link-kind={l.kind}>
              <span className="muted small">{KIND[l.kind]}</span>
              <a href={l.url} target="_blank" rel="noreferrer noopener">
                {l.kind === 'pull_request' && l.number != null ? `#${l.number} ` : ''}
                {l.kind === 'commit' && l.sha ? `${l.sha.slice(0, 7)} ` : ''}
                {l.title || l.url}
              </a>
              {l.state && <span className={`status-pill pr-${l.state}`}>{label(l.state)}</span>}
              <span className="muted small">{l.author ? `${l.author} · ` : ''}{ago(l.updated_at)}</span>
            </li>
          ))}
        </ul>
      )}
      {links && links.length === 0 && <p className="muted small">No pull request, branch or commit names {task.key} yet.</p>}
    </section>
  );
}
