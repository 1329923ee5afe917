/* endpoints.c — where gprofctl's verbs talk to: flags first, then the environment. */
#include "cli/endpoints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/control/control.h"

const char *gpctl_socket(const char *flag)
{
    if (flag)
        return flag;
    const char *e = getenv("GPROF_AGENT_SOCKET");
    return e && *e ? e : GP_CONTROL_SOCKET_DEFAULT;
}

const char *gpctl_coordinator(const char *flag, char *buf, size_t len)
{
    const char *c = flag ? flag : getenv("GPROF_COORDINATOR");
    if (!c || !*c)
        return NULL;
    snprintf(buf, len, "%s", c);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == '/')
        buf[--n] = '\0';
    return buf;
}

const char *gpctl_token(const char *flag)
{
    if (flag)
        return flag;
    const char *e = getenv("GPROF_UI_TOKEN");
    if (!e || !*e)
        e = getenv("GPROF_TOKEN");
    return e && *e ? e : NULL;
}
