/* log.c — leveled logging to stderr. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum gp_log_level g_level = GP_LOG_INFO;
static int g_journal;

void gp_log_set_level(enum gp_log_level level)
{
    g_level = level;
}

enum gp_log_level gp_log_get_level(void)
{
    return g_level;
}

void gp_log_set_journal(int on)
{
    g_journal = on;
}

int gp_log_parse_level(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void gp_log(enum gp_log_level level, const char *fmt, ...)
{
    static const char *const tags[] = {"error", "warn", "info", "debug"};
    static const int prio[] = {3, 4, 6, 7};
    if (level > g_level)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (g_journal) {
        fprintf(stderr, "<%d>%s\n", prio[level], line);
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        fprintf(stderr, "%02d:%02d:%02d.%03ld %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
                ts.tv_nsec / 1000000, tags[level], line);
    }
}
