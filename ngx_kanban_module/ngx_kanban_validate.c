
/*
 * A request body checked against its route's field list before any SQL
 * runs: types, required members, lengths, formats and unknown members,
 * every finding reported at once as errors[] of a 422.
 */

#include "ngx_kanban_json.h"


static void ngx_kanban_validate_object(ngx_array_t *errors, ngx_str_t *prefix,
    ngx_kanban_json_t *obj, ngx_kanban_field_t *fields);
static void ngx_kanban_validate_value(ngx_array_t *errors, ngx_str_t *prefix,
    ngx_kanban_json_t *v, ngx_kanban_field_t *f);
static ngx_uint_t ngx_kanban_validate_json_type(ngx_kanban_field_t *f);
static void ngx_kanban_validate_text(ngx_array_t *errors, ngx_str_t *path,
    ngx_kanban_json_t *v, ngx_kanban_field_t *f);
static void ngx_kanban_validate_array(ngx_array_t *errors, ngx_str_t *path,
    ngx_kanban_json_t *v, ngx_kanban_field_t *f);
static ngx_uint_t ngx_kanban_valid_email(ngx_str_t *s);
static ngx_str_t *ngx_kanban_field_path(ngx_pool_t *pool, ngx_str_t *prefix,
    u_char *name, size_t len);


ngx_int_t
ngx_kanban_validate(ngx_pool_t *pool, ngx_kanban_json_t *root,
    ngx_kanban_field_t *fields, ngx_array_t **errors)
{
    ngx_str_t     prefix;
    ngx_array_t  *a;

    a = ngx_array_create(pool, 4, sizeof(ngx_kanban_field_error_t));
    if (a == NULL) {
        return NGX_ERROR;
    }

    *errors = a;
    ngx_str_null(&prefix);

    if (fields[0].name && fields[0].name[0] == '\0') {
        /* the body itself is the one field: an array, say */
        ngx_kanban_validate_value(a, &prefix, root, &fields[0]);
        return a->nelts ? NGX_DECLINED : NGX_OK;
    }

    if (root->type != NGX_KANBAN_JSON_OBJECT) {
        return ngx_kanban_field_error(a, NULL, "body", "invalid_type",
                                      "The body must be a JSON object.")
               == NGX_OK ? NGX_DECLINED : NGX_ERROR;
    }

    ngx_kanban_validate_object(a, &prefix, root, fields);

    return a->nelts ? NGX_DECLINED : NGX_OK;
}


ngx_int_t
ngx_kanban_field_error(ngx_array_t *errors, ngx_str_t *prefix, char *name,
    char *code, char *message)
{
    ngx_str_t                 *path;
    ngx_kanban_field_error_t  *e;

    path = ngx_kanban_field_path(errors->pool, prefix, (u_char *) name,
                                 ngx_strlen(name));
    if (path == NULL) {
        return NGX_ERROR;
    }

    e = ngx_array_push(errors);
    if (e == NULL) {
        return NGX_ERROR;
    }

    e->field = *path;
    e->code = code;
    e->message = message;

    return NGX_OK;
}


static void
ngx_kanban_validate_object(ngx_array_t *errors, ngx_str_t *prefix,
    ngx_kanban_json_t *obj, ngx_kanban_field_t *fields)
{
    size_t               n;
    ngx_str_t           *path;
    ngx_kanban_json_t   *m;
    ngx_kanban_field_t  *f;

    for (f = fields; f->name; f++) {
        m = ngx_kanban_json_get(obj, f->name);

        if (m == NULL) {
            if (f->required == NGX_KANBAN_REQUIRED) {
                ngx_kanban_field_error(errors, prefix, f->name, "required",
                                       "This field is required.");
            }
            continue;
        }

        if (m->type == NGX_KANBAN_JSON_NULL) {
            if (f->required) {
                ngx_kanban_field_error(errors, prefix, f->name, "required",
                                       "This field cannot be null.");
            }
            continue;
        }

        path = ngx_kanban_field_path(errors->pool, prefix,
                                     (u_char *) f->name,
                                     ngx_strlen(f->name));
        if (path == NULL) {
            return;
        }

        ngx_kanban_validate_value(errors, path, m, f);
    }

    for (m = obj->first; m; m = m->next) {
        for (f = fields; f->name; f++) {
            n = ngx_strlen(f->name);
            if (m->key.len == n && ngx_strncmp(m->key.data, f->name, n) == 0)
            {
                break;
            }
        }

        if (f->name == NULL) {
            path = ngx_kanban_field_path(errors->pool, prefix, m->key.data,
                                         m->key.len);
            if (path == NULL) {
                return;
            }

            ngx_kanban_field_error(errors, path, "", "unknown_field",
                                   "This field is not part of the resource.");
        }
    }
}


/* path is the value's own full name here */

static void
ngx_kanban_validate_value(ngx_array_t *errors, ngx_str_t *path,
    ngx_kanban_json_t *v, ngx_kanban_field_t *f)
{
    ngx_int_t  n;

    if (v->type != ngx_kanban_validate_json_type(f)
        || (f->type == NGX_KANBAN_FIELD_INTEGER && !v->integer))
    {
        ngx_kanban_field_error(errors, path, "", "invalid_type",
                               "This field has the wrong type.");
        return;
    }

    switch (f->type) {

    case NGX_KANBAN_FIELD_OBJECT:
        if (f->fields) {        /* else free-form, judged by its handler */
            ngx_kanban_validate_object(errors, path, v, f->fields);
        }
        return;

    case NGX_KANBAN_FIELD_ARRAY:
        ngx_kanban_validate_array(errors, path, v, f);
        return;

    case NGX_KANBAN_FIELD_INTEGER:
        n = (v->value.len && v->value.data[0] == '-')
            ? NGX_ERROR : ngx_atoi(v->value.data, v->value.len);

        if (n == NGX_ERROR || n < f->min || (f->max && n > f->max)) {
            ngx_kanban_field_error(errors, path, "", "out_of_range",
                                   "This number is out of range.");
        }
        return;

    case NGX_KANBAN_FIELD_STRING:
    case NGX_KANBAN_FIELD_EMAIL:
    case NGX_KANBAN_FIELD_UUID:
    case NGX_KANBAN_FIELD_DATE:
        ngx_kanban_validate_text(errors, path, v, f);
        return;

    default:
        return;
    }
}


/* the JSON type a field's value must have */
static ngx_uint_t
ngx_kanban_validate_json_type(ngx_kanban_field_t *f)
{
    switch (f->type) {
    case NGX_KANBAN_FIELD_INTEGER:
    case NGX_KANBAN_FIELD_NUMBER:
        return NGX_KANBAN_JSON_NUMBER;
    case NGX_KANBAN_FIELD_BOOLEAN:
        return NGX_KANBAN_JSON_BOOL;
    case NGX_KANBAN_FIELD_OBJECT:
        return NGX_KANBAN_JSON_OBJECT;
    case NGX_KANBAN_FIELD_ARRAY:
        return NGX_KANBAN_JSON_ARRAY;
    default:
        return NGX_KANBAN_JSON_STRING;
    }
}


/* a string field: no NUL, its length in characters, its format (email,
 * date, UUID) and the field's own check */
static void
ngx_kanban_validate_text(ngx_array_t *errors, ngx_str_t *path,
    ngx_kanban_json_t *v, ngx_kanban_field_t *f)
{
    char    *code, *message;
    size_t   chars;

    if (ngx_strlchr(v->value.data, v->value.data + v->value.len, '\0')) {
        ngx_kanban_field_error(errors, path, "", "invalid_format",
                               "Text may not contain NUL characters.");
        return;
    }

    chars = ngx_utf8_length(v->value.data, v->value.len);

    if (f->min && chars < (size_t) f->min) {
        ngx_kanban_field_error(errors, path, "", "too_short",
                               "This text is too short.");
        return;
    }

    if (f->max && chars > (size_t) f->max) {
        ngx_kanban_field_error(errors, path, "", "too_long",
                               "This text is too long.");
        return;
    }

    if (f->type == NGX_KANBAN_FIELD_EMAIL && !ngx_kanban_valid_email(&v->value))
    {
        ngx_kanban_field_error(errors, path, "", "invalid_format",
                               "This is not an email address.");
    }

    if (f->type == NGX_KANBAN_FIELD_DATE && !ngx_kanban_date_valid(&v->value))
    {
        ngx_kanban_field_error(errors, path, "", "invalid_format",
                               "A date is YYYY-MM-DD.");
        return;
    }

    if (f->type == NGX_KANBAN_FIELD_UUID && !ngx_kanban_uuid_valid(&v->value))
    {
        ngx_kanban_field_error(errors, path, "", "invalid_format",
                               "This is not a UUID.");
        return;
    }

    if (f->check) {
        code = f->check(&v->value, &message);

        if (code) {
            ngx_kanban_field_error(errors, path, "", code, message);
        }
    }
}


/* Its length within min and max; each item an object of f->fields. */

static void
ngx_kanban_validate_array(ngx_array_t *errors, ngx_str_t *path,
    ngx_kanban_json_t *v, ngx_kanban_field_t *f)
{
    u_char             *p;
    ngx_str_t           item;
    ngx_uint_t          n;
    ngx_kanban_json_t  *m;

    n = 0;
    for (m = v->first; m; m = m->next) {
        n++;
    }

    if ((f->min && n < (ngx_uint_t) f->min)
        || (f->max && n > (ngx_uint_t) f->max))
    {
        ngx_kanban_field_error(errors, path, "", "out_of_range",
                               "This list has too few or too many items.");
        return;
    }

    n = 0;
    for (m = v->first; m; m = m->next, n++) {
        p = ngx_pnalloc(errors->pool, path->len + NGX_INT_T_LEN + 2);
        if (p == NULL) {
            return;
        }

        item.data = p;
        item.len = ngx_sprintf(p, "%V[%ui]", path, n) - p;

        if (f->fields == NULL) {
            /* a list without item fields is a list of strings: ids,
             * scopes */
            if (m->type != NGX_KANBAN_JSON_STRING) {
                ngx_kanban_field_error(errors, &item, "", "invalid_type",
                                       "Each item must be a string.");
            }

            continue;
        }

        if (f->fields[0].name[0] == '\0') {
            /* the rule of every item: labels, options */
            if (m->type == NGX_KANBAN_JSON_NULL) {
                ngx_kanban_field_error(errors, &item, "", "invalid_type",
                                       "An item cannot be null.");
                continue;
            }

            ngx_kanban_validate_value(errors, &item, m, &f->fields[0]);
            continue;
        }

        if (m->type != NGX_KANBAN_JSON_OBJECT) {
            ngx_kanban_field_error(errors, &item, "", "invalid_type",
                                   "Each item must be an object.");
            continue;
        }

        ngx_kanban_validate_object(errors, &item, m, f->fields);
    }
}


/* local@domain.tld, no spaces or controls, one @, a dot in the domain */

static ngx_uint_t
ngx_kanban_valid_email(ngx_str_t *s)
{
    u_char  *at, *p, *end;

    end = s->data + s->len;

    if (s->len > 254) {
        return 0;
    }

    at = ngx_strlchr(s->data, end, '@');
    if (at == NULL || at == s->data || at + 1 == end
        || ngx_strlchr(at + 1, end, '@') != NULL)
    {
        return 0;
    }

    p = ngx_strlchr(at + 1, end, '.');
    if (p == NULL || p == at + 1 || end[-1] == '.') {
        return 0;
    }

    for (p = s->data; p < end; p++) {
        if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>'
            || *p == ',' || *p == ';' || *p == '"')
        {
            return 0;
        }
    }

    return 1;
}


/* YYYY-MM-DD with a real month and day; PostgreSQL judges the 31st */

ngx_uint_t
ngx_kanban_date_valid(ngx_str_t *s)
{
    ngx_int_t   month, day;
    ngx_uint_t  i;

    if (s->len != 10 || s->data[4] != '-' || s->data[7] != '-') {
        return 0;
    }

    for (i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s->data[i] < '0' || s->data[i] > '9')) {
            return 0;
        }
    }

    month = ngx_atoi(s->data + 5, 2);
    day = ngx_atoi(s->data + 8, 2);

    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}


ngx_uint_t
ngx_kanban_uuid_valid(ngx_str_t *s)
{
    ngx_uint_t  i;
    u_char      c;

    if (s->len != 36) {
        return 0;
    }

    for (i = 0; i < 36; i++) {
        c = s->data[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return 0;
            }
            continue;
        }

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
              || (c >= 'A' && c <= 'F')))
        {
            return 0;
        }
    }

    return 1;
}


static ngx_str_t *
ngx_kanban_field_path(ngx_pool_t *pool, ngx_str_t *prefix, u_char *name,
    size_t len)
{
    u_char     *p;
    ngx_str_t  *path;

    path = ngx_palloc(pool, sizeof(ngx_str_t));
    if (path == NULL) {
        return NULL;
    }

    if (prefix == NULL || prefix->len == 0) {
        path->data = name;
        path->len = len;
        return path;
    }

    if (len == 0) {
        *path = *prefix;
        return path;
    }

    p = ngx_pnalloc(pool, prefix->len + 1 + len);
    if (p == NULL) {
        return NULL;
    }

    path->data = p;
    p = ngx_cpymem(p, prefix->data, prefix->len);
    *p++ = '.';
    p = ngx_cpymem(p, name, len);
    path->len = p - path->data;

    return path;
}
