// The domain as the API returns it: every type here is an alias of a schema
// generated from html/openapi.yaml (openapi-typescript, `npm run api-types`,
// part of `make ui`), so that a change to the document that breaks the UI
// breaks the build. Nothing here is written by hand except where the
// document has no shape to give (see the end of the file).
import type { components } from './schema';

export type Schemas = components['schemas'];
export type Schema<K extends keyof Schemas> = Schemas[K];

// Resources
export type User = Schemas['User'];
export type Me = Schemas['Me'];
// A person as the board, pickers and @mentions need them: what a User (the
// list, for those who may read it) and Me (a contributor's only view of
// the people) have in common.
export type Person = Pick<User, 'id' | 'name' | 'email' | 'role'>;
export type Role = User['role'];
export type Project = Schemas['Project'];
export type BudgetFigures = Schemas['BudgetFigures'];
export type Column = Schemas['Column'];
export type Task = Schemas['Task'];
export type Category = Task['category'];
export type Priority = Task['priority'];
export type Board = Schemas['Board'];
export type BoardColumn = Board['columns'][number];
export type Swimlane = Schemas['Swimlane'];
export type Milestone = Schemas['Milestone'];
export type Sprint = Schemas['Sprint'];
export type SprintList = Schemas['SprintList'];
export type CustomField = Schemas['CustomField'];
export type Comment = Schemas['Comment'];
export type Activity = Schemas['Activity'];
export type GithubIntegration = Schemas['GithubIntegration'];
export type GithubIntegrationCreated = Schemas['GithubIntegrationCreated'];
export type GithubRules = Schemas['GithubRules'];
export type TaskLink = Schemas['TaskLink'];
export type Attachment = Schemas['Attachment'];
export type Notification = Schemas['Notification'];
export type NotificationList = Schemas['NotificationList'];
export type ShareLink = Schemas['ShareLink'];
export type ShareLinkAnalytics = Schemas['ShareLinkAnalytics'];
export type Shared = Schemas['Shared'];
export type TimeEntry = Schemas['TimeEntry'];
export type Timer = Schemas['Timer'];
export type Week = Schemas['Week'];
export type WeekSummary = Schemas['WeekSummary'];
export type WeekList = Schemas['WeekList'];
export type Team = Schemas['Team'];
export type Skill = Schemas['Skill'];
export type ApiToken = Schemas['ApiToken'];
export type ApiTokenCreated = Schemas['ApiTokenCreated'];
export type UserCreated = Schemas['UserCreated'];
export type UserList = Schemas['UserList'];
export type PortfolioOverview = Schemas['PortfolioOverview'];
export type PortfolioProject = PortfolioOverview['projects'][number];
export type PortfolioMilestone = PortfolioOverview['upcoming_milestones'][number];
export type ProjectAnalytics = Schemas['ProjectAnalytics'];
export type Timeline = Schemas['Timeline'];
export type TimelineTask = Timeline['tasks'][number];
export type SearchResults = Schemas['SearchResults'];
export type SearchHit = Schemas['SearchHit'];
export type Productivity = Schemas['Productivity'];
export type TeamProductivity = Schemas['TeamProductivity'];
export type UtilizationReport = Schemas['UtilizationReport'];
export type Workspace = Schemas['Workspace'];
export type Tenant = Schemas['Tenant'];
export type Problem = Schemas['Problem'];
export type Webhook = Schemas['Webhook'];
export type WebhookEvent = Webhook['events'][number];
export type WebhookCreated = Schemas['WebhookCreated'];
export type WebhookDelivery = Schemas['WebhookDelivery'];
export type Insight = Schemas['Insight'];
export type InsightResult = Schemas['InsightResult'];
export type InsightRisk = InsightResult['risks'][number];

// Request bodies
export type TaskCreate = Schemas['TaskCreate'];
export type TaskPatch = Schemas['TaskPatch'];
export type TaskMove = Schemas['TaskMove'];
export type ProjectCreate = Schemas['ProjectCreate'];
export type ColumnPatch = Schemas['ColumnPatch'];
export type SprintCreate = Schemas['SprintCreate'];
export type SprintPatch = Schemas['SprintPatch'];
export type ShareLinkCreate = Schemas['ShareLinkCreate'];
export type TimeEntryCreate = Schemas['TimeEntryCreate'];
export type TimeEntryPatch = Schemas['TimeEntryPatch'];
export type UserPatch = Schemas['UserPatch'];
export type UserCreate = Schemas['UserCreate'];
export type ApiTokenRequest = Schemas['ApiTokenRequest'];
export type WorkspacePatch = Schemas['WorkspacePatch'];
export type SignUp = Schemas['SignUp'];
export type WebhookRequest = Schemas['WebhookRequest'];
export type WebhookPatch = Schemas['WebhookPatch'];
export type AiSettings = Schemas['AiSettings'];
export type AiSettingsUpdate = Schemas['AiSettingsUpdate'];
export type AiFeature = Schemas['AiFeature'];
export type AiUsage = Schemas['AiUsage'];
export type SessionInfo = Schemas['SessionInfo'];
export type InsightRequest = Schemas['InsightRequest'];

// A page of a list. Every list schema (TaskList, ProjectList, ...) is
// exactly this shape; a generic keeps call sites short, and
// `Page<Task>` is checked against `TaskList` below so that it cannot drift.
export type Page<T> = { items: T[]; next_cursor: string | null };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const pagesMatch: [
  Same<Page<Task>, Schemas['TaskList']>, Same<Page<Project>, Schemas['ProjectList']>,
  Same<Page<User>, Schemas['UserList']>, Same<Page<Column>, Schemas['ColumnList']>,
  Same<Page<Comment>, Schemas['CommentList']>, Same<Page<Activity>, Schemas['ActivityList']>,
  Same<Page<Attachment>, Schemas['AttachmentList']>, Same<Page<ShareLink>, Schemas['ShareLinkList']>,
  Same<Page<Team>, Schemas['TeamList']>, Same<Page<Skill>, Schemas['SkillList']>,
  Same<Page<Swimlane>, Schemas['SwimlaneList']>, Same<Page<CustomField>, Schemas['CustomFieldList']>,
  Same<Page<ApiToken>, Schemas['ApiTokenList']>, Same<Page<TimeEntry>, Schemas['TimeEntryList']>,
  Same<Page<Milestone>, Schemas['MilestoneList']>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true];
void pagesMatch;

// The operators' console (platform host)
export type Operator = Schemas['Operator'];
export type OperatorSession = Schemas['OperatorSession'];
export type OperatorSetup = Schemas['OperatorSetup'];
export type PlatformWorkspace = Schemas['PlatformWorkspace'];
export type PlatformWorkspaceList = Schemas['PlatformWorkspaceList'];
export type PlatformWorkspacePatch = Schemas['PlatformWorkspacePatch'];
export type WorkspaceLimits = Schemas['WorkspaceLimits'];
export type PlatformAuditEntry = Schemas['PlatformAuditEntry'];
export type PlatformAuditList = Schemas['PlatformAuditList'];
export type PlatformJob = Schemas['PlatformJob'];
export type PlatformJobList = Schemas['PlatformJobList'];
export type PlatformSchemaVersions = Schemas['PlatformSchemaVersions'];

// AI agents (issue 23)
export type Agent = Schemas['Agent'];
export type AgentCreate = Schemas['AgentCreate'];
export type AgentScopes = Schemas['AgentScopes'];
export type AgentSession = Schemas['AgentSession'];
export type AgentActivity = Schemas['AgentActivity'];
