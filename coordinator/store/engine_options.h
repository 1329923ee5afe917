/* engine_options.h — how a storage engine is opened: a typed options struct parsed from a
 * configuration spec, so credentials are fields that messages never print (not a location string).
 */
#ifndef GPROF_COORD_STORE_ENGINE_OPTIONS_H
#define GPROF_COORD_STORE_ENGINE_OPTIONS_H

/* Options of one engine instance. Embedded engines read path; network engines (later) read
 * host, port, user, password and database. Strings are owned by whoever filled the struct
 * (store_engine_parse: release with store_engine_options_free). password is never printed. */
struct store_engine_options {
    const char *path;     /* file or directory (sqlite, fs) */
    const char *host;     /* NULL = not a network engine */
    int port;             /* 0 = the engine's default */
    const char *user;     /* may be NULL */
    const char *password; /* may be NULL; never printed in messages or logs */
    const char *database; /* database, bucket or prefix; may be NULL */
    const char *params;   /* network engines: the spec's query string after '?' ("a=1&b=2"), NULL
                           * when none; read with store_engine_param() */
};

#endif
