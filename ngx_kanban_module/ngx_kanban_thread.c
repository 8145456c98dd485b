
/*
 * Jobs for nginx's thread pool (kanban_thread_pool): CPU-heavy work such
 * as password hashing runs in a thread, its result comes back on the
 * worker's event loop. A job lives on the heap, not in the request pool,
 * so a client that leaves while its job runs frees nothing the thread
 * still uses; the job is freed when it is done.
 *
 * The pool's threads are niced, so that hashing never takes a core from
 * the event loops. A job a person waits on at sign-up (job->prompt) goes
 * to kanban_thread_pool_prompt instead, whose threads are not niced:
 * under load a niced 38 ms hash waited about 850 ms for a core. Its
 * threads bound what such jobs can take (one thread: one core at most),
 * and sign-ups have their rate limit. A thread never un-nices: that
 * needs a privilege the workers do not have.
 */

#include "ngx_kanban.h"
#include <sys/resource.h>
#include <sys/syscall.h>


/* how much less urgent a pool thread is than the workers it serves */
#define NGX_KANBAN_JOB_NICE  10


static void ngx_kanban_job_run(void *data, ngx_log_t *log);
static void ngx_kanban_job_finished(ngx_event_t *ev);
static void ngx_kanban_job_cleanup(void *data);


typedef struct {
    ngx_thread_task_t          task;
    ngx_kanban_job_t           job;
    ngx_http_cleanup_t        *cleanup;
} ngx_kanban_job_task_t;


ngx_kanban_job_t *
ngx_kanban_job_create(ngx_http_request_t *r, size_t size)
{
    ngx_http_cleanup_t     *cln;
    ngx_kanban_job_task_t  *t;

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NULL;
    }

    t = ngx_calloc(sizeof(ngx_kanban_job_task_t) + size,
                   r->connection->log);
    if (t == NULL) {
        return NULL;
    }

    t->job.request = r;
    t->job.data = size ? (void *) (t + 1) : NULL;
    t->cleanup = cln;

    t->task.ctx = t;
    t->task.handler = ngx_kanban_job_run;
    t->task.event.data = t;
    t->task.event.handler = ngx_kanban_job_finished;
    t->task.event.log = ngx_cycle->log;

    cln->handler = ngx_kanban_job_cleanup;
    cln->data = t;

    return &t->job;
}


ngx_int_t
ngx_kanban_job_post(ngx_http_request_t *r, ngx_kanban_job_t *job)
{
    ngx_kanban_job_task_t   *t;
    ngx_kanban_main_conf_t  *kmcf;

    t = (ngx_kanban_job_task_t *)
            ((u_char *) job - offsetof(ngx_kanban_job_task_t, job));

    kmcf = ngx_kanban_main_conf();

    /* a full prompt pool: the job waits its turn with the others */
    if (job->prompt && kmcf->thread_pool_prompt
        && ngx_thread_task_post(kmcf->thread_pool_prompt, &t->task)
           == NGX_OK)
    {
        return NGX_OK;
    }

    job->prompt = 0;

    if (ngx_thread_task_post(kmcf->thread_pool, &t->task) != NGX_OK) {
        t->cleanup->handler = NULL;
        ngx_free(t);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_kanban_job_run(void *data, ngx_log_t *log)
{
    ngx_kanban_job_task_t  *t = data;

    static __thread ngx_uint_t  niced;

    /* a hash must never take a core from the event loops: the kernel
     * runs the workers first when both want the CPU */
    if (!niced && !t->job.prompt) {
        niced = 1;
        (void) setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid),
                           NGX_KANBAN_JOB_NICE);
    }

    t->job.work(&t->job);
}


static void
ngx_kanban_job_finished(ngx_event_t *ev)
{
    ngx_connection_t       *c;
    ngx_http_request_t     *r;
    ngx_kanban_job_task_t  *t;

    t = ev->data;
    r = t->job.request;

    if (r != NULL) {
        t->cleanup->handler = NULL;
        c = r->connection;

        t->job.done(r, &t->job);

        ngx_http_run_posted_requests(c);
    }

    ngx_free(t);
}


static void
ngx_kanban_job_cleanup(void *data)
{
    ngx_kanban_job_task_t  *t = data;

    /* the thread finishes the job; nobody is told */
    t->job.request = NULL;
}
