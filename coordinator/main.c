/* main.c — gprof-coordinator: the HTTP service (ingest, control plane, queries) and its token
 * subcommands; systemd notification and graceful shutdown on SIGTERM. */
#include "coordinator/api/api.h"
#include "coordinator/api/control_json.h"
#include "coordinator/http/ratelimit.h"
#include "coordinator/config.h"
#include "coordinator/control/plane.h"
#include "coordinator/http/fdlimit.h"
#include "coordinator/http/server.h"
#include "coordinator/store/engines.h"
#include "coordinator/store/store.h"
#include "coordinator/user_cli.h"
#include "common/fsutil.h"
#include "common/log.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gprof-coordinator [--config FILE] [--listen ADDR:PORT] [--state-dir DIR]\n"
            "                         [--set key=value ...]\n"
            "       gprof-coordinator token create --service NAME [--state-dir DIR]\n"
            "       gprof-coordinator token list [--service NAME] [--state-dir DIR]\n"
            "       gprof-coordinator token revoke ID [--state-dir DIR]\n"
            "       gprof-coordinator migrate [--to VERSION] [--meta SPEC] (schema up or down)\n"
            "       gprof-coordinator user add NAME --role viewer|operator|admin [--services a,b]\n"
            "                         (password on stdin; also: user passwd NAME, user remove\n"
            "                         NAME, user list, user token NAME, user tokens [NAME],\n"
            "                         user revoke-token ID; all take --config / --state-dir)\n"
            "\n"
            "Every setting can be given in the config file (key = value, # comments; --config,\n"
            "GPROF_CONFIG or /etc/gprof/coordinator.conf), as GPROF_<KEY> in the environment or\n"
            "as --key value; precedence: flag > env > file > default.\n"
            "\n"
            "Settings (default):\n"
            "  listen                   ADDR:PORT to serve on (%s)\n"
            "  tls_cert, tls_key        PEM certificate chain and key: serve HTTPS; SIGHUP\n"
            "                           reloads both (--tls-cert FILE --tls-key FILE)\n"
            "  allow_plaintext          on: plain HTTP on a non-loopback address (off: refused)\n"
            "  metrics_public           on: GET /metrics without credentials (off: with auth\n"
            "                           on it needs the ui_token / ui_basic_auth)\n"
            "  state_dir                databases and profiles (%s)\n"
            "  meta, blobs, index       backend specs (sqlite:<state_dir>/meta.db,\n"
            "                           fs:<state_dir>/profiles, sqlite:<state_dir>/index.db)\n"
            "  blob_spool               auto | on | off: acknowledge an upload once its body\n"
            "                           is durable in <state_dir>/spool and put the blob from\n"
            "                           there in the background (auto = on unless blobs is fs:)\n"
            "  blob_spool_uploaders     threads putting spooled uploads to the blob store (4)\n"
            "  blob_spool_max_bytes     spooled bodies at most; past it uploads put the blob\n"
            "                           before they answer (1G)\n"
            "  meta_user, meta_password, meta_password_file   credentials of a network store\n"
            "                           when its spec has none (also blobs_*, index_*;\n"
            "                           postgres falls back to PGPASSWORD); never printed\n"
            "  auth                     on | off | auto (auto = off on loopback, on elsewhere;\n"
            "                           off is refused on a non-loopback address)\n"
            "  ui_token                 bearer token for the control and query API\n"
            "  ui_basic_auth            user:password for the control and query API (admin)\n"
            "  trusted_proxy_header     identity header a reverse proxy sets (X-Forwarded-User),\n"
            "                           naming a gprof user; honoured only from trusted_proxies\n"
            "  trusted_proxies          addresses of that proxy, comma separated\n"
            "  session_ttl_s            web UI session lifetime after sign-in (43200)\n"
            "  http_threads             event-loop threads and upload workers (CPUs)\n"
            "  request_timeout_s        idle connection / request timeout (30)\n"
            "  max_connections          concurrent connections; more are closed at once (4096)\n"
            "  max_connections_per_ip   concurrent connections from one address (64; 0 = any)\n"
            "  header_timeout_s         seconds to send a whole request header (10)\n"
            "  body_timeout_s           seconds to send a whole request body, else 408 (60)\n"
            "  control_rate             control requests per identity, e.g. 10/s, 600/m, 0 = off\n"
            "  control_burst            requests above control_rate allowed at once (20)\n"
            "  login_rate               failed sign-ins per address and per user name (6/m)\n"
            "  login_burst              failed sign-ins allowed at once above login_rate (10)\n"
            "  allowed_hosts            extra Host names accepted (with auth off only the\n"
            "                           listen address and localhost are; * = any)\n"
            "  allowed_origins          extra origins that may POST/PUT/DELETE (same origin only)\n"
            "  max_upload_bytes         compressed /api/v2/profiles body (4MiB)\n"
            "  max_request_bytes        any other request body (1MiB)\n"
            "  max_decompressed_bytes   gunzipped profile upload cap, above = 413 (128MiB)\n"
            "  heartbeat_interval_s     agents' heartbeat period; 3 missed = offline (30)\n"
            "  max_hosts_per_request    hosts one profiling request may name (100; 0 = any)\n"
            "  max_profiling_share_pct  %% of a service's active hosts profiling at once (100)\n"
            "  max_tracked_hosts        (host, service) pairs remembered; the least recently\n"
            "                           seen is forgotten beyond it (100000)\n"
            "  host_expiry_days         hosts unseen this long are forgotten (7; -1 = never)\n"
            "  retention_days           raw and index data kept (30; -1 = forever)\n"
            "  stacks_count_default     stacksCount of /api/flamegraph (10000)\n"
            "  stacks_count_max         largest stacksCount accepted (1000000)\n"
            "  answer_cache_mb          finished flame graphs kept for repeats, MiB (64; 0 = off)\n"
            "  indexer_poll_ms          indexer idle poll (500)\n"
            "  retention_interval_s     retention pass period (3600)\n"
            "  log_level                error | warn | info | debug (info)\n"
            "  ui_dir                   serve the web UI from the files in this directory, read\n"
            "                           at startup (the packages' /usr/share/gprof/ui; default:\n"
            "                           the copy built into this binary)\n",
            COORD_DEFAULT_LISTEN, COORD_DEFAULT_STATE_DIR);
}

static int open_store(const struct coord_config *c, struct coord_store **st, struct gp_err *err)
{
    for (int r = 0; r < 3; r++)
        if (store_engine_credentials_set((enum store_role)r, c->cred[r].user, c->cred[r].password) <
            0)
            return gp_err_set(err, -ENOMEM, "out of memory");
    struct coord_store_config sc = {.state_dir = c->state_dir,
                                    .meta = c->meta[0] ? c->meta : NULL,
                                    .blobs = c->blobs[0] ? c->blobs : NULL,
                                    .index = c->index[0] ? c->index : NULL,
                                    .retention_days = (int)c->retention_days,
                                    .indexer_poll_ms = (int)c->indexer_poll_ms,
                                    .retention_interval_s = (int)c->retention_interval_s};
    char spool[600];
    if (c->blob_spool) {
        snprintf(spool, sizeof(spool), "%s/spool", c->state_dir);
        sc.spool_dir = spool;
        sc.spool_uploaders = (int)c->blob_spool_uploaders;
        sc.spool_max_bytes = c->blob_spool_max_bytes;
    }
    return coord_store_open(&sc, st, err);
}

/* Removes temp files a crash left (".NAME.PID.N.tmp" of a pid that is gone) in the state
 * directory and a local blob directory, before anything writes there. */
static void sweep_temp_files(const struct coord_config *c)
{
    char blobs[1024];
    if (!c->blobs[0])
        snprintf(blobs, sizeof(blobs), "%s/profiles", c->state_dir);
    else if (strncmp(c->blobs, "fs:", 3) == 0)
        snprintf(blobs, sizeof(blobs), "%s", c->blobs + 3);
    else
        blobs[0] = '\0';
    size_t swept = 0, n;
    if (gp_tmp_sweep(c->state_dir, 0, 0, &n) == 0)
        swept += n;
    /* products/SERVICE/stacks/DAY/NAME, .../stacks/flamegraph/NAME, perfspect/SERVICE/HOST/NAME */
    if (blobs[0] && gp_tmp_sweep(blobs, 5, 0, &n) == 0)
        swept += n;
    char spool[600];
    snprintf(spool, sizeof(spool), "%s/spool", c->state_dir);
    if (gp_tmp_sweep(spool, 0, 0, &n) == 0)
        swept += n;
    if (swept)
        gp_info("removed %zu stale temp file%s left by an earlier crash", swept,
                swept == 1 ? "" : "s");
}

static int token_list_cb(const struct meta_token *t, void *ctx)
{
    (void)ctx;
    char created[32] = "", revoked[32] = "-";
    time_t tc = (time_t)t->created_at, tr = (time_t)t->revoked_at;
    struct tm tm;
    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tc, &tm));
    if (t->revoked_at)
        strftime(revoked, sizeof(revoked), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tr, &tm));
    printf("%-6lld %-24s %-10s %-21s %s\n", (long long)t->id, t->service, t->prefix, created,
           revoked);
    return 0;
}

static int token_main(int argc, char **argv)
{
    if (argc < 1) {
        usage(stderr);
        return 2;
    }
    const char *verb = argv[0];
    const char *service = NULL, *id = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0;
    if (!rest)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--service") == 0 && i + 1 < argc)
            service = argv[++i];
        else if (strncmp(argv[i], "--service=", 10) == 0)
            service = argv[i] + 10;
        else if (strncmp(argv[i], "--", 2) == 0) {
            rest[nrest++] = argv[i];
            if (!strchr(argv[i], '=') && i + 1 < argc)
                rest[nrest++] = argv[++i];
        } else if (!id)
            id = argv[i];
        else {
            fprintf(stderr, "gprof-coordinator: unexpected argument '%s'\n", argv[i]);
            free(rest);
            return 2;
        }
    }
    struct coord_config c;
    struct gp_err err = {0};
    if (coord_config_load(&c, nrest, rest, &err) != 0) {
        free(rest);
        fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
        return 2;
    }
    free(rest);
    sweep_temp_files(&c);
    struct coord_store *st = NULL;
    if (open_store(&c, &st, &err) != 0) {
        fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
        return 1;
    }
    int ret = 0;
    if (strcmp(verb, "create") == 0) {
        if (!service) {
            fprintf(stderr, "gprof-coordinator: token create needs --service NAME\n");
            ret = 2;
        } else {
            char tok[META_TOKEN_MAX];
            int64_t tid;
            if (meta_token_create(st->meta, service, tok, sizeof(tok), &tid, &err) != 0) {
                fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
                ret = 1;
            } else {
                printf("%s\n", tok);
                fprintf(stderr,
                        "token %lld for service '%s' created; it is shown only once. Give it to "
                        "agents as --token / GPROFILER-API-KEY.\n",
                        (long long)tid, service);
            }
        }
    } else if (strcmp(verb, "list") == 0) {
        printf("%-6s %-24s %-10s %-21s %s\n", "ID", "SERVICE", "PREFIX", "CREATED", "REVOKED");
        if (meta_token_list(st->meta, service, token_list_cb, NULL, &err) != 0) {
            fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
            ret = 1;
        }
    } else if (strcmp(verb, "revoke") == 0) {
        char *end = NULL;
        long long n = id ? strtoll(id, &end, 10) : 0;
        if (!id || *end || n <= 0) {
            fprintf(stderr, "gprof-coordinator: token revoke needs a token ID (see token list)\n");
            ret = 2;
        } else {
            int rc = meta_token_revoke(st->meta, n, &err);
            if (rc == -ENOENT) {
                fprintf(stderr, "gprof-coordinator: no active token with id %lld\n", n);
                ret = 1;
            } else if (rc) {
                fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
                ret = 1;
            } else {
                printf("token %lld revoked\n", n);
            }
        }
    } else {
        fprintf(stderr, "gprof-coordinator: unknown token command '%s' (create, list, revoke)\n",
                verb);
        ret = 2;
    }
    coord_store_close(st);
    return ret;
}

/* gprof-coordinator user VERB [NAME] [--role R] [--services a,b] [settings] */
static int user_main(int argc, char **argv)
{
    if (argc < 1) {
        usage(stderr);
        return 2;
    }
    struct user_cli_args ua = {.verb = argv[0]};
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0;
    if (!rest)
        return 1;
    for (int i = 1; i < argc; i++) {
        const char **dst = NULL;
        const char *v = NULL;
        if (strcmp(argv[i], "--role") == 0 || strcmp(argv[i], "--services") == 0) {
            dst = argv[i][2] == 'r' ? &ua.role : &ua.services;
            v = i + 1 < argc ? argv[++i] : NULL;
        } else if (strncmp(argv[i], "--role=", 7) == 0) {
            dst = &ua.role;
            v = argv[i] + 7;
        } else if (strncmp(argv[i], "--services=", 11) == 0) {
            dst = &ua.services;
            v = argv[i] + 11;
        }
        if (dst) {
            *dst = v;
        } else if (strncmp(argv[i], "--", 2) == 0) {
            rest[nrest++] = argv[i];
            if (!strchr(argv[i], '=') && i + 1 < argc)
                rest[nrest++] = argv[++i];
        } else if (!ua.name) {
            ua.name = argv[i];
        } else {
            fprintf(stderr, "gprof-coordinator: unexpected argument '%s'\n", argv[i]);
            free(rest);
            return 2;
        }
    }
    struct coord_config c;
    struct gp_err err = {0};
    int rc = coord_config_load(&c, nrest, rest, &err);
    free(rest);
    if (rc != 0) {
        fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
        return 2;
    }
    sweep_temp_files(&c);
    struct coord_store *st = NULL;
    if (open_store(&c, &st, &err) != 0) {
        fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
        return 1;
    }
    int ret = user_cli_run(st->meta, &ua, stdin);
    coord_store_close(st);
    return ret;
}

/* gprof-coordinator migrate [--to N] [settings]: brings the metadata schema to version N (the
 * newest when omitted), down as well as up, without serving. */
static int migrate_main(int argc, char **argv)
{
    int to = -1;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    int nrest = 0;
    if (!rest)
        return 1;
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            v = argv[++i];
        else if (strncmp(argv[i], "--to=", 5) == 0)
            v = argv[i] + 5;
        if (v) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 0 || n > 100000) {
                fprintf(stderr, "gprof-coordinator: migrate --to wants a version >= 0\n");
                free(rest);
                return 2;
            }
            to = (int)n;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    struct coord_config c;
    struct gp_err err = {0};
    int rc = coord_config_load(&c, nrest, rest, &err);
    free(rest);
    if (rc != 0) {
        fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
        return 2;
    }
    char spec[700];
    if (c.meta[0])
        snprintf(spec, sizeof(spec), "%s", c.meta);
    else
        snprintf(spec, sizeof(spec), "sqlite:%s/meta.db", c.state_dir);
    int version = 0;
    for (int r = 0; r < 3 && rc == 0; r++)
        rc = store_engine_credentials_set((enum store_role)r, c.cred[r].user, c.cred[r].password);
    if (rc == 0)
        rc = meta_db_migrate(spec, to, &version, &err);
    store_engine_credentials_clear();
    if (rc != 0) {
        fprintf(stderr, "gprof-coordinator: migrate: %s\n", err.msg);
        return 1;
    }
    printf("metadata schema at version %d\n", version);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("gprof-coordinator %s\n", GPROF_VERSION);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "token") == 0)
        return token_main(argc - 2, argv + 2);
    if (argc > 1 && strcmp(argv[1], "user") == 0)
        return user_main(argc - 2, argv + 2);
    if (argc > 1 && strcmp(argv[1], "migrate") == 0)
        return migrate_main(argc - 2, argv + 2);
    /* Uploads allocate several MiB-sized buffers per request (body, inflated text, JSON).
     * glibc would mmap and unmap each one, page-faulting every page anew (~15% of the CPU of
     * an upload); keep them in the heap and reuse them instead. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's maximum on 64-bit */
    mallopt(M_TRIM_THRESHOLD, 128 << 20);

    struct coord_config c;
    struct gp_err err = {0};
    if (coord_config_load(&c, argc - 1, argv + 1, &err) != 0) {
        fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
        return 2;
    }
    gp_log_set_level((enum gp_log_level)gp_log_parse_level(c.log_level));
    if (getenv("JOURNAL_STREAM"))
        gp_log_set_journal(1);

    /* Signals are taken synchronously by the main thread; every other thread blocks them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (c.ui_dir[0] && api_ui_load_dir(c.ui_dir, &err) != 0) {
        fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
        return 2;
    }
    sweep_temp_files(&c);
    struct coord_store *st = NULL;
    if (open_store(&c, &st, &err) != 0) {
        fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
        api_ui_unload_dir();
        return 1;
    }
    int ret = 1;
    struct cp_plane *plane = NULL;
    struct http_server *srv = NULL;
    struct http_ratelimit *login_rl = NULL; /* the api's; freed after the server stops */
    struct answer_cache *answers = NULL;    /* the api's too */
    struct merge_flight *merges = NULL;     /* the api's too */
    struct coord_auth auth;
    coord_auth_init(&auth, st->meta, c.auth, c.ui_token, c.ui_basic_auth);
    coord_auth_set_proxy(&auth, c.trusted_proxy_header, c.trusted_proxies);
    if (coord_store_start(st, &err) != 0) {
        fprintf(stderr, "gprof-coordinator: cannot start the indexer: %s\n", err.msg);
        goto out;
    }
    struct cp_plane_opts po = {.heartbeat_interval = c.heartbeat_interval_s,
                               .max_hosts_per_request = (size_t)c.max_hosts_per_request,
                               .max_share_pct = (unsigned)c.max_profiling_share_pct,
                               .max_tracked_hosts = (size_t)c.max_tracked_hosts,
                               .host_expiry_s =
                                       c.host_expiry_days < 0 ? -1 : c.host_expiry_days * 86400,
                               .flush_ms = 2000,
                               /* a network metadata store may be shared by coordinators */
                               .command_recheck_s = strstr(c.meta, "://") ? 1 : 0,
                               .codec = &cj_codec};
    if (cp_plane_open(st->meta, &po, &plane, &err) != 0) {
        fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
        goto out;
    }
    struct coord_api api = {.store = st,
                            .plane = plane,
                            .auth = &auth,
                            .max_upload = c.max_upload_bytes,
                            .max_request = c.max_request_bytes,
                            .default_stacks = (size_t)c.stacks_count_default,
                            .max_stacks = (size_t)c.stacks_count_max,
                            .metrics_public = c.metrics_public,
                            .started = time(NULL),
                            .session_ttl_s = c.session_ttl_s,
                            .tls = c.tls_cert[0] != '\0',
                            .login_rate = c.login_rate,
                            .login_burst = c.login_burst,
                            .answers = answers = answer_cache_new((size_t)c.answer_cache_mb << 20),
                            /* a first paint's pruned request and its full one: one merge */
                            .merges = merges = merge_flight_new(2, 10000)};
    if (http_ratelimit_new("sign-in limit", c.login_rate, c.login_burst, &login_rl, &err) != 0) {
        fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
        goto out;
    }
    api.login_rl = login_rl;
    struct http_route routes[64];
    size_t nroutes = coord_api_routes(&api, routes, 64);
    /* Uploads and queries run on the worker pool. An upload spends most of its time waiting
     * for fsyncs (blob, directory, group commit: ~6 ms each on a VM disk), so one worker per
     * CPU leaves the CPUs idle and serialises the fsyncs; 4 per CPU (at least 8) keeps them
     * busy and gives the group commit several rows per transaction. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned base = c.http_threads ? c.http_threads : (ncpu > 0 ? (unsigned)ncpu : 2);
    unsigned workers = base * 4 < 8 ? 8 : base * 4;
    /* descriptors besides connections: stdio, databases (+WAL, shm), blob writes per worker,
     * an epoll and an eventfd per event-loop thread, the listen socket, the journal */
    unsigned reserve = 64 + 2 * workers + 2 * base;
    unsigned max_conns = c.max_connections;
    char note[512];
    if (http_fit_nofile(&max_conns, reserve, 16, c.max_connections_set, note, sizeof(note), &err) !=
        0) {
        fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
        goto out;
    }
    if (note[0])
        gp_warn("%s", note);
    struct http_opts ho = {.listen = c.listen,
                           .threads = c.http_threads,
                           .workers = workers,
                           .timeout_s = c.request_timeout_s,
                           .max_body = c.max_request_bytes,
                           .max_decompressed = c.max_decompressed_bytes,
                           .max_connections = max_conns,
                           .max_conns_per_ip = c.max_connections_per_ip,
                           .header_timeout_s = c.header_timeout_s,
                           .body_timeout_s = c.body_timeout_s,
                           .control_rate = c.control_rate,
                           .control_burst = c.control_burst,
                           .check_host = !c.auth,
                           .allowed_hosts = c.allowed_hosts,
                           .allowed_origins = c.allowed_origins,
                           .tls_cert = c.tls_cert[0] ? c.tls_cert : NULL,
                           .tls_key = c.tls_key[0] ? c.tls_key : NULL};
    if (http_server_start(&ho, routes, nroutes, &srv, &err) != 0) {
        fprintf(stderr, "gprof-coordinator: %s\n", err.msg);
        goto out;
    }
    atomic_store(&api.srv, srv);
    gp_info("gprof-coordinator %s listening on %s://%s (port %u), state in %s, auth %s",
            GPROF_VERSION, c.tls_cert[0] ? "https" : "http", c.listen, http_server_port(srv),
            c.state_dir, c.auth ? "on" : "off (loopback only)");
    if (!c.tls_cert[0] && c.allow_plaintext && !http_listen_is_loopback(c.listen))
        gp_warn("PLAINTEXT: allow_plaintext = on and %s is not a loopback address: tokens and "
                "profiles cross the network unencrypted. Set tls_cert and tls_key to serve HTTPS.",
                c.listen);
    if (!c.auth && c.auth_auto)
        gp_warn("AUTH IS OFF: auth = auto and %s is a loopback address, so no token is checked. "
                "Every local user can upload profiles and start profiling on every agent, and a "
                "reverse proxy on this host (TLS or not) exposes all of it to whoever reaches the "
                "proxy. Set auth = on (with ui_token or ui_basic_auth) before putting a proxy in "
                "front.",
                c.listen);
    if (c.auth && !c.ui_token[0] && !c.ui_basic_auth[0] && !c.trusted_proxy_header[0])
        gp_info("auth is on: the control and query API takes users' tokens and sessions (add "
                "people with: gprof-coordinator user add NAME --role ROLE); ui_token and "
                "ui_basic_auth are not set");
    sd_notifyf(0, "READY=1\nSTATUS=listening on %s", c.listen);

    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            if (!c.tls_cert[0]) {
                gp_info("SIGHUP ignored (restart to apply new settings)");
                continue;
            }
            struct gp_err terr = {0};
            if (http_server_reload_tls(srv, &terr) == 0)
                gp_info("SIGHUP: TLS certificate reloaded from %s (new connections use it, open "
                        "ones keep theirs; other settings need a restart)",
                        c.tls_cert);
            else
                gp_error("SIGHUP: TLS certificate NOT reloaded, the old one stays: %s", terr.msg);
            continue;
        }
        gp_info("signal %d: stopping (finishing requests in progress)", sig);
        break;
    }
    sd_notify(0, "STOPPING=1\nSTATUS=finishing requests");
    cp_plane_shutdown(plane); /* long bulk requests stop between items */
    http_server_stop(srv, 10000);
    srv = NULL;
    ret = 0;
out:
    if (srv)
        http_server_stop(srv, 0);
    answer_cache_free(answers);
    merge_flight_free(merges);
    http_ratelimit_free(login_rl);
    cp_plane_close(plane);
    coord_store_stop(st);
    coord_store_close(st);
    coord_auth_destroy(&auth);
    api_ui_unload_dir();
    if (ret == 0)
        gp_info("stopped");
    return ret;
}
