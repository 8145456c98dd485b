import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import type { Project } from '../api/types';
import { canManage, useAuth } from '../auth';
import { label } from '../ui/format';
import { BudgetLine } from './BudgetLine';

export function ProjectTabs({ project, tab, extra }: { project: Project; tab: string; extra?: ReactNode }) {
  const { user } = useAuth();
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
      {project.budget && (
        <p className="small muted project-budget">
          <Link to={`/projects/${project.id}/budget`}>Budget</Link>: <BudgetLine b={project.budget} />
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
