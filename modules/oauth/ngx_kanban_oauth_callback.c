
/*
 * GET /api/v1/auth/oauth/{provider}/callback?code=&state=: the provider
 * sent the browser back. The state must be this browser's (the hash of
 * its cookie's handle) and this provider's before it is spent (deleted as
 * it is read: one use, and a forged callback cannot burn it), and under
 * ten minutes old. The code
 * is traded for tokens at the token endpoint with the PKCE verifier; the
 * person is who the ID token (OIDC) or GitHub's user API says, and
 * oauth_sign_in() finds, links, or (invitation, open registration) makes
 * their account. Then the session is a password sign-in's: the refresh
 * cookie, and a redirect into the app, which refreshes for its access
 * token. Any failure is a redirect to the sign-in page with its code.
 * A person the workspace's two-factor policy makes enrol first gets no
 * session but an enrolment session, handed to the sign-in page in the
 * URL's fragment (never sent on, gone from the address bar once read).
 */

/* SQL: sql/tenant/021_sign_in_providers.sql, 050_mfa_policy.sql */
#include "ngx_kanban_oauth.h"
#include "ngx_kanban_webhooks.h"
#include "ngx_kanban_mfa.h"


#define NGX_KANBAN_OAUTH_CODE_MAX    2048


typedef struct {
    char                       path[NGX_MAX_PATH];
    u_char                     secret[NGX_KANBAN_OAUTH_SECRET_MAX];
    size_t                     len;
} ngx_kanban_oauth_file_job_t;


static void ngx_kanban_oauth_consumed(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_oauth_read_secret(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa);
static void ngx_kanban_oauth_read_secret_work(ngx_kanban_job_t *job);
static void ngx_kanban_oauth_read_secret_done(ngx_http_request_t *r,
    ngx_kanban_job_t *job);
static void ngx_kanban_oauth_secret_ready(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa);
static void ngx_kanban_oauth_exchange(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa, char *error);
static void ngx_kanban_oauth_exchanged(ngx_kanban_http_req_t *hr);
static void ngx_kanban_oauth_identified(ngx_http_request_t *r,
    ngx_kanban_oauth_t *oa, char *error);
static void ngx_kanban_oauth_signed_in(ngx_http_request_t *r,
    ngx_kanban_pg_query_t *q);
static ngx_int_t ngx_kanban_oauth_enrol(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_uint_t ngx_kanban_oauth_is(ngx_str_t *s, char *text);


/* the state spent, with its provider, only by the browser it was made
 * for and on its provider's callback: a forged callback (another cookie,
 * another provider) finds no row and leaves the real sign-in its state.
 * The hashes compared are of random handles, so SQL's comparison tells
 * a caller nothing; the handler compares them again in constant time. */
static ngx_kanban_pg_stmt_t  ngx_kanban_oauth_consume =
    ngx_kanban_pg_stmt("oauth_consume",
    "WITH s AS (DELETE FROM oauth_states o WHERE o.state_hash = $1"
    "              AND o.binding_hash = $2"
    "              AND o.provider_id = (SELECT x.id FROM auth_providers x"
    "                                    WHERE x.slug = $3)"
    "           RETURNING *)"
    " SELECT s.binding_hash, s.verifier, s.nonce, s.return_to,"
    "        (s.expires_at > now())::int, p.id, p.slug, p.kind,"
    "        coalesce(p.issuer, ''), p.client_id, p.client_secret,"
    "        p.secret_file"
    "   FROM s JOIN auth_providers p ON p.id = s.provider_id"
    "  WHERE p.enabled");

static ngx_kanban_pg_stmt_t  ngx_kanban_oauth_sign_in =
    ngx_kanban_pg_stmt("oauth_sign_in",
    "SELECT outcome, user_id,"
    "       outcome = 'ok' AND mfa_policy_covers(user_id)"
    "  FROM oauth_sign_in($1::uuid, $2, $3, $4::boolean, $5, $6,"
    "                     $7, $8::inet, $9::int)");


ngx_int_t
ngx_kanban_oauth_callback_handler(ngx_http_request_t *r,
    ngx_kanban_ctx_t *ctx)
{
    ngx_int_t               rc;
    ngx_str_t               name = ngx_string(NGX_KANBAN_OAUTH_COOKIE),
                            state, handle, error, state_hash, *slug;
    ngx_kanban_oauth_t     *oa;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    oa = ngx_pcalloc(r->pool, sizeof(ngx_kanban_oauth_t));
    if (oa == NULL) {
        return ngx_kanban_oauth_retry(r);
    }

    ctx->data = oa;

    slug = ngx_kanban_arg(ctx, "provider");
    if (slug == NULL || slug->len > 40) {
        return ngx_kanban_oauth_fail(r, "unknown_provider");
    }

    oa->slug = *slug;

    /* the person said no, or the provider could not go on */
    rc = ngx_kanban_oauth_arg(r, "error", 100, &error);
    if (rc == NGX_OK) {
        return ngx_kanban_oauth_fail(r,
                   ngx_kanban_oauth_is(&error, "access_denied")
                   ? "access_denied" : "provider_error");
    }

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &name,
                                          &handle)
        == NGX_DECLINED
        || handle.len == 0 || handle.len > 100)
    {
        return ngx_kanban_oauth_fail(r, "state_missing");
    }

    rc = ngx_kanban_oauth_arg(r, "state", 100, &state);
    if (rc == NGX_ERROR) {
        return ngx_kanban_oauth_retry(r);
    }

    if (rc == NGX_DECLINED) {
        return ngx_kanban_oauth_fail(r, "state_invalid");
    }

    rc = ngx_kanban_oauth_arg(r, "code", NGX_KANBAN_OAUTH_CODE_MAX,
                              &oa->code);
    if (rc == NGX_ERROR) {
        return ngx_kanban_oauth_retry(r);
    }

    if (rc == NGX_DECLINED) {
        return ngx_kanban_oauth_fail(r, "code_missing");
    }

    /* the handle's hash is what the state's row must hold */
    if (ngx_kanban_session_hash(r, &state, &state_hash) != NGX_OK
        || ngx_kanban_session_hash(r, &handle, &oa->session.hash) != NGX_OK)
    {
        return ngx_kanban_oauth_retry(r);
    }

    ngx_kanban_pg_tenant_db(ctx->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_oauth_consume,
                             ngx_kanban_oauth_consumed, 3, &state_hash,
                             &oa->session.hash, &oa->slug)
           != NGX_OK)
    {
        return ngx_kanban_oauth_retry(r);
    }

    return NGX_DONE;
}


static void
ngx_kanban_oauth_consumed(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    PGresult            *res;
    ngx_str_t           *v[12], none = ngx_null_string;
    ngx_uint_t           i;
    ngx_kanban_oauth_t  *oa;

    oa = ngx_kanban_ctx(r)->data;

    if (q->error != NGX_KANBAN_PG_OK) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    if (PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_fail(r,
                                                           "state_invalid"));
        return;
    }

    /* what oa takes from the row is used until the request ends */
    res = ngx_kanban_pg_keep(r, q);
    if (res == NULL) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    for (i = 0; i < 12; i++) {
        v[i] = ngx_kanban_pg_value(r, res, 0, i);

        if (v[i] == NULL && i >= 10) {
            v[i] = &none;               /* a sealed secret, or a file */

        } else if (v[i] == NULL) {
            ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
            return;
        }
    }

    /* another browser's state, or another provider's */
    if (v[0]->len != oa->session.hash.len
        || CRYPTO_memcmp(v[0]->data, oa->session.hash.data, v[0]->len) != 0
        || v[6]->len != oa->slug.len
        || ngx_strncmp(v[6]->data, oa->slug.data, oa->slug.len) != 0)
    {
        ngx_http_finalize_request(r, ngx_kanban_oauth_fail(r,
                                                           "state_invalid"));
        return;
    }

    if (!ngx_kanban_oauth_is(v[4], "1")) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_fail(r,
                                                           "state_expired"));
        return;
    }

    oa->verifier = *v[1];
    oa->nonce = *v[2];
    oa->return_to = *v[3];
    oa->id = *v[5];
    oa->kind = *v[7];
    oa->issuer = *v[8];
    oa->client_id = *v[9];
    oa->secret_file = *v[11];

    if (v[10]->len) {
        if (ngx_kanban_webhooks_unseal(r->pool, v[10], &oa->client_secret)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "kanban oauth: the client secret of \"%V\" cannot "
                          "be unsealed (another kanban_webhooks_key?)",
                          &oa->slug);
            ngx_http_finalize_request(r,
                ngx_kanban_oauth_fail(r, "provider_misconfigured"));
            return;
        }

        ngx_kanban_oauth_secret_ready(r, oa);
        return;
    }

    if (ngx_kanban_oauth_read_secret(r, oa) != NGX_OK) {
        ngx_http_finalize_request(r,
            ngx_kanban_oauth_fail(r, "provider_misconfigured"));
    }
}


/* A secret file is read in the thread pool: a disk can be slow, and the
 * worker never waits for one. */

static ngx_int_t
ngx_kanban_oauth_read_secret(ngx_http_request_t *r, ngx_kanban_oauth_t *oa)
{
    ngx_kanban_job_t             *job;
    ngx_kanban_oauth_conf_t      *ocf;
    ngx_kanban_oauth_file_job_t  *fj;

    ocf = ngx_kanban_oauth_conf();

    if (ocf->secret_dir.len == 0 || oa->secret_file.len == 0
        || oa->secret_file.data[0] == '.'
        || ngx_strlchr(oa->secret_file.data,
                       oa->secret_file.data + oa->secret_file.len, '/')
        || ocf->secret_dir.len + oa->secret_file.len + 2 > NGX_MAX_PATH)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kanban oauth: the secret file of \"%V\" is not "
                      "allowed here (kanban_oauth_secret_dir)", &oa->slug);
        return NGX_ERROR;
    }

    job = ngx_kanban_job_create(r, sizeof(ngx_kanban_oauth_file_job_t));
    if (job == NULL) {
        return NGX_ERROR;
    }

    fj = job->data;

    ngx_sprintf((u_char *) fj->path, "%V/%V%Z", &ocf->secret_dir,
                &oa->secret_file);

    job->work = ngx_kanban_oauth_read_secret_work;
    job->done = ngx_kanban_oauth_read_secret_done;

    return ngx_kanban_job_post(r, job);
}


/* in a thread */

static void
ngx_kanban_oauth_read_secret_work(ngx_kanban_job_t *job)
{
    ssize_t                       n;
    ngx_fd_t                      fd;
    ngx_kanban_oauth_file_job_t  *fj;

    fj = job->data;
    job->rc = NGX_ERROR;

    fd = ngx_open_file(fj->path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        return;
    }

    n = read(fd, fj->secret, sizeof(fj->secret));

    ngx_close_file(fd);

    if (n <= 0 || (size_t) n == sizeof(fj->secret)) {
        return;
    }

    /* the line break an editor leaves is no part of the secret */
    while (n > 0 && (fj->secret[n - 1] == '\n' || fj->secret[n - 1] == '\r'
                     || fj->secret[n - 1] == ' '))
    {
        n--;
    }

    fj->len = n;
    job->rc = n ? NGX_OK : NGX_ERROR;
}


static void
ngx_kanban_oauth_read_secret_done(ngx_http_request_t *r,
    ngx_kanban_job_t *job)
{
    ngx_kanban_oauth_t           *oa;
    ngx_kanban_oauth_file_job_t  *fj;

    oa = ngx_kanban_ctx(r)->data;
    fj = job->data;

    if (job->rc != NGX_OK) {
        ngx_explicit_memzero(fj->secret, sizeof(fj->secret));
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kanban oauth: the secret file of \"%V\" cannot be "
                      "read, or is empty or too long", &oa->slug);
        ngx_http_finalize_request(r,
            ngx_kanban_oauth_fail(r, "provider_misconfigured"));
        return;
    }

    oa->client_secret.len = fj->len;
    oa->client_secret.data = ngx_pnalloc(r->pool, fj->len);
    if (oa->client_secret.data == NULL) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    ngx_memcpy(oa->client_secret.data, fj->secret, fj->len);
    ngx_explicit_memzero(fj->secret, sizeof(fj->secret));

    ngx_kanban_oauth_secret_ready(r, oa);
}


static void
ngx_kanban_oauth_secret_ready(ngx_http_request_t *r, ngx_kanban_oauth_t *oa)
{
    ngx_int_t  rc;

    if (ngx_kanban_oauth_redirect_uri(r, oa) != NGX_OK) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    if (ngx_kanban_oauth_is(&oa->kind, "oidc")) {
        rc = ngx_kanban_oauth_oidc_discover(r, oa, ngx_kanban_oauth_exchange);
        if (rc == NGX_ERROR) {
            ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        }

        return;
    }

    if (oa->issuer.len) {
        oa->token_endpoint.len = oa->issuer.len
                                 + sizeof("/login/oauth/access_token") - 1;
        oa->token_endpoint.data = ngx_pnalloc(r->pool,
                                              oa->token_endpoint.len);
        if (oa->token_endpoint.data == NULL) {
            ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
            return;
        }

        ngx_sprintf(oa->token_endpoint.data, "%V/login/oauth/access_token",
                    &oa->issuer);

    } else {
        ngx_str_set(&oa->token_endpoint,
                    "https://github.com/login/oauth/access_token");
    }

    ngx_kanban_oauth_exchange(r, oa, NULL);
}


/* The code for tokens. OIDC clients authenticate with HTTP Basic (what
 * every token endpoint must take, RFC 6749 2.3.1); GitHub takes the
 * secret in the form. */

static void
ngx_kanban_oauth_exchange(ngx_http_request_t *r, ngx_kanban_oauth_t *oa,
    char *error)
{
    u_char                 *p;
    ngx_str_t               grant = ngx_string("authorization_code"),
                            form_type =
                                ngx_string("application/x-www-form-urlencoded"),
                            body, basic, pair, auth, *values[6];
    ngx_uint_t              oidc;
    ngx_kanban_http_req_t  *hr;
    char                   *names[] = { "grant_type", "code", "redirect_uri",
                                        "code_verifier", "client_id",
                                        "client_secret", NULL };

    if (error) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_fail(r, error));
        return;
    }

    oidc = ngx_kanban_oauth_is(&oa->kind, "oidc");

    values[0] = &grant;
    values[1] = &oa->code;
    values[2] = &oa->redirect_uri;
    values[3] = &oa->verifier;
    values[4] = &oa->client_id;
    values[5] = &oa->client_secret;

    if (oidc) {
        names[4] = NULL;
    }

    if (ngx_kanban_oauth_form(r->pool, NULL, names, values, &body) != NGX_OK)
    {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    hr = ngx_kanban_oauth_http(r, "POST", &oa->token_endpoint,
                               ngx_kanban_oauth_exchanged, r);
    if (hr == NULL
        || ngx_kanban_http_header(hr, "Content-Type", &form_type) != NGX_OK)
    {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    hr->body = body;

    if (oidc) {
        /* RFC 6749 2.3.1: each part form-encoded, then base64 */
        pair.data = ngx_pnalloc(r->pool, 3 * (oa->client_id.len
                                              + oa->client_secret.len) + 1);
        if (pair.data == NULL) {
            ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
            return;
        }

        p = ngx_kanban_oauth_escape(pair.data, &oa->client_id);
        *p++ = ':';
        p = ngx_kanban_oauth_escape(p, &oa->client_secret);
        pair.len = p - pair.data;

        basic.len = ngx_base64_encoded_length(pair.len);
        auth.len = sizeof("Basic ") - 1 + basic.len;
        auth.data = ngx_pnalloc(r->pool, auth.len);
        if (auth.data == NULL) {
            ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
            return;
        }

        basic.data = ngx_cpymem(auth.data, "Basic ", sizeof("Basic ") - 1);
        ngx_encode_base64(&basic, &pair);
        auth.len = sizeof("Basic ") - 1 + basic.len;

        if (ngx_kanban_http_header(hr, "Authorization", &auth) != NGX_OK) {
            ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
            return;
        }
    }

    if (ngx_kanban_http_send(hr) != NGX_OK) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
    }
}


static void
ngx_kanban_oauth_exchanged(ngx_kanban_http_req_t *hr)
{
    char                *error;
    ngx_int_t            rc;
    ngx_str_t           *s;
    ngx_kanban_json_t   *tokens;
    ngx_kanban_oauth_t  *oa;
    ngx_http_request_t  *r;

    r = hr->data;
    oa = ngx_kanban_ctx(r)->data;

    /* a code refused (used, expired, another client's) is a 400 (RFC
     * 6749 5.2), or GitHub's 200 with an error */
    if (hr->error == NGX_KANBAN_HTTP_OK
        && (hr->status == 400 || hr->status == 401))
    {
        /* its error and error_description say why */
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "kanban oauth: the token endpoint of \"%V\" refused "
                      "the code: %ui %*s", &oa->slug, hr->status,
                      ngx_min(hr->response.len, 300), hr->response.data);
        ngx_http_finalize_request(r, ngx_kanban_oauth_fail(r,
                                                           "code_rejected"));
        return;
    }

    tokens = ngx_kanban_oauth_http_json(hr, NGX_KANBAN_JSON_OBJECT, &error);
    if (tokens == NULL) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_fail(r, error));
        return;
    }

    if (ngx_kanban_json_get(tokens, "error") != NULL) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_fail(r,
                                                           "code_rejected"));
        return;
    }

    s = ngx_kanban_json_string(tokens, "access_token");
    if (s) {
        oa->access_token = *s;
    }

    if (ngx_kanban_oauth_is(&oa->kind, "oidc")) {
        s = ngx_kanban_json_string(tokens, "id_token");
        if (s == NULL) {
            ngx_http_finalize_request(r,
                ngx_kanban_oauth_fail(r, "id_token_invalid"));
            return;
        }

        oa->id_token = *s;

        rc = ngx_kanban_oauth_oidc_identify(r, oa,
                                            ngx_kanban_oauth_identified);

    } else {
        if (oa->access_token.len == 0 || oa->access_token.len > 1000) {
            ngx_http_finalize_request(r,
                ngx_kanban_oauth_fail(r, "provider_error"));
            return;
        }

        rc = ngx_kanban_oauth_github_identify(r, oa,
                                              ngx_kanban_oauth_identified);
    }

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
    }
}


/* The provider said who it is: the workspace says whether they may come
 * in, and as whom; the session is stored in the same statement. */

static void
ngx_kanban_oauth_identified(ngx_http_request_t *r, ngx_kanban_oauth_t *oa,
    char *error)
{
    ngx_str_t               verified, *email;
    ngx_kanban_pg_db_t      db;
    ngx_kanban_pg_query_t  *q;

    if (error) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_fail(r, error));
        return;
    }

    if (oa->name.len > 200) {
        oa->name.len = 0;
    }

    if (ngx_kanban_session_create(r, &oa->session) != NGX_OK) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    oa->session.cookie = 1;

    if (oa->email_verified) {
        ngx_str_set(&verified, "true");
    } else {
        ngx_str_set(&verified, "false");
    }

    email = oa->email.len ? &oa->email : NULL;

    ngx_kanban_pg_tenant_db(ngx_kanban_ctx(r)->tenant, &db);

    q = ngx_kanban_pg_query(r, &db);
    if (q == NULL
        || ngx_kanban_pg_run(q, &ngx_kanban_oauth_sign_in,
                             ngx_kanban_oauth_signed_in, 9, &oa->id,
                             &oa->subject, email, &verified, &oa->name,
                             &oa->session.hash, oa->session.user_agent,
                             oa->session.addr, &oa->session.lifetime)
           != NGX_OK)
    {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
    }
}


static void
ngx_kanban_oauth_signed_in(ngx_http_request_t *r, ngx_kanban_pg_query_t *q)
{
    ngx_int_t            rc;
    ngx_str_t           *outcome, *enrol, *user, id;
    ngx_kanban_oauth_t  *oa;

    oa = ngx_kanban_ctx(r)->data;

    if (ngx_kanban_pg_sqlstate(q, "KBPRB")) {
        /* a first sign-in that would pass the plan's max_users */
        ngx_http_finalize_request(r, ngx_kanban_oauth_fail(r,
                                                     "quota_exceeded"));
        return;
    }

    if (q->error != NGX_KANBAN_PG_OK || PQntuples(q->result) != 1) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    outcome = ngx_kanban_pg_value(r, q->result, 0, 0);
    if (outcome == NULL) {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    if (!ngx_kanban_oauth_is(outcome, "ok")) {
        /* PostgreSQL's values end in a NUL */
        ngx_http_finalize_request(r,
            ngx_kanban_oauth_fail(r, (char *) outcome->data));
        return;
    }

    enrol = ngx_kanban_pg_value(r, q->result, 0, 2);

    if (enrol && ngx_kanban_oauth_is(enrol, "t")) {
        user = ngx_kanban_pg_value(r, q->result, 0, 1);

        /* the row is freed when this returns */
        if (user == NULL
            || (id.data = ngx_pstrdup(r->pool, user)) == NULL
            || ngx_kanban_oauth_cookie(r, NULL) != NGX_OK)
        {
            ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
            return;
        }

        id.len = user->len;

        rc = ngx_kanban_mfa_enrolment_begin(r, &id, &oa->session.hash,
                                            ngx_kanban_oauth_enrol);
        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        }

        return;
    }

    if (ngx_kanban_session_cookie(r, &oa->session) != NGX_OK
        || ngx_kanban_oauth_cookie(r, NULL) != NGX_OK)
    {
        ngx_http_finalize_request(r, ngx_kanban_oauth_retry(r));
        return;
    }

    ngx_http_finalize_request(r, ngx_kanban_oauth_redirect(r, &oa->return_to));
}


/* to the sign-in page, which finishes with the enrolment */

static ngx_int_t
ngx_kanban_oauth_enrol(ngx_http_request_t *r, ngx_str_t *token)
{
    ngx_str_t  to;

    to.len = sizeof("/signin#mfa_enrolment=") - 1 + token->len;
    to.data = ngx_pnalloc(r->pool, to.len);
    if (to.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(to.data, "/signin#mfa_enrolment=%V", token);

    return ngx_kanban_oauth_redirect(r, &to);
}


static ngx_uint_t
ngx_kanban_oauth_is(ngx_str_t *s, char *text)
{
    size_t  len;

    len = ngx_strlen(text);

    return s->len == len && ngx_strncmp(s->data, text, len) == 0;
}
