
/*
 * Read-only views built by PostgreSQL: a project's timeline (Gantt data),
 * the executive portfolio overview with its rule-based risk flags, and
 * full-text search over tasks, projects and comments.
 */

/* SQL: sql/tenant/005_kanban.sql, 006_planning.sql, 007_reads.sql,
 * 015_workspace_calendar.sql, 020_insights.sql, 023_portfolio_health.sql,
 * 027_hot_reads.sql */
#include "ngx_kanban_kanban_routes.h"


ngx_kanban_sql_t  ngx_kanban_projects_timeline = {
    ngx_kanban_pg_stmt("projects_timeline",
    "SELECT 200, json_build_object("
    "  'project', project_json(p),"
    "  'tasks', coalesce((SELECT json_agg(json_build_object("
    "      'id', t.id, 'key', p.key || '-' || t.number, 'title', t.title,"
    "      'parent_id', t.parent_id, 'start_date', t.start_date,"
    "      'due_date', t.due_date, 'progress', task_progress(t),"
    "      'category', c.category, 'milestone_id', t.milestone_id,"
    "      'blocked', t.blocked,"
    "      'assignee_ids', coalesce((SELECT json_agg(a.user_id)"
    "                                  FROM task_assignees a"
    "                                 WHERE a.task_id = t.id), '[]'),"
    "      'dependencies', coalesce((SELECT json_agg(d.depends_on_id)"
    "                                  FROM task_dependencies d"
    "                                 WHERE d.task_id = t.id), '[]'))"
    "      ORDER BY t.start_date NULLS LAST, t.due_date NULLS LAST,"
    "               t.number)"
    "    FROM tasks t JOIN columns c ON c.id = t.column_id"
    "   WHERE t.project_id = p.id), '[]'::json),"
    "  'milestones', coalesce((SELECT json_agg(to_jsonb(m)"
    "                                          ORDER BY m.due_date)"
    "    FROM milestones m WHERE m.project_id = p.id), '[]'::json))"
    "  FROM projects p WHERE p.id = $1::uuid"),
    { "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_portfolio_overview = {
    ngx_kanban_pg_stmt("portfolio_overview",
    "SELECT 200, json_build_object("
    "  'projects_by_status', (SELECT json_object_agg(s, (SELECT count(*)"
    "      FROM projects WHERE status = s) ORDER BY o)"
    "      FROM unnest(ARRAY['planning', 'active', 'on_hold', 'completed',"
    "                        'cancelled']) WITH ORDINALITY x (s, o)),"
    "  'projects', coalesce((SELECT json_agg(project_json(p)"
    "      || jsonb_build_object("
    "           'overdue_tasks', (SELECT count(*) FROM tasks t"
    "                              WHERE t.project_id = p.id"
    "                                AND task_overdue(t)),"
    "           'blocked_tasks', (SELECT count(*) FROM tasks t"
    "                              WHERE t.project_id = p.id AND t.blocked"
    "                                AND t.completed_at IS NULL),"
    "           'risk_flags', project_risks(p),"
    "           'health', project_health_json(p)->'health')"
    "      ORDER BY p.due_date NULLS LAST, p.key) FROM projects p),"
    "    '[]'::json),"
    "  'recent_milestones', coalesce((SELECT json_agg(to_jsonb(m)"
    "      || jsonb_build_object('project_key', p.key)"
    "      ORDER BY m.due_date DESC)"
    "    FROM milestones m JOIN projects p ON p.id = m.project_id"
    "   WHERE m.due_date BETWEEN workspace_today() - 30"
    "                        AND workspace_today()"
    "      OR (m.status = 'upcoming' AND m.due_date < workspace_today())),"
    "    '[]'::json),"
    "  'upcoming_milestones', coalesce((SELECT json_agg(to_jsonb(m)"
    "      || jsonb_build_object('project_key', p.key) ORDER BY m.due_date)"
    "    FROM milestones m JOIN projects p ON p.id = m.project_id"
    "   WHERE m.status = 'upcoming'"
    "     AND m.due_date BETWEEN workspace_today()"
    "                        AND workspace_today() + 30),"
    "    '[]'::json))"),
    { NULL },
    NULL
};

/* Ranked matches with highlights; the query is websearch syntax, so any
 * text a user types is valid ("quoted phrases", -excluded words). The
 * matches are marked with « and », not HTML: the text is the user's. */
ngx_kanban_sql_t  ngx_kanban_search = {
    ngx_kanban_pg_stmt("search",
    "WITH q AS (SELECT websearch_to_tsquery('simple', coalesce($1, '')) q),"
    "     hits AS ("
    "       SELECT 'task' AS type, t.id, p.key || '-' || t.number || ' '"
    "              || t.title AS title, t.project_id,"
    "              ts_rank(to_tsvector('simple', t.title || ' '"
    "                                  || t.description), q.q) AS rank,"
    "              ts_headline('simple', t.title || ' ' || t.description,"
    "                          q.q, 'StartSel=«, StopSel=»') AS highlight,"
    "              NULL::uuid AS channel_id"
    "         FROM tasks t JOIN projects p ON p.id = t.project_id, q"
    "        WHERE to_tsvector('simple', t.title || ' ' || t.description)"
    "              @@ q.q"
    "       UNION ALL"
    "       SELECT 'project', p.id, p.key || ' ' || p.name, p.id,"
    "              ts_rank(to_tsvector('simple', p.name || ' '"
    "                                  || p.description), q.q),"
    "              ts_headline('simple', p.name || ' ' || p.description,"
    "                          q.q, 'StartSel=«, StopSel=»'),"
    "              NULL::uuid"
    "         FROM projects p, q"
    "        WHERE to_tsvector('simple', p.name || ' ' || p.description)"
    "              @@ q.q"
    "       UNION ALL"
    "       SELECT 'comment', c.id, 'Comment on ' || p.key || '-'"
    "              || t.number, t.project_id,"
    "              ts_rank(to_tsvector('simple', c.body), q.q),"
    "              ts_headline('simple', c.body, q.q,"
    "                          'StartSel=«, StopSel=»'),"
    "              NULL::uuid"
    "         FROM comments c JOIN tasks t ON t.id = c.task_id"
    "         JOIN projects p ON p.id = t.project_id, q"
    "        WHERE to_tsvector('simple', c.body) @@ q.q"
    /* chat messages: only of the channels the caller may see */
    "       UNION ALL"
    "       SELECT h.* FROM q, chat_search(q.q, $2::uuid) h)"
    " SELECT CASE WHEN coalesce(length($1), 0) BETWEEN 1 AND 500 THEN 200"
    "             ELSE 400 END,"
    "        CASE WHEN coalesce(length($1), 0) BETWEEN 1 AND 500"
    "             THEN json_build_object('items', coalesce((SELECT json_agg("
    "                      h ORDER BY h.rank DESC, h.type, h.id)"
    "                    FROM (SELECT * FROM hits ORDER BY rank DESC"
    "                           LIMIT 50) h), '[]'::json),"
    "                  'next_cursor', NULL)::text"
    "             ELSE 'bad_request' END,"
    "        'Search with q: 1 to 500 characters.'"),
    { "query:q", "actor", NULL },
    NULL
};
