// The domain as the API returns it. User and Session come from the
// generated schema (openapi.yaml); the rest is written from API.md until
// the OpenAPI document carries their schemas.
import type { components } from './schema';

export type User = components['schemas']['User'] & { weekly_capacity_minutes?: number };
export type Role = NonNullable<User['role']>;
export type Page<T> = { items: T[]; next_cursor: string | null };

export type Category = 'backlog' | 'todo' | 'in_progress' | 'review' | 'done';
export type Priority = 'low' | 'medium' | 'high' | 'urgent';

export type Project = {
  id: string; key: string; name: string; description: string;
  status: 'planning' | 'active' | 'on_hold' | 'completed' | 'cancelled';
  team_id: string | null; owner_id: string | null;
  start_date: string | null; due_date: string | null;
  progress: number; version: number; created_at: string; updated_at: string;
};

export type Column = {
  id: string; name: string; category: Category; position: number;
  wip_limit: number | null; version: number;
};

export type Task = {
  id: string; key: string; project_id: string; parent_id: string | null;
  title: string; description: string; column_id: string; category: Category;
  priority: Priority; assignee_ids: string[]; reporter_id: string | null;
  labels: string[]; sprint_id: string | null; milestone_id: string | null;
  swimlane_id: string | null; start_date: string | null; due_date: string | null;
  estimate_minutes: number | null; blocked: boolean; blocked_reason: string | null;
  completed_at: string | null; rank: string; custom_fields: Record<string, unknown>;
  created_at: string; updated_at: string; version: number;
};

export type Board = { project: Project; columns: (Column & { tasks: Task[] })[] };
export type Swimlane = { id: string; name: string; position: number };
export type Milestone = {
  id: string; project_id: string; project_key?: string; name: string;
  description?: string; due_date: string; status: 'upcoming' | 'achieved' | 'missed';
};
export type Sprint = {
  id: string; name: string; start_date: string | null; end_date: string | null;
  goal: string | null; state: 'planned' | 'active' | 'closed'; version?: number;
};
export type CustomField = {
  id: string; name: string; type: 'text' | 'number' | 'date' | 'select' | 'user';
  options?: string[] | null; project_id?: string | null;
};
export type Comment = {
  id: string; task_id: string; author_id: string; author_name?: string;
  body: string; created_at: string; updated_at?: string;
};
export type Activity = {
  id: string; actor_id: string | null; actor_name: string | null; action: string;
  old_values: Record<string, unknown> | null; new_values: Record<string, unknown> | null;
  created_at: string;
};
export type Attachment = {
  id: string; filename: string; content_type: string; size: number;
  created_at: string; uploaded_by?: string;
};
export type Notification = {
  id: string; kind?: string; type?: string; title?: string; body?: string;
  task_id?: string | null; project_id?: string | null; read_at?: string | null;
  read?: boolean; created_at: string; data?: Record<string, unknown>;
};
export type ShareLink = {
  id: string; code: string; short_url: string; target_type: 'task' | 'project' | 'url';
  target_id: string | null; url: string | null; expires_at: string | null;
  max_visits: number | null; visits: number; has_password: boolean;
  created_by: string; created_at: string; revoked_at?: string | null;
};
export type TimeEntry = {
  id: string; user_id: string; task_id: string | null; project_id: string | null;
  date: string; minutes: number; description: string | null; billable: boolean;
  started_at: string | null; ended_at: string | null; version?: number;
};
export type Weekly = {
  user_id: string; week: string; status: 'draft' | 'submitted' | 'approved' | 'rejected';
  days: { date: string; minutes: number }[]; total_minutes: number;
  entries: TimeEntry[]; week_start: string; week_end: string; reason: string | null;
  submitted_at: string | null; decided_at: string | null;
};
export type Team = { id: string; name: string; description?: string; members?: { id: string; name: string }[] };
export type Skill = { id: string; name: string };
