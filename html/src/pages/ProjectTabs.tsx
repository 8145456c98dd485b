import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { read } from '../api/client';
import type { BudgetFigures, Project } from '../api/types';
import { canManage, useAuth } from '../auth';
import { label } from '../ui/format';
import { useLoad } from '../ui/kit';
import { BudgetLine } from './BudgetLine';

export function ProjectTabs({ project, tab, extra }: { project: Project; tab: string; extra?: ReactNode }) {
  const { user } = useAuth();
  // The board's copy of the project (shared by every member) has no budget:
  // a manager's header asks for the project's own, which has it for them.
  const mayRead = canManage(user) && !project.budget;
  const own = useLoad((s) => mayRead
    ? read('/api/v1/projects/{id}', { id: project.id }, { signal: s }).then((p) => p.budget ?? null)
    : Promise.resolve<BudgetFigures | null>(null), [project.id, mayRead]);
  const budget = project.budget ?? own.data;
  const tabs = [['board', 'Board'], ['timeline', 'Timeline'], ['sprints', 'Sprints'], ['rules', 'Rules'],
    ...(canManage(user) ? [['budget', 'Budget']] : [])];
  return (
    <div className="project-head">
      <div className="crumbs">
        <Link to="/projects">Projects</Link> <span aria-hidden="true">/</span>
        <span className="key">{project.key}</span>
      </div>
      <div className="row between wrap">
        <h1>{project.name} <span className={`status-pill ${project.status}`}>{label(project.status)}</span></h1>
        {extra}
      </div>
      {budget && (
        <p className="small muted project-budget" data-testid="project-budget">
          Budget: <BudgetLine b={budget} />
        </p>
      )}
      <nav className="tabs" aria-label="Project views">
        {tabs.map(([k, t]) => (
          <Link key={k} to={`/projects/${project.id}/${k}`} className={tab === k ? 'tab active' : 'tab'}
            aria-current={tab === k ? 'page' : undefined}>{t}</Link>
        ))}
      </nav>
    </div>
  );
}
