/* header.c — what a PerfSpect report adds to an uploaded profile's header, as gProfiler does:
 * "hwmetrics" (display name -> value string, measured metrics only) and "htmlblob". */
#include "perfspect/internal.h"

#include <errno.h>
#include <math.h>

#include "common/base64.h"
#include "common/gzip.h"

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
    if (!rc && gp_base64_encode(gz.buf, gz.len, &b64))
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
