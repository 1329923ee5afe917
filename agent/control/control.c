/* control.c — unix stream socket, JSON lines. */
#include "agent/control/control.h"
#include "common/log.h"
#include "common/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct gp_control {
    char path[108];
    int fd;
    int wake[2];
    pthread_t thr;
    gp_control_handler h;
    void *ctx;
};

static int make_addr(const char *path, struct sockaddr_un *a, struct gp_err *err)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a->sun_path))
        return gp_err_set(err, -ENAMETOOLONG, "control socket path %s is too long (max %zu)", path,
                          sizeof(a->sun_path) - 1);
    memcpy(a->sun_path, path, strlen(path) + 1);
    return 0;
}

/* Reads until '\n' (or EOF) with a deadline. */
static int read_line(int fd, struct strbuf *sb, int timeout_ms)
{
    char buf[4096];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? -ETIMEDOUT : -errno;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return sb->len ? 0 : -ECONNRESET;
        sb_append(sb, buf, (size_t)n);
        if (sb->oom)
            return -ENOMEM;
        if (memchr(buf, '\n', (size_t)n))
            return 0;
        if (sb->len > GP_CONTROL_MAX_LINE)
            return -E2BIG;
    }
}

/* Not gp_write_all: send() with MSG_NOSIGNAL, so a client that hung up costs an EPIPE, not
 * the agent (SIGPIPE). */
static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static json_object *error_obj(const char *msg)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(0));
    json_object_object_add(o, "error", json_object_new_string(msg));
    return o;
}

json_object *gp_control_answer(const char *line, gp_control_handler h, void *ctx)
{
    json_object *req = json_tokener_parse(line), *resp;
    if (!req || !json_object_is_type(req, json_type_object))
        resp = error_obj("the request is not a JSON object");
    else
        resp = h(req, ctx);
    json_object_put(req);
    return resp;
}

int gp_control_parse_answer(const char *line, json_object **resp, struct gp_err *err)
{
    *resp = json_tokener_parse(line);
    if (!*resp)
        return gp_err_set(err, -EPROTO, "the agent answered something that is not JSON");
    return 0;
}

static void serve(struct gp_control *c, int fd)
{
    struct strbuf sb = STRBUF_INIT;
    json_object *resp;
    int rc = read_line(fd, &sb, 5000);
    if (rc)
        resp = error_obj(rc == -E2BIG ? "request too long" : "no request received");
    else
        resp = gp_control_answer(sb_str(&sb), c->h, c->ctx);
    if (resp) {
        size_t n;
        const char *t = json_object_to_json_string_length(resp, JSON_C_TO_STRING_PLAIN, &n);
        if (send_all(fd, t, n) == 0)
            send_all(fd, "\n", 1);
        json_object_put(resp);
    }
    sb_free(&sb);
}

static void *accept_loop(void *arg)
{
    struct gp_control *c = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN},
                              {.fd = c->wake[0], .events = POLLIN}};
        int r = poll(p, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || (p[1].revents & POLLIN))
            break;
        int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct ucred cr;
        socklen_t cl = sizeof(cr);
        /* the socket mode already keeps others out; check the peer too */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0 && cr.uid != 0 &&
            cr.uid != geteuid()) {
            json_object *e = error_obj("permission denied: the agent's control socket is for root");
            const char *t = json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN);
            send_all(fd, t, strlen(t));
            send_all(fd, "\n", 1);
            json_object_put(e);
        } else {
            serve(c, fd);
        }
        close(fd);
    }
    return NULL;
}

static int mkdir_parent(const char *path)
{
    char tmp[108];
    snprintf(tmp, sizeof(tmp), "%s", path);
    char *slash = strrchr(tmp, '/');
    if (!slash || slash == tmp)
        return 0;
    *slash = '\0';
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int gp_control_start(const char *path, gp_control_handler h, void *ctx, struct gp_control **out,
                     struct gp_err *err)
{
    struct sockaddr_un a;
    int rc = make_addr(path, &a, err);
    if (rc)
        return rc;
    if ((rc = mkdir_parent(path)))
        return gp_err_set(err, rc, "cannot create the directory of %s: %s", path, strerror(-rc));
    /* a live agent answers; a stale socket file refuses */
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0) {
        if (connect(probe, (struct sockaddr *)&a, sizeof(a)) == 0) {
            close(probe);
            return gp_err_set(err, -EADDRINUSE,
                              "another agent is already serving %s; stop it first or set "
                              "control_socket to another path",
                              path);
        }
        close(probe);
    }
    unlink(path);
    struct gp_control *c = calloc(1, sizeof(*c));
    if (!c)
        return gp_err_set(err, -ENOMEM, "out of memory");
    snprintf(c->path, sizeof(c->path), "%s", path);
    c->h = h;
    c->ctx = ctx;
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || pipe2(c->wake, O_CLOEXEC) != 0) {
        rc = gp_err_set(err, -errno, "cannot create the control socket: %s", strerror(errno));
        goto fail;
    }
    mode_t old = umask(0177); /* the socket is born 0600: no window where others can connect */
    int b = bind(c->fd, (struct sockaddr *)&a, sizeof(a));
    int be = errno;
    umask(old);
    if (b != 0) {
        rc = gp_err_set(err, -be, "cannot bind the control socket %s: %s", path, strerror(be));
        goto fail;
    }
    if (chmod(path, 0600) != 0 || listen(c->fd, 16) != 0) {
        rc = gp_err_set(err, -errno, "cannot listen on %s: %s", path, strerror(errno));
        unlink(path);
        goto fail;
    }
    if ((rc = pthread_create(&c->thr, NULL, accept_loop, c))) {
        unlink(path);
        rc = gp_err_set(err, -rc, "cannot start the control thread: %s", strerror(rc));
        goto fail;
    }
    *out = c;
    return 0;
fail:
    if (c->fd >= 0)
        close(c->fd);
    if (c->wake[0] > 0) {
        close(c->wake[0]);
        close(c->wake[1]);
    }
    free(c);
    return rc;
}

void gp_control_stop(struct gp_control *c)
{
    if (!c)
        return;
    ssize_t w = write(c->wake[1], "x", 1);
    (void)w;
    pthread_join(c->thr, NULL);
    close(c->fd);
    close(c->wake[0]);
    close(c->wake[1]);
    unlink(c->path);
    free(c);
}

int gp_control_call(const char *path, json_object *req, double timeout_s, json_object **resp,
                    struct gp_err *err)
{
    struct sockaddr_un a;
    *resp = NULL;
    int rc = make_addr(path, &a, err);
    if (rc)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return gp_err_set(err, -errno, "cannot create a socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int e = errno;
        close(fd);
        if (e == EACCES || e == EPERM)
            return gp_err_set(err, -e,
                              "permission denied on %s: the agent's control socket is for root; "
                              "run gprofctl with sudo",
                              path);
        if (e == ENOENT || e == ECONNREFUSED)
            return gp_err_set(err, -e,
                              "the agent is not running (nothing listens on %s); start it with "
                              "`systemctl start gprof-agent` or point --socket at its socket",
                              path);
        return gp_err_set(err, -e, "cannot connect to %s: %s", path, strerror(e));
    }
    const char *t = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    struct strbuf sb = STRBUF_INIT;
    if ((rc = send_all(fd, t, strlen(t))) || (rc = send_all(fd, "\n", 1))) {
        close(fd);
        return gp_err_set(err, rc, "sending to the agent failed: %s", strerror(-rc));
    }
    rc = read_line(fd, &sb, (int)(timeout_s * 1000));
    close(fd);
    if (rc) {
        sb_free(&sb);
        return gp_err_set(err, rc, "no answer from the agent on %s: %s", path, strerror(-rc));
    }
    rc = gp_control_parse_answer(sb_str(&sb), resp, err);
    sb_free(&sb);
    return rc;
}
