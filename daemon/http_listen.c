/* http_listen: the local API's listening sockets (the Unix socket, optionally a loopback TCP port),
 * accepting connections under max_connections, and the server's start and stop.
 *
 * A connection over max_connections is accepted only to be answered 503 and closed at once: left in
 * the listen queue it would hold the queue full. Stopping closes the listeners and the idle
 * connections now; busy ones finish their response, or are closed after DRAIN_TIMEOUT_MS. The server
 * frees itself once its last handle (listener, connection or drain timer) has closed. What happens on
 * a connection is http.c's job; both share http_conn.h.
 */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <glib.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http_conn.h"
#include "log.h"
#include "metrics.h"

/* A client that never reads its response must not keep a stopping daemon alive. */
#define DRAIN_TIMEOUT_MS 10000

/* The statuses the server answers by itself (rk_http_count_rejection); each series exists from
 * start-up. */
static const int http_rejection_statuses[] = {400, 408, 413, 414, 431, 500, 503};

void rk_http_server_maybe_free(rk_http_server *s)
{
    if (s->stopping && s->open_handles == 0) {
        free(s->socket_path);
        free(s);
    }
}

static void on_drain_timer_closed(uv_handle_t *h)
{
    rk_http_server *s = h->data;
    s->open_handles--;
    rk_http_server_maybe_free(s);
}

void rk_http_server_stop_draining(rk_http_server *s)
{
    if (s->draining) {
        s->draining = false;
        uv_close((uv_handle_t *)&s->drain, on_drain_timer_closed);
    }
}

/* Over max_connections: a 503 written only if the socket takes it at once, then closed. */
static void refuse_connection(http_conn *c)
{
    rk_http_server *s = c->srv;
    rk_http_count_rejection(s, 503);
    uint64_t now = uv_now(s->loop);
    if (!s->refused_logged_ms || now - s->refused_logged_ms >= 60000) { /* a flood logs once a minute */
        rk_warn("http", "%u API connections are open (api.max_connections); refusing further ones", s->max_connections);
        s->refused_logged_ms = now ? now : 1;
    }
    static const char body[] = "{\"error\":{\"code\":\"too_many_connections\",\"message\":\"too many "
                               "connections are open\",\"field\":null}}\n";
    rk_buf out;
    rk_buf_init(&out);
    if (rk_http_build_response(&out, 503, "application/json", NULL, body, sizeof body - 1, false, c->tcp) == 0) {
        uv_buf_t b = uv_buf_init(out.data, (unsigned)out.len);
        (void)uv_try_write(&c->h.stream, &b, 1);
    }
    rk_buf_free(&out);
    rk_http_conn_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    rk_http_server *s = server->data;
    if (status < 0 || s->stopping)
        return;
    http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->srv = s;
    bool over_cap = s->conn_count >= s->max_connections;
    bool is_pipe = server == (uv_stream_t *)&s->pipe;
    int rc = is_pipe ? uv_pipe_init(s->loop, &c->h.pipe, 0) : uv_tcp_init(s->loop, &c->h.tcp);
    if (rc != 0) {
        free(c);
        return;
    }
    c->h.stream.data = c;
    uv_timer_init(s->loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 2;
    s->open_handles += 2;
    LIST_INSERT_HEAD(&s->conns, c, link);
    s->conn_count++;
    if (uv_accept(server, &c->h.stream) != 0) {
        rk_http_conn_close(c);
        return;
    }

    if (is_pipe) {
        uv_os_fd_t fd;
        struct ucred cred;
        socklen_t cl = sizeof cred;
        if (uv_fileno((uv_handle_t *)&c->h.pipe, &fd) == 0 &&
            getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
            c->has_cred = true;
            c->uid = cred.uid;
            c->gid = cred.gid;
            c->pid = cred.pid;
        }
    } else {
        c->tcp = true;
        uv_tcp_nodelay(&c->h.tcp, 1);
    }
    if (over_cap) {
        /* accepted only to be told so: left in the listen queue, it would hold the queue full */
        refuse_connection(c);
        return;
    }
    rk_http_conn_begin(c);
}

/* Creates the directory that will hold the socket file (0750: the group may reach the socket). */
static int mkdir_parents(const char *path)
{
    gchar *dir = g_path_get_dirname(path);
    int rc = g_mkdir_with_parents(dir, 0750);
    g_free(dir);
    return rc;
}

/* A socket file left by a crashed daemon is replaced; one that still answers is someone else's. */
static int clear_stale(const char *path, rk_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : rk_fail(err, "socket", "api.socket", "%s: %s", path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return rk_fail(err, "socket", "api.socket", "%s exists and is not a socket", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return rk_fail(err, "socket", "api.socket", "socket: %s", strerror(errno));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int live = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    if (live)
        return rk_fail(err, "socket", "api.socket", "%s: another process is serving this socket", path);
    if (unlink(path) != 0)
        return rk_fail(err, "socket", "api.socket", "cannot remove stale socket %s: %s", path, strerror(errno));
    rk_info("http", "removed stale socket %s", path);
    return 0;
}

static void on_listener_closed(uv_handle_t *h)
{
    rk_http_server *s = h->data;
    s->open_handles--;
    rk_http_server_maybe_free(s);
}

static int listen_tcp(rk_http_server *s, const char *spec, rk_error *err)
{
    const char *colon = strrchr(spec, ':');
    char host[64];
    size_t hl = colon ? (size_t)(colon - spec) : 0;
    if (!colon || hl >= sizeof host)
        return rk_fail(err, "config", "api.tcp", "bad address %s", spec);
    memcpy(host, spec, hl);
    host[hl] = '\0';
    int port = atoi(colon + 1);
    struct sockaddr_storage ss;
    int rc;
    if (host[0] == '[') {
        host[hl - 1] = '\0';
        rc = uv_ip6_addr(host + 1, port, (struct sockaddr_in6 *)&ss);
    } else {
        rc = uv_ip4_addr(strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, port, (struct sockaddr_in *)&ss);
    }
    if (rc != 0)
        return rk_fail(err, "config", "api.tcp", "bad address %s", spec);
    if ((rc = uv_tcp_init(s->loop, &s->tcp)) != 0)
        return rk_fail(err, "socket", "api.tcp", "%s", uv_strerror(rc));
    s->tcp.data = s;
    s->has_tcp = true;
    s->open_handles++;
    if ((rc = uv_tcp_bind(&s->tcp, (struct sockaddr *)&ss, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&s->tcp, 128, on_connection)) != 0)
        return rk_fail(err, "socket", "api.tcp", "cannot listen on %s: %s", spec, uv_strerror(rc));
    return 0;
}

int rk_http_start(uv_loop_t *loop, const rk_http_options *o, rk_http_handler h, void *ctx, rk_http_server **out,
                  rk_error *err)
{
    rk_http_server *s = calloc(1, sizeof *s);
    if (!s || !(s->socket_path = strdup(o->socket_path))) {
        free(s);
        return rk_fail(err, "no_memory", "", "out of memory");
    }
    s->loop = loop;
    LIST_INIT(&s->conns);
    TAILQ_INIT(&s->turns);
    s->handler = h;
    s->ctx = ctx;
    s->max_body = o->max_body;
    s->max_connections = o->max_connections ? o->max_connections : 256;
    if ((s->metrics = o->metrics)) {
        rk_metrics_describe(s->metrics, "renkei_http_rejections_total", "counter",
                            "Requests and connections the HTTP server refused before routing, by status code.");
        for (size_t i = 0; i < sizeof http_rejection_statuses / sizeof http_rejection_statuses[0]; i++) {
            char v[8];
            snprintf(v, sizeof v, "%d", http_rejection_statuses[i]);
            rk_metrics_touch(s->metrics, "renkei_http_rejections_total", "code", v);
        }
    }
    gid_t gid = (gid_t)-1;
    if (o->group) {
        struct group gr, *res = NULL;
        char buf[4096];
        if (getgrnam_r(o->group, &gr, buf, sizeof buf, &res) != 0 || !res) {
            free(s->socket_path);
            free(s);
            return rk_fail(err, "config", "api.group", "unknown group \"%s\"", o->group);
        }
        gid = gr.gr_gid;
    }
    int rc;
    if (mkdir_parents(o->socket_path) != 0) {
        rk_fail(err, "socket", "api.socket", "cannot create the directory of %s: %s", o->socket_path, strerror(errno));
        goto fail;
    }
    if (clear_stale(o->socket_path, err) != 0)
        goto fail;
    if ((rc = uv_pipe_init(loop, &s->pipe, 0)) != 0) {
        rk_fail(err, "socket", "api.socket", "%s", uv_strerror(rc));
        goto fail;
    }
    s->pipe.data = s;
    s->has_pipe = true;
    s->open_handles++;
    if ((rc = uv_pipe_bind(&s->pipe, o->socket_path)) != 0) {
        rk_fail(err, "socket", "api.socket", "cannot bind %s: %s", o->socket_path, uv_strerror(rc));
        goto fail;
    }
    /* before listen, so nobody connects through a socket with the wrong mode */
    if (chmod(o->socket_path, 0660) != 0 || (gid != (gid_t)-1 && chown(o->socket_path, (uid_t)-1, gid) != 0)) {
        rk_fail(err, "socket", "api.socket", "cannot set mode/group of %s: %s", o->socket_path, strerror(errno));
        goto fail;
    }
    if ((rc = uv_listen((uv_stream_t *)&s->pipe, 128, on_connection)) != 0) {
        rk_fail(err, "socket", "api.socket", "cannot listen on %s: %s", o->socket_path, uv_strerror(rc));
        goto fail;
    }
    if (o->tcp && listen_tcp(s, o->tcp, err) != 0)
        goto fail;
    *out = s;
    return 0;
fail:
    rk_http_stop(s);
    return -1;
}

static void on_drain_timeout(uv_timer_t *t)
{
    rk_http_server *s = t->data;
    rk_warn("http", "%u connections still busy %d s after shutdown began; closing them", s->conn_count,
            DRAIN_TIMEOUT_MS / 1000);
    while (!LIST_EMPTY(&s->conns))
        rk_http_conn_close(LIST_FIRST(&s->conns)); /* the last one stops draining */
}

void rk_http_stop(rk_http_server *s)
{
    if (!s || s->stopping)
        return;
    s->stopping = true;
    if (s->has_pipe) {
        uv_close((uv_handle_t *)&s->pipe, on_listener_closed);
        unlink(s->socket_path);
    }
    if (s->has_tcp)
        uv_close((uv_handle_t *)&s->tcp, on_listener_closed);
    for (http_conn *c = LIST_FIRST(&s->conns), *next; c; c = next) {
        next = LIST_NEXT(c, link); /* closing c unlinks it */
        if (!c->inflight && c->pending_writes == 0)
            rk_http_conn_close(c);
        else
            c->close_after_write = true; /* the in-flight response goes out, then the connection closes */
    }
    if (!LIST_EMPTY(&s->conns) && uv_timer_init(s->loop, &s->drain) == 0) {
        s->drain.data = s;
        s->draining = true;
        s->open_handles++;
        uv_timer_start(&s->drain, on_drain_timeout, DRAIN_TIMEOUT_MS, 0);
    }
    rk_http_server_maybe_free(s);
}
