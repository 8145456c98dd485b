
/*
 * The LLM gateway: every call to a language model (insights, update
 * drafts, agents) goes through here.
 *
 *   ngx_kanban_ai_module.c    the directives (the installation's default
 *                             model) and the routes
 *   ngx_kanban_ai_call.c      one call: the workspace's settings and
 *                             budget, the request, retries, the answer
 *                             checked against the feature's schema, the
 *                             meter
 *   ngx_kanban_ai_dialect.c   OpenAI's chat completions and Anthropic's
 *                             Messages API: the request, the answer
 *   ngx_kanban_ai_scrub.c     no address, secret or token goes out; the
 *                             data in a block of its own
 *   ngx_kanban_ai_api.c       GET/PUT /api/v1/ai/settings,
 *                             GET /api/v1/ai/usage
 *
 * A feature makes a call in a pool of the gateway's own and is told once:
 *
 *     call = ngx_kanban_ai_call_create(&db, "insights", &user_id);
 *     call->instruction = "...";          the feature's system prompt
 *     call->data = digest;                JSON, scrubbed before it goes
 *     call->schema = fields;              the answer's (ngx_kanban_validate)
 *     call->handler = done; call->ctx = job;
 *     ngx_kanban_ai_call_start(call);
 *
 * A call made for a request is tied to it (ngx_kanban_ai_call_attach): a
 * client that goes away is not called back, the call is still metered.
 */

#ifndef _NGX_KANBAN_AI_H_INCLUDED_
#define _NGX_KANBAN_AI_H_INCLUDED_


#include "ngx_kanban_routes.h"
#include "ngx_kanban_pg.h"
#include "ngx_kanban_http.h"
#include "ngx_kanban_json.h"


#define NGX_KANBAN_AI_OPENAI      1
#define NGX_KANBAN_AI_ANTHROPIC   2

/* how a call ended: its status's name is ngx_kanban_ai_status_name() */
#define NGX_KANBAN_AI_COMPLETED         0
#define NGX_KANBAN_AI_NOT_CONFIGURED    1   /* no model, or turned off */
#define NGX_KANBAN_AI_DISABLED          2   /* not for this feature */
#define NGX_KANBAN_AI_BUDGET_EXHAUSTED  3
#define NGX_KANBAN_AI_TIMED_OUT         4
#define NGX_KANBAN_AI_FAILED            5   /* unreachable, 4xx, 5xx */
#define NGX_KANBAN_AI_INVALID           6   /* not the schema's */

#define NGX_KANBAN_AI_MAX_ANSWER        (256 * 1024)
#define NGX_KANBAN_AI_MAX_DATA          (256 * 1024)    /* sent, at most */
#define NGX_KANBAN_AI_RETRY_AFTER_MAX   30              /* seconds */


typedef struct {
    ngx_uint_t                 provider;       /* the installation's */
    ngx_str_t                  llm_url;        /* its whole endpoint */
    ngx_str_t                  llm_model;
    ngx_str_t                  llm_key;        /* from the key file */
    ngx_msec_t                 llm_timeout;    /* one attempt */
    ngx_uint_t                 retries;        /* after the first */
    ngx_msec_t                 backoff;        /* the first retry's wait */
    ngx_uint_t                 max_tokens;     /* of an answer */
    ngx_flag_t                 allow_private;  /* workspaces' base_url */
} ngx_kanban_ai_conf_t;


typedef struct ngx_kanban_ai_call_s  ngx_kanban_ai_call_t;

typedef void (*ngx_kanban_ai_handler_pt)(ngx_kanban_ai_call_t *call);


struct ngx_kanban_ai_call_s {
    ngx_pool_t                *pool;           /* the call's own */

    /* the caller's */
    char                      *instruction;
    ngx_str_t                  data;
    ngx_kanban_field_t        *schema;
    ngx_kanban_ai_handler_pt   handler;
    void                      *ctx;

    /* the result, in the handler; in the call's pool */
    ngx_uint_t                 status;
    char                      *error;
    ngx_str_t                  answer;         /* the checked JSON text */
    ngx_kanban_json_t         *root;           /* ... parsed */
    ngx_str_t                  model;

    /* the gateway's */
    ngx_kanban_pg_db_t         db;
    ngx_str_t                  feature;
    ngx_str_t                  user_id;
    ngx_uint_t                 provider;
    ngx_str_t                  url;
    ngx_str_t                  key;
    ngx_uint_t                 allow_private;
    ngx_str_t                  body;           /* what is sent */
    ngx_str_t                  reserved;       /* its ai_calls row */
    ngx_uint_t                 attempts;
    ngx_msec_t                 started;
    ngx_uint_t                 input_tokens;
    ngx_uint_t                 output_tokens;
    ngx_event_t                retry;
    ngx_kanban_http_req_t     *hr;
    ngx_pool_cleanup_t        *tie;            /* to its request, if any */
    unsigned                   metered:1;
};


extern ngx_module_t  ngx_http_kanban_ai_module;

extern ngx_kanban_route_t  ngx_kanban_ai_routes[];
extern ngx_uint_t          ngx_kanban_ai_nroutes;


ngx_kanban_ai_conf_t *ngx_kanban_ai_conf(void);
ngx_uint_t ngx_kanban_ai_configured(void);     /* the installation's */

/* a call */
ngx_kanban_ai_call_t *ngx_kanban_ai_call_create(ngx_kanban_pg_db_t *db,
    char *feature, ngx_str_t *user_id);
ngx_int_t ngx_kanban_ai_call_attach(ngx_kanban_ai_call_t *call,
    ngx_http_request_t *r);
ngx_int_t ngx_kanban_ai_call_start(ngx_kanban_ai_call_t *call);
void ngx_kanban_ai_call_destroy(ngx_kanban_ai_call_t *call);  /* unstarted */
char *ngx_kanban_ai_status_name(ngx_uint_t status);

/* the dialects */
ngx_int_t ngx_kanban_ai_dialect_request(ngx_kanban_ai_call_t *call,
    ngx_str_t *user);
ngx_int_t ngx_kanban_ai_dialect_headers(ngx_kanban_ai_call_t *call,
    ngx_kanban_http_req_t *hr);
char *ngx_kanban_ai_dialect_answer(ngx_kanban_ai_call_t *call,
    ngx_str_t *body, ngx_str_t *content);

/* the data that goes out */
ngx_int_t ngx_kanban_ai_scrub(ngx_pool_t *pool, ngx_str_t *in,
    ngx_str_t *secret, ngx_str_t *out);
ngx_int_t ngx_kanban_ai_data_block(ngx_pool_t *pool, ngx_str_t *data,
    ngx_str_t *out);
extern char  ngx_kanban_ai_data_rule[];


#endif /* _NGX_KANBAN_AI_H_INCLUDED_ */
