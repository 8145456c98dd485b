
/*
 * Target hours: /api/v1/users/{id}/work-pattern. A pattern is the minutes
 * a person owes on Monday to Sunday from the date it takes effect (part
 * time is a smaller one); without one, their weekly capacity over Monday
 * to Friday. Admins set it; whoever sees the person reads it.
 */

/* SQL: sql/tenant/077_working_time.sql */
#include "ngx_kanban_worktime_routes.h"


static ngx_kanban_field_t  ngx_kanban_work_pattern_day[] = {
    { "", NGX_KANBAN_FIELD_INTEGER, 1, 0, 1440, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};

ngx_kanban_field_t  ngx_kanban_work_pattern_fields[] = {
    { "minutes", NGX_KANBAN_FIELD_ARRAY, 1, 7, 7, ngx_kanban_work_pattern_day,
      NULL },
    { "effective_from", NGX_KANBAN_FIELD_DATE, 1, 0, 0, NULL, NULL },
    { NULL, 0, 0, 0, 0, NULL, NULL }
};


ngx_kanban_sql_t  ngx_kanban_work_pattern_get = {
    ngx_kanban_pg_stmt("work_pattern_get",
    "SELECT * FROM work_pattern_get($1::uuid, $2, $3::uuid)"),
    { "actor", "role", "uuid:id", NULL },
    NULL
};

ngx_kanban_sql_t  ngx_kanban_work_pattern_put = {
    ngx_kanban_pg_stmt("work_pattern_put",
    "SELECT * FROM work_pattern_put($1::uuid, $2, $3::uuid, $4::jsonb)"),
    { "actor", "role", "uuid:id", "body", NULL },
    NULL
};
