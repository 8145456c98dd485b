
/*
 * The CSV importer's reader (POST /api/v1/projects/import as text/csv):
 * its UTF-8 check, then record after record as the handler reads them.
 * The handler's static functions are reached by including its file.
 */

#include "../fuzz.h"
#include "../../modules/kanban/ngx_kanban_transfer.c"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char            *body;
    ngx_int_t          rc;
    ngx_uint_t         records;
    ngx_pool_t        *pool;
    ngx_kanban_csv_t   csv;

    pool = ngx_create_pool(1024, kanban_fuzz_init());
    if (pool == NULL) {
        return 0;
    }

    body = kanban_fuzz_copy(pool, data, size);
    if (body == NULL || !ngx_kanban_utf8_valid(body, size)) {
        goto done;
    }

    ngx_memzero(&csv, sizeof(ngx_kanban_csv_t));
    csv.pos = body;
    csv.end = body + size;

    for (records = 0; records <= NGX_KANBAN_IMPORT_MAX_ROWS; records++) {
        rc = ngx_kanban_csv_record(pool, &csv);

        if (rc != NGX_OK) {
            break;
        }

        /* what the reader gives must lie where it says */
        if (csv.nfields && csv.fields[csv.nfields - 1].len) {
            (void) *(volatile u_char *) &csv.fields[csv.nfields - 1]
                   .data[csv.fields[csv.nfields - 1].len - 1];
        }
    }

done:

    ngx_destroy_pool(pool);

    return 0;
}
