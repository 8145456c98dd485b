
/*
 * JSON in (yajl, into a tree in the request pool, with a depth limit) and
 * out (a small writer for the bodies the module builds itself), and the
 * validation of a request body against its route's field list.
 */

#ifndef _NGX_KANBAN_JSON_H_INCLUDED_
#define _NGX_KANBAN_JSON_H_INCLUDED_


#include "ngx_kanban.h"


#define NGX_KANBAN_JSON_NULL      0
#define NGX_KANBAN_JSON_BOOL      1
#define NGX_KANBAN_JSON_NUMBER    2
#define NGX_KANBAN_JSON_STRING    3
#define NGX_KANBAN_JSON_OBJECT    4
#define NGX_KANBAN_JSON_ARRAY     5

#define NGX_KANBAN_JSON_MAX_DEPTH 32


struct ngx_kanban_json_s {
    ngx_uint_t                 type;
    ngx_str_t                  key;        /* a member's name */
    ngx_str_t                  value;      /* a string, or a number's text */
    ngx_uint_t                 boolean;
    ngx_uint_t                 integer;    /* a number without . e E */
    ngx_kanban_json_t         *parent;
    ngx_kanban_json_t         *first;
    ngx_kanban_json_t         *last;
    ngx_kanban_json_t         *next;
};


/* A field's own rule: NULL when the value passes, else the error's code,
 * with its message. */
typedef char *(*ngx_kanban_field_check_pt)(ngx_str_t *value, char **message);


/* What a body's field may be. */
#define NGX_KANBAN_FIELD_STRING   1
#define NGX_KANBAN_FIELD_INTEGER  2
#define NGX_KANBAN_FIELD_NUMBER   3
#define NGX_KANBAN_FIELD_BOOLEAN  4
#define NGX_KANBAN_FIELD_OBJECT   5
#define NGX_KANBAN_FIELD_ARRAY    6
#define NGX_KANBAN_FIELD_UUID     7
#define NGX_KANBAN_FIELD_EMAIL    8
#define NGX_KANBAN_FIELD_DATE     9          /* YYYY-MM-DD */

/* Whether a body's field must be there: a PATCH may leave out a field the
 * resource cannot be without, but not set it to null. */
#define NGX_KANBAN_OPTIONAL       0
#define NGX_KANBAN_REQUIRED       1
#define NGX_KANBAN_NOT_NULL       2

struct ngx_kanban_field_s {
    char                      *name;
    ngx_uint_t                 type;
    ngx_uint_t                 required;
    ngx_int_t                  min;        /* characters, or the value */
    ngx_int_t                  max;        /* 0: no limit */
    ngx_kanban_field_t        *fields;     /* an object's, { NULL } ended;
                                              a list's items: one, named "" */
    ngx_kanban_field_check_pt  check;      /* a rule of the resource's own */
};


typedef struct {
    ngx_str_t                  field;
    char                      *code;
    char                      *message;
} ngx_kanban_field_error_t;


/* The writer: a buffer that grows in a pool. */
typedef struct {
    ngx_pool_t                *pool;
    u_char                    *start;
    u_char                    *pos;
    u_char                    *end;
    uint64_t                   commas;     /* a bit a level: value seen */
    ngx_uint_t                 depth;
    ngx_uint_t                 after_key;
    ngx_uint_t                 failed;
} ngx_kanban_jw_t;


/* RFC 3629's UTF-8: no overlong forms, surrogates or code points past
 * U+10FFFF (what PostgreSQL would refuse) */
ngx_uint_t ngx_kanban_utf8_valid(const u_char *p, size_t len);
ngx_int_t ngx_kanban_json_parse(ngx_pool_t *pool, u_char *data, size_t len,
    ngx_kanban_json_t **root, char **error);
ngx_kanban_json_t *ngx_kanban_json_get(ngx_kanban_json_t *obj, char *key);
ngx_str_t *ngx_kanban_json_string(ngx_kanban_json_t *obj, char *key);

ngx_int_t ngx_kanban_validate(ngx_pool_t *pool, ngx_kanban_json_t *root,
    ngx_kanban_field_t *fields, ngx_array_t **errors);
ngx_uint_t ngx_kanban_uuid_valid(ngx_str_t *s);
ngx_uint_t ngx_kanban_date_valid(ngx_str_t *s);
ngx_int_t ngx_kanban_field_error(ngx_array_t *errors, ngx_str_t *prefix,
    char *name, char *code, char *message);

ngx_int_t ngx_kanban_jw_init(ngx_kanban_jw_t *jw, ngx_pool_t *pool,
    size_t size);
void ngx_kanban_jw_open(ngx_kanban_jw_t *jw, u_char c);
void ngx_kanban_jw_close(ngx_kanban_jw_t *jw, u_char c);
void ngx_kanban_jw_key(ngx_kanban_jw_t *jw, char *key);
void ngx_kanban_jw_string(ngx_kanban_jw_t *jw, ngx_str_t *s);
void ngx_kanban_jw_cstring(ngx_kanban_jw_t *jw, char *s);
void ngx_kanban_jw_int(ngx_kanban_jw_t *jw, ngx_int_t n);
void ngx_kanban_jw_raw(ngx_kanban_jw_t *jw, ngx_str_t *s);
ngx_int_t ngx_kanban_jw_result(ngx_kanban_jw_t *jw, ngx_str_t *out);
void ngx_kanban_json_escape_into(ngx_kanban_jw_t *jw, u_char *p, size_t n);


#endif /* _NGX_KANBAN_JSON_H_INCLUDED_ */
