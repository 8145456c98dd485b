
/*
 * A request to the operator's LLM (kanban_insights_llm_*): the chat
 * completions call that an analysis (ngx_kanban_insights_job.c) and a
 * portfolio update's draft (ngx_kanban_portfolio_draft.c) both make, with
 * their own prompt and digest.
 */

/* SQL: none of its own */
#include "ngx_kanban_insights.h"
#include "ngx_kanban_json.h"


/* POST {model, temperature, response_format: json_object, messages: [the
 * prompt, the digest]} to the chat completions endpoint, with the key as
 * a bearer token when there is one. size: the body's first allocation;
 * max_body: the most of an answer taken. The caller sets the handler and
 * its data, then sends it. NULL: no memory. */

ngx_kanban_http_req_t *
ngx_kanban_insights_llm_request(ngx_kanban_insights_conf_t *iscf,
    ngx_pool_t *pool, ngx_log_t *log, char *prompt, ngx_str_t *digest,
    size_t size, size_t max_body)
{
    ngx_str_t               v;
    ngx_kanban_jw_t         jw;
    ngx_kanban_http_req_t  *hr;

    if (ngx_kanban_jw_init(&jw, pool, size) != NGX_OK) {
        return NULL;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "model");
    ngx_kanban_jw_string(&jw, &iscf->llm_model);
    ngx_kanban_jw_key(&jw, "temperature");
    ngx_str_set(&v, "0.2");
    ngx_kanban_jw_raw(&jw, &v);
    ngx_kanban_jw_key(&jw, "response_format");
    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "type");
    ngx_kanban_jw_cstring(&jw, "json_object");
    ngx_kanban_jw_close(&jw, '}');
    ngx_kanban_jw_key(&jw, "messages");
    ngx_kanban_jw_open(&jw, '[');
    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "role");
    ngx_kanban_jw_cstring(&jw, "system");
    ngx_kanban_jw_key(&jw, "content");
    ngx_kanban_jw_cstring(&jw, prompt);
    ngx_kanban_jw_close(&jw, '}');
    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "role");
    ngx_kanban_jw_cstring(&jw, "user");
    ngx_kanban_jw_key(&jw, "content");
    ngx_kanban_jw_string(&jw, digest);
    ngx_kanban_jw_close(&jw, '}');
    ngx_kanban_jw_close(&jw, ']');
    ngx_kanban_jw_close(&jw, '}');

    hr = ngx_kanban_http_create(pool, log);
    if (hr == NULL || ngx_kanban_jw_result(&jw, &hr->body) != NGX_OK) {
        return NULL;
    }

    ngx_str_set(&hr->method, "POST");
    hr->url = iscf->llm_url;
    hr->timeout = iscf->llm_timeout;
    hr->max_body = max_body;

    /* the operator's endpoint, not a user's: it may be on the network */
    hr->allow_private = 1;

    ngx_str_set(&v, "application/json");
    if (ngx_kanban_http_header(hr, "Content-Type", &v) != NGX_OK) {
        return NULL;
    }

    ngx_str_null(&v);
    if (ngx_kanban_http_header(hr, "Expect", &v) != NGX_OK) {
        return NULL;
    }

    if (iscf->llm_key.len) {
        v.len = sizeof("Bearer ") - 1 + iscf->llm_key.len;
        v.data = ngx_pnalloc(pool, v.len);
        if (v.data == NULL) {
            return NULL;
        }

        ngx_sprintf(v.data, "Bearer %V", &iscf->llm_key);

        if (ngx_kanban_http_header(hr, "Authorization", &v) != NGX_OK) {
            return NULL;
        }
    }

    return hr;
}
