
/*
 * The billable report: /api/v1/projects/{id}/billable-report?from&to.
 * The project's billable entries of the period, each at the rate in
 * effect on its day, per person and in total: JSON, a CSV download
 * (?format=csv or Accept: text/csv) or a printable HTML page an invoice
 * is written from (?format=html or Accept: text/html). Its managers and
 * admins read it.
 */

/* SQL: sql/tenant/076_budgets_rates.sql */
#include "ngx_kanban_budget_routes.h"


ngx_kanban_sql_t  ngx_kanban_billable_report = {
    ngx_kanban_pg_stmt("billable_report",
    "SELECT * FROM billable_report($1::uuid, $2, $3::uuid, $4::date,"
    "                              $5::date, $6, $7)"),
    { "actor", "role", "uuid:id", "query_date:from", "query_date:to",
      "query:format", "accept", NULL },
    NULL
};
