/* query_params.h — the query parameters the query endpoints share: serviceName (valid and
 * existing), startTime/endTime, RQL filter and stacksCount, answered 400/406 when bad. */
#ifndef GPROF_COORD_API_QUERY_PARAMS_H
#define GPROF_COORD_API_QUERY_PARAMS_H

#include "coordinator/api/api.h"
#include "coordinator/query/query.h"
#include "coordinator/store/meta/meta.h"

struct api_query {
    char service[META_NAME_MAX];
    int64_t start, end;
    struct query_spec spec;
};

/* Common query parameters; answers the error and returns false when they're bad (nothing to
 * free then). need_times: startTime and endTime are required (else the last 24 hours). */
bool api_query_parse(struct coord_api *api, const struct http_req *r, struct http_resp *w,
                     struct api_query *p, bool need_times);
void api_query_free(struct api_query *p);
/* The service named by query parameter `param`: its cleaned name in clean when it is valid and
 * exists. Returns false when it is not, and then the response is always set: 400 for a name
 * with characters outside [A-Za-z0-9_.-], 406 for an unknown service, 5xx for a store error. */
bool api_service_param(struct coord_api *api, struct http_resp *w, const char *param,
                       const char *svc, char clean[META_NAME_MAX]);
/* An ISO 8601 query parameter into *out (left alone when absent and not required). */
bool api_time_param(const struct http_req *r, struct http_resp *w, const char *key, bool required,
                    int64_t *out);

#endif
