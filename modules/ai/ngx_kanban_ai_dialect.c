
/*
 * The two ways of asking a model the gateway speaks:
 *
 *   openai     POST {base}/chat/completions, Authorization: Bearer key;
 *              {model, temperature, response_format: json_object,
 *               max_tokens, messages: [system, user]}; the answer's
 *              choices[0].message.content, usage.prompt_tokens and
 *              completion_tokens (any OpenAI-compatible server: Ollama,
 *              vLLM)
 *   anthropic  POST {base}/v1/messages, x-api-key: key, anthropic-version;
 *              {model, max_tokens, temperature, system, messages: [user]};
 *              the answer's content[] text blocks, usage.input_tokens and
 *              output_tokens
 */

/* SQL: none of its own */
#include "ngx_kanban_ai.h"


#define NGX_KANBAN_AI_ANTHROPIC_VERSION  "2023-06-01"


static ngx_uint_t ngx_kanban_ai_tokens(ngx_kanban_json_t *usage, char *name);
static void ngx_kanban_ai_unfence(ngx_str_t *s);


/* the request's body, in call->body: the instruction (with the rule that
 * data is data) as the system's, the data block as the user's */

ngx_int_t
ngx_kanban_ai_dialect_request(ngx_kanban_ai_call_t *call, ngx_str_t *user)
{
    ngx_str_t              v;
    ngx_kanban_jw_t        jw;
    ngx_kanban_ai_conf_t  *aicf;

    aicf = ngx_kanban_ai_conf();

    if (ngx_kanban_jw_init(&jw, call->pool,
                           2 * user->len + ngx_strlen(call->instruction)
                           + ngx_strlen(ngx_kanban_ai_data_rule) + 512)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "model");
    ngx_kanban_jw_string(&jw, &call->model);
    ngx_kanban_jw_key(&jw, "max_tokens");
    ngx_kanban_jw_int(&jw, aicf->max_tokens);
    ngx_kanban_jw_key(&jw, "temperature");
    ngx_str_set(&v, "0.2");
    ngx_kanban_jw_raw(&jw, &v);

    if (call->provider == NGX_KANBAN_AI_ANTHROPIC) {
        ngx_kanban_jw_key(&jw, "system");
        ngx_kanban_jw_open(&jw, '"');
        ngx_kanban_json_escape_into(&jw, (u_char *) call->instruction,
                                    ngx_strlen(call->instruction));
        ngx_kanban_json_escape_into(&jw, (u_char *) ngx_kanban_ai_data_rule,
                                    ngx_strlen(ngx_kanban_ai_data_rule));
        ngx_kanban_jw_close(&jw, '"');

    } else {
        ngx_kanban_jw_key(&jw, "response_format");
        ngx_kanban_jw_open(&jw, '{');
        ngx_kanban_jw_key(&jw, "type");
        ngx_kanban_jw_cstring(&jw, "json_object");
        ngx_kanban_jw_close(&jw, '}');
    }

    ngx_kanban_jw_key(&jw, "messages");
    ngx_kanban_jw_open(&jw, '[');

    if (call->provider != NGX_KANBAN_AI_ANTHROPIC) {
        ngx_kanban_jw_open(&jw, '{');
        ngx_kanban_jw_key(&jw, "role");
        ngx_kanban_jw_cstring(&jw, "system");
        ngx_kanban_jw_key(&jw, "content");
        ngx_kanban_jw_open(&jw, '"');
        ngx_kanban_json_escape_into(&jw, (u_char *) call->instruction,
                                    ngx_strlen(call->instruction));
        ngx_kanban_json_escape_into(&jw, (u_char *) ngx_kanban_ai_data_rule,
                                    ngx_strlen(ngx_kanban_ai_data_rule));
        ngx_kanban_jw_close(&jw, '"');
        ngx_kanban_jw_close(&jw, '}');
    }

    ngx_kanban_jw_open(&jw, '{');
    ngx_kanban_jw_key(&jw, "role");
    ngx_kanban_jw_cstring(&jw, "user");
    ngx_kanban_jw_key(&jw, "content");
    ngx_kanban_jw_string(&jw, user);
    ngx_kanban_jw_close(&jw, '}');
    ngx_kanban_jw_close(&jw, ']');
    ngx_kanban_jw_close(&jw, '}');

    return ngx_kanban_jw_result(&jw, &call->body);
}


ngx_int_t
ngx_kanban_ai_dialect_headers(ngx_kanban_ai_call_t *call,
    ngx_kanban_http_req_t *hr)
{
    ngx_str_t  v;

    ngx_str_set(&v, "application/json");
    if (ngx_kanban_http_header(hr, "Content-Type", &v) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_null(&v);
    if (ngx_kanban_http_header(hr, "Expect", &v) != NGX_OK) {
        return NGX_ERROR;
    }

    if (call->provider == NGX_KANBAN_AI_ANTHROPIC) {
        ngx_str_set(&v, NGX_KANBAN_AI_ANTHROPIC_VERSION);
        if (ngx_kanban_http_header(hr, "anthropic-version", &v) != NGX_OK) {
            return NGX_ERROR;
        }

        if (call->key.len
            && ngx_kanban_http_header(hr, "x-api-key", &call->key) != NGX_OK)
        {
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    if (call->key.len == 0) {
        return NGX_OK;
    }

    v.len = sizeof("Bearer ") - 1 + call->key.len;
    v.data = ngx_pnalloc(call->pool, v.len);
    if (v.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(v.data, "Bearer %V", &call->key);

    return ngx_kanban_http_header(hr, "Authorization", &v);
}


/* The answer's text (in content) and its tokens (in the call): NULL, or
 * what is wrong with it. */

char *
ngx_kanban_ai_dialect_answer(ngx_kanban_ai_call_t *call, ngx_str_t *body,
    ngx_str_t *content)
{
    char               *err;
    u_char             *p;
    ngx_str_t          *s, *type;
    ngx_kanban_json_t  *root, *choices, *message, *blocks, *b;

    if (ngx_kanban_json_parse(call->pool, body->data, body->len, &root, &err)
        != NGX_OK || root->type != NGX_KANBAN_JSON_OBJECT)
    {
        return "the model's answer is not JSON";
    }

    if (call->provider == NGX_KANBAN_AI_ANTHROPIC) {
        call->input_tokens = ngx_kanban_ai_tokens(
                                 ngx_kanban_json_get(root, "usage"),
                                 "input_tokens");
        call->output_tokens = ngx_kanban_ai_tokens(
                                  ngx_kanban_json_get(root, "usage"),
                                  "output_tokens");

        blocks = ngx_kanban_json_get(root, "content");
        if (blocks == NULL || blocks->type != NGX_KANBAN_JSON_ARRAY) {
            return "the model's answer has no content";
        }

        /* the text blocks, one after another */
        content->len = 0;

        for (b = blocks->first; b; b = b->next) {
            type = ngx_kanban_json_string(b, "type");
            s = ngx_kanban_json_string(b, "text");
            if (type && s && type->len == 4
                && ngx_strncmp(type->data, "text", 4) == 0)
            {
                content->len += s->len;
            }
        }

        if (content->len == 0) {
            return "the model's answer has no text";
        }

        p = ngx_pnalloc(call->pool, content->len);
        if (p == NULL) {
            return "out of memory";
        }

        content->data = p;

        for (b = blocks->first; b; b = b->next) {
            type = ngx_kanban_json_string(b, "type");
            s = ngx_kanban_json_string(b, "text");
            if (type && s && type->len == 4
                && ngx_strncmp(type->data, "text", 4) == 0)
            {
                p = ngx_cpymem(p, s->data, s->len);
            }
        }

        ngx_kanban_ai_unfence(content);

        return NULL;
    }

    call->input_tokens = ngx_kanban_ai_tokens(
                             ngx_kanban_json_get(root, "usage"),
                             "prompt_tokens");
    call->output_tokens = ngx_kanban_ai_tokens(
                              ngx_kanban_json_get(root, "usage"),
                              "completion_tokens");

    choices = ngx_kanban_json_get(root, "choices");
    if (choices == NULL || choices->type != NGX_KANBAN_JSON_ARRAY
        || choices->first == NULL)
    {
        return "the model's answer has no choices";
    }

    message = ngx_kanban_json_get(choices->first, "message");
    s = message ? ngx_kanban_json_string(message, "content") : NULL;
    if (s == NULL) {
        return "the model's answer has no message";
    }

    *content = *s;
    ngx_kanban_ai_unfence(content);

    return NULL;
}


/* a count of usage's, 0 when missing or not a whole number */
static ngx_uint_t
ngx_kanban_ai_tokens(ngx_kanban_json_t *usage, char *name)
{
    ngx_int_t           n;
    ngx_kanban_json_t  *v;

    v = usage ? ngx_kanban_json_get(usage, name) : NULL;

    if (v == NULL || v->type != NGX_KANBAN_JSON_NUMBER || !v->integer) {
        return 0;
    }

    n = ngx_atoi(v->value.data, v->value.len);

    return (n < 0 || n > 100000000) ? 0 : (ngx_uint_t) n;
}


/* a model without a JSON mode may wrap its object in ```json fences */
static void
ngx_kanban_ai_unfence(ngx_str_t *s)
{
    u_char  *p, *end;

    p = s->data;
    end = p + s->len;

    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r')) {
        p++;
    }

    if (end - p < 6 || ngx_strncmp(p, "```", 3) != 0) {
        return;
    }

    p = ngx_strlchr(p, end, '\n');
    if (p == NULL) {
        return;
    }

    while (end > p && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\r'))
    {
        end--;
    }

    if (end - p < 3 || ngx_strncmp(end - 3, "```", 3) != 0) {
        return;
    }

    s->data = p + 1;
    s->len = end - 3 - s->data;
}
