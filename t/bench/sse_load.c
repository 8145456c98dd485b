/*
 * The event stream's load client (make bench): holds N streams of
 * GET /api/v1/events on one epoll, writes tasks at a steady rate through a
 * few keep-alive connections, and times each delivery from the moment its
 * write was sent to the moment epoll returned the bytes that carried it.
 *
 *   sse_load -p PORT -H HOST -t TOKEN -P PROJECT -n SUBS -r WRITES/S
 *            -d SECONDS [-w WRITERS] [-m PID,PID] [-C CHANNEL] [-T FILE]
 *
 * -C: the writes are chat messages to that channel ("body": "b N"), not
 * tasks (t/bench/chat.pl); -T: a file of access tokens, one a line, the
 * streams taking them in turn (each stream a person of its own).
 *
 * With -m, the RSS of those processes (nginx's workers) is read before
 * the streams open and once they are all open. Prints one line of
 * key=value pairs.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CARRY       4096
#define BUCKETS     200000              /* 50 us each: up to 10 s */
#define BUCKET_US   50
#define MAX_WRITES  200000

typedef struct {
    int      fd;
    int      kind;                      /* 0 stream, 1 writer */
    int      ready;                     /* stream: 200 seen */
    int      busy;                      /* writer: a request in flight */
    size_t   len;
    char    *buf;
} conn_t;

static double     sent_at[MAX_WRITES];
static double     last_at[MAX_WRITES];
static unsigned   got[MAX_WRITES];
static uint64_t   hist[2][BUCKETS + 1];     /* writes of each half */
static uint64_t   deliveries, half_deliveries[2], max_us;
static long       split = MAX_WRITES;
static int        complaints, closed_later;

static const char  *host, *token, *project, *channel;
static char       **stream_tokens;
static int          nstream_tokens;
static int          port;


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int
connect_to(void)
{
    int                 fd, one = 1;
    struct sockaddr_in  sa;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -1;
    }

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0
        && errno != EINPROGRESS)
    {
        close(fd);
        return -1;
    }

    return fd;
}


static void
send_all(int fd, const char *p, size_t n)
{
    ssize_t  k;

    while (n) {
        k = write(fd, p, n);
        if (k < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            return;
        }
        p += k;
        n -= k;
    }
}


static long
rss_kb(const char *pids)
{
    char   path[64], line[256], *p, *end;
    long   total = 0, kb;
    FILE  *f;

    for (p = (char *) pids; *p; p = end) {
        long pid = strtol(p, &end, 10);
        if (end == p) {
            break;
        }
        if (*end == ',') {
            end++;
        }
        snprintf(path, sizeof(path), "/proc/%ld/status", pid);
        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        while (fgets(line, sizeof(line), f)) {
            if (sscanf(line, "VmRSS: %ld", &kb) == 1) {
                total += kb;
            }
        }
        fclose(f);
    }

    return total;
}


/* the events in what a stream read: "data: {...\"title\":\"b N\"..." */
static void
stream_data(conn_t *c, double t)
{
    char      *p, *end, *line, *nl, *tt;
    long       seq;
    double     lat;
    uint64_t   us;

    p = c->buf;
    end = c->buf + c->len;

    if (!c->ready) {
        nl = memmem(p, end - p, "\r\n\r\n", 4);
        if (nl == NULL) {
            return;
        }
        if (strncmp(p, "HTTP/1.1 200", 12) != 0) {
            if (++complaints <= 3) {
                fprintf(stderr, "stream refused: %.40s\n", p);
            }
            c->ready = -1;
            c->len = 0;
            return;
        }
        c->ready = 1;
        p = nl + 4;
    }

    for (line = p; line < end; line = nl + 1) {
        nl = memchr(line, '\n', end - line);
        if (nl == NULL) {
            break;
        }

        if (nl - line < 6 || memcmp(line, "data: ", 6) != 0) {
            continue;
        }

        if (channel) {
            tt = memmem(line, nl - line, "\"body\": \"b ", 11);
            if (tt == NULL) {
                tt = memmem(line, nl - line, "\"body\":\"b ", 10);
                if (tt == NULL) {
                    continue;
                }
                tt += 10;
            } else {
                tt += 11;
            }

        } else {
            tt = memmem(line, nl - line, "\"title\": \"b ", 12);
            if (tt == NULL) {
                tt = memmem(line, nl - line, "\"title\":\"b ", 11);
                if (tt == NULL) {
                    continue;
                }
                tt += 11;
            } else {
                tt += 12;
            }
        }

        seq = strtol(tt, NULL, 10);
        if (seq < 0 || seq >= MAX_WRITES || sent_at[seq] == 0) {
            continue;
        }

        lat = t - sent_at[seq];
        us = lat > 0 ? (uint64_t) (lat * 1e6) : 0;
        hist[seq >= split][us / BUCKET_US < BUCKETS ? us / BUCKET_US
                                                    : BUCKETS]++;
        half_deliveries[seq >= split]++;
        if (us > max_us) {
            max_us = us;
        }
        deliveries++;
        got[seq]++;
        if (lat > last_at[seq]) {
            last_at[seq] = lat;
        }
    }

    /* keep the line not yet complete */
    if (line < end) {
        memmove(c->buf, line, end - line);
        c->len = end - line;
    } else {
        c->len = 0;
    }

    if (c->len >= CARRY - 1) {
        c->len = 0;
    }
}


static double
pct(int h, double p)
{
    uint64_t  n, want;
    int       i;

    want = (uint64_t) (p * half_deliveries[h]);
    if (want == 0) {
        want = 1;
    }

    for (n = 0, i = 0; i <= BUCKETS; i++) {
        n += hist[h][i];
        if (n >= want) {
            return (i + 0.5) * BUCKET_US / 1000.0;
        }
    }

    return max_us / 1000.0;
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


int
main(int argc, char **argv)
{
    int                  opt, ep, nsubs = 1000, nwriters = 4, i, n, open_subs;
    int                  ready, refused;
    long                 rss0 = 0, rss1 = 0;
    double               rate = 100, duration = 10, t, start, next, interval;
    long                 seq, done_writes, behind;
    char                 req[2048], body[256], *pids = NULL;
    conn_t              *conns, *c = NULL;
    struct rlimit        rl;
    struct epoll_event   ev, evs[4096];

    while ((opt = getopt(argc, argv, "p:H:t:P:n:r:d:w:m:C:T:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'H': host = optarg; break;
        case 't': token = optarg; break;
        case 'P': project = optarg; break;
        case 'n': nsubs = atoi(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': nwriters = atoi(optarg); break;
        case 'm': pids = optarg; break;
        case 'C': channel = optarg; break;
        case 'T': {
            FILE  *f = fopen(optarg, "r");
            char   line[4096];
            if (f == NULL) {
                perror(optarg);
                return 2;
            }
            while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\r\n")] = '\0';
                if (line[0] == '\0') {
                    continue;
                }
                stream_tokens = realloc(stream_tokens,
                                        (nstream_tokens + 1) * sizeof(char *));
                stream_tokens[nstream_tokens++] = strdup(line);
            }
            fclose(f);
            break;
        }
        default:
            fprintf(stderr, "usage: see the comment at the top\n");
            return 2;
        }
    }

    if (!port || !host || !token || !project) {
        fprintf(stderr, "sse_load: -p, -H, -t and -P are needed\n");
        return 2;
    }

    rl.rlim_cur = rl.rlim_max = nsubs + nwriters + 64;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    conns = calloc(nsubs + nwriters, sizeof(conn_t));
    ep = epoll_create1(0);

    if (pids) {
        rss0 = rss_kb(pids);
    }

    /* the streams, opened in steps so that the listen queue keeps up */
    snprintf(req, sizeof(req),
             "GET /api/v1/events HTTP/1.0\r\nHost: %s\r\n"
             "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
             host, token);

    open_subs = 0;
    ready = 0;
    refused = 0;
    start = now();

    while ((ready + refused < nsubs) && now() - start < 120) {
        for (n = 0; open_subs < nsubs && n < 200; n++, open_subs++) {
            c = &conns[open_subs];
            c->fd = connect_to();
            if (c->fd < 0) {
                if (++complaints <= 3) {
                    fprintf(stderr, "connect: %s\n", strerror(errno));
                }
                refused++;
                continue;
            }
            c->buf = malloc(CARRY);
            ev.events = EPOLLOUT | EPOLLIN;
            ev.data.ptr = c;
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
        }

        n = epoll_wait(ep, evs, 4096, 20);
        t = now();

        for (i = 0; i < n; i++) {
            c = evs[i].data.ptr;

            if (evs[i].events & EPOLLOUT) {
                if (nstream_tokens) {
                    char  own[2048];
                    snprintf(own, sizeof(own),
                        "GET /api/v1/events HTTP/1.0\r\nHost: %s\r\n"
                        "Authorization: Bearer %s\r\n"
                        "Accept: text/event-stream\r\n\r\n", host,
                        stream_tokens[(c - conns) % nstream_tokens]);
                    send_all(c->fd, own, strlen(own));
                } else {
                    send_all(c->fd, req, strlen(req));
                }
                ev.events = EPOLLIN;
                ev.data.ptr = c;
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            }

            if (evs[i].events & EPOLLIN) {
                ssize_t k = read(c->fd, c->buf + c->len, CARRY - 1 - c->len);
                if (k > 0) {
                    int was = c->ready;
                    c->len += k;
                    stream_data(c, t);
                    if (!was && c->ready == 1) {
                        ready++;
                    } else if (!was && c->ready == -1) {
                        refused++;
                    }
                } else if (k == 0) {
                    refused++;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    close(c->fd);
                }
            }
        }
    }

    fprintf(stderr, "sse_load: %d streams open in %.1f s\n", ready,
            now() - start);

    /* let the streams settle (their first queries) before memory is read */
    start = now();
    while (now() - start < 2) {
        n = epoll_wait(ep, evs, 4096, 50);
        t = now();
        for (i = 0; i < n; i++) {
            c = evs[i].data.ptr;
            ssize_t k = read(c->fd, c->buf + c->len, CARRY - 1 - c->len);
            if (k > 0) {
                c->len += k;
                stream_data(c, t);
            }
        }
    }

    if (pids) {
        rss1 = rss_kb(pids);
    }

    /* the writers */
    for (i = 0; i < nwriters; i++) {
        c = &conns[nsubs + i];
        c->kind = 1;
        c->fd = connect_to();
        c->buf = malloc(CARRY);
        ev.events = EPOLLIN;
        ev.data.ptr = c;
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    usleep(100000);

    /* the first half of the writes alone; the second beside whatever the
     * caller runs then (bench: wrk) */
    split = (long) (rate * duration / 2);
    interval = 1.0 / rate;
    seq = 0;
    done_writes = 0;
    behind = 0;
    start = now();
    next = start;

    while (1) {
        t = now();

        if (t - start < duration) {
            while (next <= t && seq < MAX_WRITES) {
                for (i = 0; i < nwriters; i++) {
                    c = &conns[nsubs + (seq + i) % nwriters];
                    if (!c->busy) {
                        break;
                    }
                }
                if (i == nwriters) {
                    behind++;
                    break;
                }
                n = snprintf(body, sizeof(body),
                             channel ? "{\"body\":\"b %ld\"}"
                                     : "{\"title\":\"b %ld\"}", seq);
                int m = snprintf(req, sizeof(req),
                    "POST /api/v1/%s/%s/%s HTTP/1.1\r\nHost: %s\r\n"
                    "Authorization: Bearer %s\r\n"
                    "Content-Type: application/json\r\n"
                    "Content-Length: %d\r\n\r\n%s",
                    channel ? "chat/channels" : "projects",
                    channel ? channel : project,
                    channel ? "messages" : "tasks", host, token, n, body);
                sent_at[seq] = now();
                send_all(c->fd, req, m);
                c->busy = 1;
                seq++;
                next += interval;
            }

        } else if (t - start > duration + 3) {
            break;
        }

        n = epoll_wait(ep, evs, 4096, 1);
        t = now();

        for (i = 0; i < n; i++) {
            c = evs[i].data.ptr;
            ssize_t k = read(c->fd, c->buf + c->len, CARRY - 1 - c->len);
            if (k == 0 || (k < 0 && errno != EAGAIN)) {
                if (c->kind == 0) {
                    closed_later++;
                }
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                continue;
            }
            if (k < 0) {
                continue;
            }
            c->len += k;

            if (c->kind == 0) {
                stream_data(c, t);
                continue;
            }


            /* a writer's answer: its head and Content-Length bytes */
            c->buf[c->len] = '\0';
            char *he = strstr(c->buf, "\r\n\r\n");
            char *cl = strcasestr(c->buf, "Content-Length:");
            if (he && cl) {
                size_t want = (he + 4 - c->buf) + atol(cl + 15);
                if (c->len >= want) {
                    if (strncmp(c->buf, "HTTP/1.1 201", 12) == 0) {
                        done_writes++;
                    }
                    memmove(c->buf, c->buf + want, c->len - want);
                    c->len -= want;
                    c->busy = 0;
                }
            }
        }
    }

    {
        double   *last = malloc(sizeof(double) * (seq ? seq : 1));
        long      complete = 0, k;

        for (k = 0; k < seq; k++) {
            last[k] = last_at[k];
            if (got[k] >= (unsigned) ready) {
                complete++;
            }
        }
        qsort(last, seq, sizeof(double), cmp_double);

        printf("streams=%d refused=%d writes=%ld written=%ld behind=%ld "
               "rate=%.0f deliveries=%llu expected=%llu complete=%ld "
               "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f p50b_ms=%.2f "
               "p99b_ms=%.2f last_p50_ms=%.2f "
               "last_p99_ms=%.2f rss_before_kb=%ld rss_after_kb=%ld "
               "kb_per_stream=%.2f closed=%d\n",
               ready, refused, seq, done_writes, behind,
               seq / duration, (unsigned long long) deliveries,
               (unsigned long long) seq * ready, complete,
               pct(0, 0.50), pct(0, 0.99), max_us / 1000.0,
               pct(1, 0.50), pct(1, 0.99),
               seq ? last[seq / 2] * 1000 : 0,
               seq ? last[(long) (seq * 0.99)] * 1000 : 0,
               rss0, rss1, ready ? (double) (rss1 - rss0) / ready : 0,
               closed_later);
    }

    /* reset, not closed: 10,000 sockets in TIME_WAIT would leave the next
     * run no ports */
    for (i = 0; i < nsubs + nwriters; i++) {
        struct linger  lg = { 1, 0 };

        if (conns[i].fd > 0) {
            setsockopt(conns[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            close(conns[i].fd);
        }
    }

    return 0;
}
