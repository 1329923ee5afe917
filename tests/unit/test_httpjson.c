/* test_httpjson.c — a hostile coordinator cannot exhaust the root agent (issue 10 #6): a tiny
 * HTTP server on 127.0.0.1 answers the agent's heartbeat with a 60 MB reply, announced by
 * Content-Length or streamed without one; gp_hb_send refuses it with a clear message as soon as
 * the 1 MiB control-reply cap is passed, the server could send only a little of it, and the
 * agent's memory stays small. A normal reply with a command still works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/heartbeat.h"
#include "agent/httpjson.h"

#define HUGE_REPLY ((size_t)60 << 20)

enum mode { SMALL, HUGE_LENGTH, HUGE_STREAM };

struct server {
    int lfd;
    int port;
    enum mode mode;
    size_t sent; /* body bytes the client accepted before it hung up */
    pthread_t th;
};

static void *serve(void *arg)
{
    struct server *s = arg;
    int c = accept(s->lfd, NULL, NULL);
    if (c < 0)
        return NULL;
    char req[65536];
    size_t got = 0;
    while (got < sizeof(req) - 1) { /* headers, then whatever body arrives with them */
        ssize_t r = recv(c, req + got, sizeof(req) - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    char head[256];
    if (s->mode == SMALL) {
        const char *body = "{\"success\":true,\"command_id\":\"c1\",\"profiling_command\":"
                           "{\"command_type\":\"start\"}}";
        snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n%s",
                 strlen(body), body);
        send(c, head, strlen(head), MSG_NOSIGNAL);
    } else {
        if (s->mode == HUGE_LENGTH)
            snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                     "%zu\r\nConnection: close\r\n\r\n",
                     HUGE_REPLY);
        else
            snprintf(head, sizeof(head),
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Connection: close\r\n\r\n");
        send(c, head, strlen(head), MSG_NOSIGNAL);
        static char chunk[65536];
        for (size_t i = 0; i < sizeof(chunk); i += 2)
            memcpy(chunk + i, "1,", 2);
        chunk[0] = '[';
        while (s->sent < HUGE_REPLY) {
            ssize_t w = send(c, chunk, sizeof(chunk), MSG_NOSIGNAL);
            if (w <= 0)
                break; /* the client hung up */
            s->sent += (size_t)w;
        }
    }
    close(c);
    return NULL;
}

static void server_start(struct server *s, enum mode mode)
{
    memset(s, 0, sizeof(*s));
    s->mode = mode;
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int heartbeat(struct server *s, char **cmd_id, json_object **pc, struct gp_err *err)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s->port);
    struct gp_hb_client c = {.base_url = url, .service = "svc", .hostname = "h", .timeout_s = 20};
    json_object *body = json_object_new_object();
    json_object_object_add(body, "hostname", json_object_new_string("h"));
    int rc = gp_hb_send(&c, body, cmd_id, pc, err);
    json_object_put(body);
    return rc;
}

static void huge(enum mode mode)
{
    struct server s;
    server_start(&s, mode);
    long before = max_rss_kb();
    char *id = NULL;
    json_object *pc = NULL;
    struct gp_err err = {0};
    int rc = heartbeat(&s, &id, &pc, &err);
    server_stop(&s);
    long grown = max_rss_kb() - before;
    printf("# %s: rc %d, %zu of %zu bytes sent, max RSS +%ld kB: %s\n",
           mode == HUGE_LENGTH ? "Content-Length" : "streamed", rc, s.sent, HUGE_REPLY, grown,
           err.msg);
    assert_int_equal(rc, -EMSGSIZE);
    assert_null(id);
    assert_null(pc);
    assert_non_null(strstr(err.msg, "larger than the 1048576 bytes allowed"));
    assert_true(s.sent < HUGE_REPLY / 4); /* the transfer was cut short, not drained */
    assert_true(grown < 16 * 1024);       /* kB: the 1 MiB cap plus slack, never the 60 MB */
}

static void test_huge_reply_with_length(void **state)
{
    (void)state;
    huge(HUGE_LENGTH);
}

static void test_huge_reply_streamed(void **state)
{
    (void)state;
    huge(HUGE_STREAM);
}

static void test_normal_reply(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, SMALL);
    char *id = NULL;
    json_object *pc = NULL;
    struct gp_err err = {0};
    int rc = heartbeat(&s, &id, &pc, &err);
    server_stop(&s);
    assert_int_equal(rc, 0);
    assert_string_equal(id, "c1");
    assert_non_null(pc);
    free(id);
    json_object_put(pc);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_normal_reply),
            cmocka_unit_test(test_huge_reply_with_length),
            cmocka_unit_test(test_huge_reply_streamed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
