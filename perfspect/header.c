/* header.c — what a PerfSpect report adds to an uploaded profile's header, as gProfiler does:
 * "hwmetrics" (display name -> value string, measured metrics only) and "htmlblob". */
#include "perfspect/internal.h"

#include <errno.h>
#include <math.h>

#include "common/gzip.h"

static int base64(const unsigned char *in, size_t n, struct strbuf *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (sb_reserve(out, (n + 2) / 3 * 4 + 1))
        return -ENOMEM;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63], i + 1 < n ? tbl[(v >> 6) & 63] : '=',
                     i + 2 < n ? tbl[v & 63] : '='};
        sb_append(out, q, 4);
    }
    return out->oom ? -ENOMEM : 0;
}

int ps_header_fields(const struct ps_report *r, json_object *header, struct gp_err *err)
{
    json_object *hw = json_object_new_object();
    if (!hw)
        return gp_err_set(err, -ENOMEM, "out of memory");
    for (int m = 0; m < PS_M_COUNT; m++) {
        struct ps_stat st;
        ps_report_stat(r, (enum ps_metric)m, &st);
        if (!st.has_value || !isfinite(st.value))
            continue; /* absent stays absent: never a made-up 0 */
        char v[48];
        snprintf(v, sizeof(v), "%.6g", st.value);
        json_object_object_add(hw, ps_metric_info((enum ps_metric)m)->display,
                               json_object_new_string(v));
    }
    struct strbuf html = STRBUF_INIT, gz = STRBUF_INIT, b64 = STRBUF_INIT;
    int rc = ps_report_html(r, &html, err);
    if (!rc)
        rc = gp_gzip_compress(html.buf, html.len, 9, &gz, err);
    if (!rc && base64((const unsigned char *)gz.buf, gz.len, &b64))
        rc = gp_err_set(err, -ENOMEM, "out of memory encoding the HTML report");
    sb_free(&html);
    sb_free(&gz);
    if (rc) {
        json_object_put(hw);
        sb_free(&b64);
        return rc;
    }
    json_object *blob = json_object_new_string_len(sb_str(&b64), (int)b64.len);
    sb_free(&b64);
    if (!blob) {
        json_object_put(hw);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    json_object_object_add(header, "hwmetrics", hw);
    json_object_object_add(header, "htmlblob", blob);
    return 0;
}
