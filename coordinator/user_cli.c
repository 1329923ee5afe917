/* user_cli.c — `gprof-coordinator user ...`: people and their API tokens, from the command line
 * of the coordinator's host (reads the same --config / --state-dir as the server). */
#include "coordinator/user_cli.h"

#include <errno.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void fmt_time(int64_t t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!t || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm)))
        snprintf(buf, n, "-");
}

/* "cli:<login>" for the audit log */
static void cli_who(char *buf, size_t n)
{
    struct passwd pw, *res = NULL;
    char tmp[1024];
    if (getpwuid_r(getuid(), &pw, tmp, sizeof(tmp), &res) == 0 && res)
        snprintf(buf, n, "cli:%s", res->pw_name);
    else
        snprintf(buf, n, "cli:uid%u", (unsigned)getuid());
}

static void audit(struct meta_db *db, const char *action, const char *target, int ok,
                  const char *detail)
{
    char who[128];
    cli_who(who, sizeof(who));
    struct meta_audit a = {.who = who,
                           .address = "local",
                           .action = (char *)action,
                           .target = (char *)target,
                           .result = ok ? "ok" : "failed",
                           .detail = (char *)detail};
    struct gp_err err = {0};
    if (meta_audit_append(db, &a, &err) != 0)
        fprintf(stderr, "gprof-coordinator: warning: not in the audit log: %s\n", err.msg);
}

/* One line from in, without its newline; -1 on EOF or when too long. */
static int read_password(FILE *in, char *buf, size_t n)
{
    if (isatty(fileno(in)))
        fprintf(stderr, "password (one line): ");
    if (!fgets(buf, (int)n, in))
        return -1;
    size_t l = strlen(buf);
    if (l && buf[l - 1] == '\n')
        buf[--l] = '\0';
    else if (l == n - 1)
        return -1;
    if (l && buf[l - 1] == '\r')
        buf[--l] = '\0';
    return l ? 0 : -1;
}

static int user_row(const struct meta_user *u, void *ctx)
{
    (void)ctx;
    char c[32];
    fmt_time(u->created_at, c, sizeof(c));
    printf("%-24s %-9s %-21s %s\n", u->name, meta_role_name(u->role), c,
           u->services && *u->services ? u->services : "*");
    return 0;
}

static int token_row(const struct meta_token *t, void *ctx)
{
    (void)ctx;
    char c[32], r[32], l[32];
    fmt_time(t->created_at, c, sizeof(c));
    fmt_time(t->revoked_at, r, sizeof(r));
    fmt_time(t->last_used, l, sizeof(l));
    printf("%-6lld %-24s %-10s %-21s %-21s %s\n", (long long)t->id, t->service, t->prefix, c, l, r);
    return 0;
}

static int fail(struct gp_err *err)
{
    fprintf(stderr, "gprof-coordinator: %s\n", err->msg);
    return 1;
}

int user_cli_run(struct meta_db *db, const struct user_cli_args *a, FILE *in)
{
    struct gp_err err = {0};
    const char *v = a->verb;
    bool needs_name = strcmp(v, "list") != 0 && strcmp(v, "tokens") != 0;
    if (needs_name && !a->name) {
        fprintf(stderr, "gprof-coordinator: user %s needs a %s\n", v,
                strcmp(v, "revoke-token") == 0 ? "token ID (see user tokens)" : "user NAME");
        return 2;
    }
    char pw[META_PASSWORD_MAX];
    int rc;
    if (strcmp(v, "add") == 0) {
        int role = meta_role_parse(a->role);
        if (!role) {
            fprintf(stderr, "gprof-coordinator: user add needs --role viewer|operator|admin\n");
            return 2;
        }
        if (read_password(in, pw, sizeof(pw)) < 0) {
            fprintf(stderr, "gprof-coordinator: give the password on stdin (one non-empty "
                            "line)\n");
            return 2;
        }
        int64_t id;
        rc = meta_user_add(db, a->name, role, a->services, pw, &id, &err);
        explicit_bzero(pw, sizeof(pw));
        char detail[META_SERVICES_MAX + 32];
        snprintf(detail, sizeof(detail), "role %s, services %s", meta_role_name(role),
                 a->services && *a->services ? a->services : "*");
        audit(db, "user add", a->name, rc == 0, rc ? err.msg : detail);
        if (rc)
            return fail(&err);
        printf("user '%s' added (%s)\n", a->name, detail);
        return 0;
    }
    if (strcmp(v, "passwd") == 0) {
        if (read_password(in, pw, sizeof(pw)) < 0) {
            fprintf(stderr, "gprof-coordinator: give the new password on stdin (one non-empty "
                            "line)\n");
            return 2;
        }
        rc = meta_user_set_password(db, a->name, pw, &err);
        explicit_bzero(pw, sizeof(pw));
        audit(db, "user passwd", a->name, rc == 0, rc ? err.msg : "");
        if (rc)
            return fail(&err);
        printf("password of '%s' changed (its sessions are signed out)\n", a->name);
        return 0;
    }
    if (strcmp(v, "remove") == 0) {
        rc = meta_user_remove(db, a->name, &err);
        audit(db, "user remove", a->name, rc == 0, rc ? err.msg : "");
        if (rc)
            return fail(&err);
        printf("user '%s' removed with its tokens and sessions\n", a->name);
        return 0;
    }
    if (strcmp(v, "list") == 0) {
        printf("%-24s %-9s %-21s %s\n", "NAME", "ROLE", "CREATED", "SERVICES");
        return meta_user_list(db, user_row, NULL, &err) ? fail(&err) : 0;
    }
    if (strcmp(v, "token") == 0) {
        char tok[META_TOKEN_MAX];
        int64_t id;
        rc = meta_user_token_create(db, a->name, tok, sizeof(tok), &id, &err);
        char detail[64];
        snprintf(detail, sizeof(detail), "token %lld", (long long)id);
        audit(db, "user token", a->name, rc == 0, rc ? err.msg : detail);
        if (rc)
            return fail(&err);
        fprintf(stderr,
                "token %lld for user '%s' created; it is shown only once. Scripts and gprofctl "
                "send it as Authorization: Bearer.\n",
                (long long)id, a->name);
        printf("%s\n", tok);
        return 0;
    }
    if (strcmp(v, "tokens") == 0) {
        printf("%-6s %-24s %-10s %-21s %-21s %s\n", "ID", "USER", "PREFIX", "CREATED", "LAST USED",
               "REVOKED");
        return meta_user_token_list(db, a->name, token_row, NULL, &err) ? fail(&err) : 0;
    }
    if (strcmp(v, "revoke-token") == 0) {
        char *end = NULL;
        long long n = strtoll(a->name, &end, 10);
        if (*end || n <= 0) {
            fprintf(stderr, "gprof-coordinator: user revoke-token needs a token ID (see user "
                            "tokens)\n");
            return 2;
        }
        rc = meta_user_token_revoke(db, n, &err);
        char target[32];
        snprintf(target, sizeof(target), "token %lld", n);
        audit(db, "user revoke-token", target, rc == 0, rc ? err.msg : "");
        if (rc)
            return fail(&err);
        printf("user token %lld revoked\n", n);
        return 0;
    }
    fprintf(stderr,
            "gprof-coordinator: unknown user command '%s' (add, passwd, remove, list, token, "
            "tokens, revoke-token)\n",
            v);
    return 2;
}
