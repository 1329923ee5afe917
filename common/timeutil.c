/* timeutil.c — ISO 8601 timestamps without locale, TZ or strptime dependencies. */
#include "common/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int tu_parse_frac(const char *s, double *out)
{
    if (!s || !*s)
        return -EINVAL;
    /* plain epoch seconds (possibly fractional, possibly 1.7e9): decimal digits only, so strtod's
     * "NaN", "inf", hex floats and leading blanks are not times */
    if (isdigit((unsigned char)s[0]) && s[strspn(s, "0123456789.eE+")] == '\0') {
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        if (*end || errno || !(d >= 0 && d <= 32503680000.0))
            return -EINVAL;
        *out = d;
        return 0;
    }
    int Y, M, D, h = 0, m = 0, sec = 0;
    double frac = 0;
    size_t n = strlen(s);
    if (n < 10 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
        digits(s + 8, 2, &D))
        return -EINVAL;
    const char *p = s + 10;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (strlen(p) < 5 || digits(p, 2, &h) || p[2] != ':' || digits(p + 3, 2, &m))
            return -EINVAL;
        p += 5;
        if (*p == ':') {
            if (digits(p + 1, 2, &sec))
                return -EINVAL;
            p += 3;
        }
        if (*p == '.' || *p == ',') {
            p++;
            if (!isdigit((unsigned char)*p))
                return -EINVAL;
            for (double scale = 0.1; isdigit((unsigned char)*p); p++, scale /= 10)
                frac += (*p - '0') * scale;
        }
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om = 0;
        int sign = *p == '-' ? -1 : 1;
        p++;
        if (digits(p, 2, &oh))
            return -EINVAL;
        p += 2;
        if (*p == ':')
            p++;
        if (*p) {
            if (digits(p, 2, &om))
                return -EINVAL;
            p += 2;
        }
        off = sign * (oh * 3600 + om * 60);
    }
    if (*p)
        return -EINVAL;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || Y < 1970 || Y > 9999)
        return -EINVAL;
    *out = (double)(days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sec -
                    off) +
           frac;
    return 0;
}

int tu_parse(const char *s, int64_t *out)
{
    double t;
    int rc = tu_parse_frac(s, &t);
    if (rc == 0)
        *out = (int64_t)t;
    return rc;
}

void tu_format(int64_t t, char *buf, size_t bufsz)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%S", &tm);
}

void tu_format_z(int64_t t, char *buf, size_t bufsz)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
