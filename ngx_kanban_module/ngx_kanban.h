
/*
 * The core every kanban handler uses: configuration, the request context,
 * responses and problem+json, thread-pool jobs, passwords.
 */

#ifndef _NGX_KANBAN_H_INCLUDED_
#define _NGX_KANBAN_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>


#define NGX_KANBAN_VERSION           "0.1.0"

/* the product's own errors; each maps to one status and one stable code */
#define NGX_KANBAN_ERR_BAD_REQUEST        0
#define NGX_KANBAN_ERR_UNAUTHORIZED       1
#define NGX_KANBAN_ERR_FORBIDDEN          2
#define NGX_KANBAN_ERR_NOT_FOUND          3
#define NGX_KANBAN_ERR_METHOD             4
#define NGX_KANBAN_ERR_ALREADY_EXISTS     5
#define NGX_KANBAN_ERR_TOO_LARGE          6
#define NGX_KANBAN_ERR_MEDIA_TYPE         7
#define NGX_KANBAN_ERR_VALIDATION         8
#define NGX_KANBAN_ERR_RATE_LIMITED       9
#define NGX_KANBAN_ERR_INTERNAL           10
#define NGX_KANBAN_ERR_UNAVAILABLE        11
#define NGX_KANBAN_ERR_TENANT_NOT_FOUND   12
#define NGX_KANBAN_ERR_TENANT_SUSPENDED   13
#define NGX_KANBAN_ERR_VERSION_CONFLICT   14
#define NGX_KANBAN_ERR_CONFLICT           15
#define NGX_KANBAN_ERR_CREDENTIALS        16
#define NGX_KANBAN_ERR_TOKEN_REUSED       17
#define NGX_KANBAN_ERR_INVALID_TOKEN      18
#define NGX_KANBAN_ERR_DEPENDENCY_CYCLE   19
#define NGX_KANBAN_ERR_WIP_LIMIT          20
#define NGX_KANBAN_ERR_LOCKED             21
#define NGX_KANBAN_ERR_GONE               22
#define NGX_KANBAN_ERR_URI_TOO_LONG       23
#define NGX_KANBAN_ERR_HEADERS_TOO_LARGE  24
#define NGX_KANBAN_ERR_TENANT_MOVING      25
#define NGX_KANBAN_ERR_TENANT_DELETED     26
#define NGX_KANBAN_ERR_AI_BUDGET          27

/* rows of the requests' metrics: every route's, and three more (about
 * 200 routes today; a row is 24 counters, 192 bytes of shared memory) */
#define NGX_KANBAN_METRICS_ROWS           512

/* roles, in the order of what they may do */
#define NGX_KANBAN_ROLE_NONE              0
#define NGX_KANBAN_ROLE_CONTRIBUTOR       1
#define NGX_KANBAN_ROLE_MANAGER           2
#define NGX_KANBAN_ROLE_ADMIN             3


typedef struct ngx_kanban_route_s      ngx_kanban_route_t;
typedef struct ngx_kanban_json_s       ngx_kanban_json_t;
typedef struct ngx_kanban_field_s      ngx_kanban_field_t;
typedef struct ngx_kanban_tenant_s     ngx_kanban_tenant_t;
typedef struct ngx_kanban_job_s        ngx_kanban_job_t;
typedef struct ngx_kanban_password_list_s  ngx_kanban_password_list_t;


typedef struct {
    ngx_str_t                  catalog;        /* libpq conninfo */
    ngx_str_t                  template_db;
    ngx_str_t                  redis;
    ngx_str_t                  tenant_url;     /* the slug replaces its star */
    ngx_str_t                  thread_pool_name;
    ngx_thread_pool_t         *thread_pool;
    /* jobs a person is waiting on (a sign-up's hash), at normal
     * priority; NULL: they share thread_pool's niced threads */
    ngx_str_t                  thread_pool_prompt_name;
    ngx_thread_pool_t         *thread_pool_prompt;

    ngx_uint_t                 pg_pool_size;
    ngx_uint_t                 pg_max_connections;
    ngx_uint_t                 pg_queue_size;
    ngx_msec_t                 pg_connect_timeout;
    ngx_msec_t                 pg_query_timeout;
    ngx_msec_t                 pg_queue_timeout;

    ngx_shm_zone_t            *metrics_zone;
    ngx_kanban_password_list_t *blocklist;     /* common and breached */
    ngx_array_t               *route_tables;   /* ngx_kanban_route_table_t */

    /* the seams, registered by the modules (ngx_kanban_seams.c) */
    ngx_kanban_tenant_t     *(*tenant_of)(ngx_http_request_t *r);
    ngx_array_t               *identify;       /* ngx_kanban_identity_pt */
    ngx_array_t               *token_kinds;
    ngx_array_t               *preroute;       /* ngx_kanban_preroute_pt */
    ngx_array_t               *committed;      /* ngx_kanban_committed_pt */
} ngx_kanban_main_conf_t;


typedef struct {
    ngx_flag_t                 headers;
    size_t                     body_limit;
    ngx_uint_t                 content;        /* api, health or metrics */
    ngx_str_t                  problem_prefix; /* kanban_problem's */
} ngx_kanban_loc_conf_t;


/* A path parameter captured by the router: "{id}" */
typedef struct {
    ngx_str_t                  name;
    ngx_str_t                  value;
} ngx_kanban_arg_t;


/* What a request carries through the kanban handlers. */
typedef struct {
    ngx_kanban_route_t        *route;
    ngx_kanban_arg_t           args[4];
    ngx_uint_t                 nargs;
    ngx_kanban_json_t         *body;           /* parsed and validated */
    ngx_str_t                  raw_body;       /* its text */
    ngx_kanban_tenant_t       *tenant;
    struct ngx_kanban_identity_s  *identity;   /* NULL on public routes */
    ngx_str_t                 *cors;           /* the workspace's origins */
    ngx_uint_t                 metric;         /* a metrics row */
    void                      *data;           /* the handler's own state */
    unsigned                   catalog:1;      /* the statement on the
                                                  catalog, a workspace's
                                                  host too */
    unsigned                   wrote:1;        /* a GET that wrote (what was
                                                  due, made on the way) */
} ngx_kanban_ctx_t;


typedef ngx_int_t (*ngx_kanban_handler_pt)(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);


/* A job for the thread pool: work runs in a thread, done in the worker. */
typedef void (*ngx_kanban_job_work_pt)(ngx_kanban_job_t *job);
typedef void (*ngx_kanban_job_done_pt)(ngx_http_request_t *r,
    ngx_kanban_job_t *job);

struct ngx_kanban_job_s {
    ngx_http_request_t        *request;        /* NULL once it went away */
    ngx_kanban_job_work_pt     work;
    ngx_kanban_job_done_pt     done;
    ngx_int_t                  rc;
    void                      *data;           /* heap, owned by the job */
    unsigned                   prompt:1;       /* kanban_thread_pool_prompt */
};


extern ngx_module_t  ngx_http_kanban_module;


/* configuration and context */
ngx_kanban_ctx_t *ngx_kanban_ctx(ngx_http_request_t *r);
ngx_kanban_main_conf_t *ngx_kanban_main_conf(void);
ngx_str_t *ngx_kanban_arg(ngx_kanban_ctx_t *ctx, char *name);
ngx_int_t ngx_kanban_tenant_origin(ngx_pool_t *pool, ngx_str_t *slug,
    char *path, ngx_str_t *url);

/* responses: each returns what the caller passes to finalize_request */
ngx_int_t ngx_kanban_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *json);
ngx_int_t ngx_kanban_send_text(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_str_t *body);
ngx_int_t ngx_kanban_problem(ngx_http_request_t *r, ngx_uint_t error,
    char *detail);
ngx_int_t ngx_kanban_discard_body(ngx_http_request_t *r);
ngx_int_t ngx_kanban_problem_code(ngx_http_request_t *r, ngx_str_t *code,
    char *detail);
ngx_int_t ngx_kanban_problem_errors(ngx_http_request_t *r, ngx_uint_t error,
    char *detail, ngx_array_t *errors);
/* 422 validation_failed with one finding: field, its code and message */
ngx_int_t ngx_kanban_problem_field(ngx_http_request_t *r, char *detail,
    char *field, char *code, char *message);
ngx_int_t ngx_kanban_add_header(ngx_http_request_t *r, char *name,
    ngx_str_t *value);
ngx_str_t *ngx_kanban_header_in(ngx_http_request_t *r, char *name);

/* security headers and X-Request-Id */
ngx_int_t ngx_kanban_headers_init(ngx_conf_t *cf);
ngx_str_t *ngx_kanban_request_id(ngx_http_request_t *r);
void ngx_kanban_log_request_id(ngx_http_request_t *r);

/* thread-pool jobs */
ngx_kanban_job_t *ngx_kanban_job_create(ngx_http_request_t *r, size_t size);
ngx_int_t ngx_kanban_job_post(ngx_http_request_t *r, ngx_kanban_job_t *job);

/* argon2id password hashes */
#define NGX_KANBAN_PASSWORD_MIN  10
#define NGX_KANBAN_PASSWORD_MAX  128
#define NGX_KANBAN_HASH_LEN      128

typedef void (*ngx_kanban_hashed_pt)(ngx_http_request_t *r, ngx_str_t *hash);
typedef void (*ngx_kanban_verified_pt)(ngx_http_request_t *r,
    ngx_uint_t match);

ngx_int_t ngx_kanban_password_hash(ngx_http_request_t *r,
    ngx_str_t *password, ngx_kanban_hashed_pt handler);
/* the same, for a sign-up: in kanban_thread_pool_prompt when there is one */
ngx_int_t ngx_kanban_password_hash_prompt(ngx_http_request_t *r,
    ngx_str_t *password, ngx_kanban_hashed_pt handler);
ngx_int_t ngx_kanban_password_verify(ngx_http_request_t *r, ngx_str_t *hash,
    ngx_str_t *password, ngx_kanban_verified_pt handler);
ngx_int_t ngx_kanban_password_init_process(ngx_cycle_t *cycle);
char *ngx_kanban_password_blocklist(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_kanban_password_check(ngx_str_t *password, char **message);
ngx_int_t ngx_kanban_password_words(ngx_str_t *password, ngx_str_t *words,
    ngx_uint_t n);
void ngx_kanban_password_email_word(ngx_str_t *email, ngx_str_t *word);
ngx_int_t ngx_kanban_password_context(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, ngx_array_t *errors);

#define NGX_KANBAN_PASSWORD_GUESSABLE                                         \
    "This password contains the workspace's name or address, or your "       \
    "email's name; choose another."

/* the content handlers of the platform */
ngx_int_t ngx_kanban_api_handler(ngx_http_request_t *r);
ngx_int_t ngx_kanban_health_handler(ngx_http_request_t *r);
ngx_int_t ngx_kanban_metrics_handler(ngx_http_request_t *r);
ngx_int_t ngx_kanban_problem_handler(ngx_http_request_t *r);

/* a file a directive names, read whole (ngx_kanban_conf_file.c) */
ngx_int_t ngx_kanban_conf_read_file(ngx_conf_t *cf, ngx_str_t *name,
    size_t max, ngx_pool_t *pool, ngx_str_t *data);

/* shared-memory zones (ngx_kanban_shm.c) */
ngx_int_t ngx_kanban_shm_zone_param(ngx_conf_t *cf, ngx_str_t *value,
    ngx_str_t *name, ssize_t *size);
void *ngx_kanban_shm_header(ngx_shm_zone_t *zone, size_t size, char *what,
    ngx_uint_t *fresh);

/* metrics */
ngx_int_t ngx_kanban_metrics_init_zone(ngx_conf_t *cf,
    ngx_kanban_main_conf_t *kmcf);
ngx_int_t ngx_kanban_metrics_init(ngx_conf_t *cf);
void ngx_kanban_metrics_tenant_lookup(ngx_uint_t hit);
#define NGX_KANBAN_REFRESH_DONE    0
#define NGX_KANBAN_REFRESH_FAILED  1
#define NGX_KANBAN_REFRESH_LATE    2     /* forgotten meanwhile: not put */
void ngx_kanban_metrics_tenant_refresh(ngx_uint_t result);
void ngx_kanban_metrics_pg_worker(ngx_uint_t idle, ngx_uint_t busy,
    ngx_uint_t connecting, ngx_uint_t waiting);
void ngx_kanban_metrics_redis(ngx_uint_t up);
void ngx_kanban_metrics_route(ngx_http_request_t *r, ngx_uint_t health);
void ngx_kanban_metrics_rate_limited(void);
void ngx_kanban_metrics_events(ngx_int_t subscribers, ngx_uint_t delivered,
    ngx_uint_t dropped);
void ngx_kanban_metrics_share_visits_lost(ngx_uint_t n);
void ngx_kanban_metrics_pg_shared_read(void);
void ngx_kanban_metrics_webhook(ngx_uint_t result);

#define NGX_KANBAN_WEBHOOK_DELIVERED     0
#define NGX_KANBAN_WEBHOOK_REJECTED      1     /* answered, not 2xx */
#define NGX_KANBAN_WEBHOOK_UNREACHABLE   2
#define NGX_KANBAN_WEBHOOK_FORBIDDEN     3     /* its address */

/* redis */
ngx_int_t ngx_kanban_redis_init_process(ngx_cycle_t *cycle);
void ngx_kanban_redis_exit_process(ngx_cycle_t *cycle);
ngx_uint_t ngx_kanban_redis_up(void);
ngx_uint_t ngx_kanban_redis_configured(void);

/* a QR code of text as an SVG image (ngx_kanban_qr.c) */
#define NGX_KANBAN_QR_LEVEL_L  0
#define NGX_KANBAN_QR_LEVEL_M  1
#define NGX_KANBAN_QR_LEVEL_Q  2
#define NGX_KANBAN_QR_LEVEL_H  3

typedef struct {
    ngx_uint_t                 size;           /* px a side; 0: 8 a module */
    ngx_uint_t                 level;          /* error correction */
    ngx_str_t                  fg;             /* "rrggbb"; empty: black */
    ngx_str_t                  bg;             /* "rrggbb"; empty: white */
} ngx_kanban_qr_style_t;

ngx_int_t ngx_kanban_qr_svg(ngx_pool_t *pool, ngx_str_t *text, ngx_str_t *svg);
ngx_int_t ngx_kanban_qr_svg_styled(ngx_pool_t *pool, ngx_str_t *text,
    ngx_kanban_qr_style_t *style, ngx_str_t *svg);

/* who is calling: from a verified token (the identity seam, below) */
typedef struct ngx_kanban_identity_s {
    ngx_str_t                  user_id;
    ngx_str_t                  role;
    ngx_uint_t                 level;          /* NGX_KANBAN_ROLE_* */
    ngx_uint_t                 scopes;         /* an API token's bounds */
    ngx_kanban_json_t         *teams;
    ngx_str_t                  token_id;       /* an API token's; empty for
                                                  a session's JWT */
    time_t                     expires;        /* 0: none */
} ngx_kanban_identity_t;

#define NGX_KANBAN_SCOPE_READ   1
#define NGX_KANBAN_SCOPE_WRITE  2
#define NGX_KANBAN_SCOPE_ADMIN  4
#define NGX_KANBAN_SCOPE_ALL    7

/* a workspace, as the module that resolves them found it */
struct ngx_kanban_tenant_s {
    ngx_str_t                  id;
    ngx_str_t                  slug;
    ngx_str_t                  name;
    ngx_str_t                  db_name;
    ngx_str_t                  db_dsn;
    /* its admins only are served (a deleted workspace's export), any
     * other caller is told 410 tenant_deleted */
    unsigned                   admins_only:1;
};

/*
 * The seams (ngx_kanban_seams.c): what the API phase asks and a module
 * answers, registered from the module's postconfiguration. The core
 * calls them; it knows no module.
 */

/* which workspace the request is for: NULL on the platform's host */
typedef ngx_kanban_tenant_t *(*ngx_kanban_tenant_pt)(ngx_http_request_t *r);

/* who calls, once known (a verified bearer token): NULL, not known */
typedef ngx_kanban_identity_t *(*ngx_kanban_identity_pt)(
    ngx_http_request_t *r);

/* A bearer token of a kind kept in storage, looked up: found gets who it
 * stands for (NULL: unknown, revoked or expired; unavailable: storage
 * could not be asked). The lookup answers NGX_OK (found will be called),
 * NGX_DECLINED (not here) or NGX_ERROR. */
typedef void (*ngx_kanban_token_found_pt)(ngx_http_request_t *r,
    ngx_kanban_identity_t *id, ngx_uint_t unavailable);
typedef ngx_int_t (*ngx_kanban_token_lookup_pt)(ngx_http_request_t *r,
    ngx_str_t *token, ngx_kanban_token_found_pt found);

/* before routing: NGX_DECLINED goes on, else the request's answer */
typedef ngx_int_t (*ngx_kanban_preroute_pt)(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx);

/* a one-statement route's write has committed and its event is
 * published: a module that works after writes of a kind (a sweep to wake)
 * learns of it here, without the route knowing the module */
typedef void (*ngx_kanban_committed_pt)(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx, char *event);

ngx_int_t ngx_kanban_tenant_seam(ngx_conf_t *cf, ngx_kanban_tenant_pt resolve);
ngx_int_t ngx_kanban_identity_seam(ngx_conf_t *cf,
    ngx_kanban_identity_pt identify);
ngx_int_t ngx_kanban_token_seam(ngx_conf_t *cf, char *prefix,
    ngx_kanban_token_lookup_pt lookup);
ngx_int_t ngx_kanban_preroute_seam(ngx_conf_t *cf,
    ngx_kanban_preroute_pt handler);
ngx_int_t ngx_kanban_committed_seam(ngx_conf_t *cf,
    ngx_kanban_committed_pt handler);

ngx_kanban_tenant_t *ngx_kanban_tenant(ngx_http_request_t *r);
ngx_kanban_identity_t *ngx_kanban_identity(ngx_http_request_t *r);
ngx_kanban_token_lookup_pt ngx_kanban_token_kind(ngx_http_request_t *r,
    ngx_str_t *token);
ngx_int_t ngx_kanban_preroute(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx);
void ngx_kanban_committed(ngx_http_request_t *r, ngx_kanban_ctx_t *ctx,
    char *event);


#endif /* _NGX_KANBAN_H_INCLUDED_ */
