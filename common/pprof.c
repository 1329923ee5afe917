/* pprof.c — gp_profile → pprof Profile protobuf (protobuf-c generated code) → gzip (common/gzip).
 */
#include "common/pprof.h"
#include "common/pprof_profile.pb-c.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/gzip.h"
#include "common/timeutil.h"

/* ---- header lookups -------------------------------------------------------------------- */

static json_object *header_get(struct gp_profile *p, const char *key)
{
    json_object *h = gp_profile_header(p), *v = NULL, *md = NULL;
    if (!h)
        return NULL;
    if (json_object_object_get_ex(h, key, &v) && v)
        return v;
    if (json_object_object_get_ex(h, "metadata", &md) &&
        json_object_is_type(md, json_type_object) && json_object_object_get_ex(md, key, &v))
        return v;
    return NULL;
}

unsigned gp_profile_frequency(struct gp_profile *p)
{
    static const char *const keys[] = {"sampling_frequency", "frequency", "freq_hz"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        json_object *v = header_get(p, keys[k]);
        if (!v)
            continue;
        double f = 0;
        if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
            f = json_object_get_double(v);
        else if (json_object_is_type(v, json_type_string))
            f = strtod(json_object_get_string(v), NULL);
        if (f >= 1 && f <= 1e6)
            return (unsigned)(f + 0.5);
    }
    return 0;
}

static int header_time(struct gp_profile *p, const char *key, double *out)
{
    json_object *v = header_get(p, key);
    *out = 0;
    if (!v)
        return -1;
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        double t = json_object_get_double(v);
        if (t > 1e12) /* milliseconds */
            t /= 1000.0;
        if (!(t > 0) || !isfinite(t))
            return -1;
        *out = t;
        return 0;
    }
    if (json_object_is_type(v, json_type_string))
        return tu_parse_frac(json_object_get_string(v), out) ? -1 : 0;
    return -1;
}

int gp_profile_time_range(struct gp_profile *p, double *start, double *end)
{
    int a = header_time(p, "start_time", start);
    int b = header_time(p, "end_time", end);
    return a || b ? -ENOENT : 0;
}

/* ---- builder --------------------------------------------------------------------------- */

struct builder {
    struct gp_profile *strs; /* scratch interner: string id == string table index */
    uint32_t *frame_fn;      /* string id -> function id (0 = none) for frames */
    uint32_t *comm_fn;       /* string id -> function id for process names */
    size_t map_cap;
    Gprof__Pprof__Function *fns;
    Gprof__Pprof__Location *locs;
    Gprof__Pprof__Line *lines;
    size_t nfns, fns_cap;
    Gprof__Pprof__Sample *samples;
    Gprof__Pprof__Label *labels; /* 2 per sample */
    size_t nsamples, samples_cap;
    uint64_t *loc_ids;
    size_t nloc_ids, loc_ids_cap;
    int64_t *values;
    int64_t period;
    int nvalues;
    uint32_t s_comm, s_container, s_process;
    size_t nstrs;
};

static uint32_t intern(struct builder *b, const char *s)
{
    uint32_t id = gp_profile_intern(b->strs, s, strlen(s));
    if (id != GP_NO_ID && id >= b->nstrs)
        b->nstrs = (size_t)id + 1; /* ids are handed out in order */
    return id;
}

static int grow_maps(struct builder *b, uint32_t id)
{
    if (id < b->map_cap)
        return 0;
    size_t cap = b->map_cap ? b->map_cap : 1024;
    while (cap <= id)
        cap *= 2;
    uint32_t *f = realloc(b->frame_fn, cap * sizeof(*f));
    if (!f)
        return -ENOMEM;
    b->frame_fn = f;
    uint32_t *c = realloc(b->comm_fn, cap * sizeof(*c));
    if (!c)
        return -ENOMEM;
    b->comm_fn = c;
    memset(b->frame_fn + b->map_cap, 0, (cap - b->map_cap) * sizeof(*f));
    memset(b->comm_fn + b->map_cap, 0, (cap - b->map_cap) * sizeof(*c));
    b->map_cap = cap;
    return 0;
}

/* Returns the location id (== function id) for a frame or process name, 0 on OOM. */
static uint64_t location_for(struct builder *b, const char *name, int is_comm)
{
    uint32_t sid = intern(b, name);
    if (sid == GP_NO_ID || grow_maps(b, sid))
        return 0;
    uint32_t *slot = is_comm ? &b->comm_fn[sid] : &b->frame_fn[sid];
    if (*slot)
        return *slot;
    if (b->nfns == b->fns_cap) {
        size_t cap = b->fns_cap ? b->fns_cap * 2 : 4096;
        void *f = realloc(b->fns, cap * sizeof(*b->fns));
        if (!f)
            return 0;
        b->fns = f;
        b->fns_cap = cap;
    }
    size_t i = b->nfns++;
    uint64_t id = i + 1;
    Gprof__Pprof__Function fn = GPROF__PPROF__FUNCTION__INIT;
    fn.id = id;
    fn.name = sid;
    fn.system_name = sid;
    fn.filename = is_comm ? b->s_process : 0;
    b->fns[i] = fn;
    *slot = (uint32_t)id;
    return id;
}

static int count_frames(const struct gp_stack_view *s, void *arg)
{
    *(size_t *)arg += s->nframes;
    return 0;
}

static int add_sample(const struct gp_stack_view *s, void *arg)
{
    struct builder *b = arg;
    if (s->count == 0)
        return 0;
    if (b->nsamples == b->samples_cap) {
        size_t cap = b->samples_cap ? b->samples_cap * 2 : 1024;
        void *n = realloc(b->samples, cap * sizeof(*b->samples));
        if (!n)
            return -ENOMEM;
        b->samples = n;
        n = realloc(b->labels, cap * 2 * sizeof(*b->labels));
        if (!n)
            return -ENOMEM;
        b->labels = n;
        n = realloc(b->values, cap * 2 * sizeof(*b->values));
        if (!n)
            return -ENOMEM;
        b->values = n;
        b->samples_cap = cap;
    }
    size_t need = b->nloc_ids + s->nframes + 1;
    if (need > b->loc_ids_cap) {
        size_t cap = b->loc_ids_cap ? b->loc_ids_cap : 4096;
        while (cap < need)
            cap *= 2;
        uint64_t *n = realloc(b->loc_ids, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        b->loc_ids = n;
        b->loc_ids_cap = cap;
    }
    /* Offsets, not pointers: loc_ids may still move; fixed up in gp_pprof_write. */
    size_t off = b->nloc_ids;
    for (uint32_t k = s->nframes; k-- > 0;) { /* leaf first */
        uint64_t id = location_for(b, s->frames[k], 0);
        if (!id)
            return -ENOMEM;
        b->loc_ids[b->nloc_ids++] = id;
    }
    uint64_t cid = location_for(b, s->comm, 1);
    if (!cid)
        return -ENOMEM;
    b->loc_ids[b->nloc_ids++] = cid;

    size_t i = b->nsamples++;
    Gprof__Pprof__Sample smp = GPROF__PPROF__SAMPLE__INIT;
    smp.n_location_id = s->nframes + 1;
    smp.location_id = (uint64_t *)(uintptr_t)off;
    smp.n_value = (size_t)b->nvalues;
    int64_t cnt = s->count > INT64_MAX ? INT64_MAX : (int64_t)s->count;
    b->values[2 * i] = cnt;
    b->values[2 * i + 1] = b->period ? cnt * b->period : 0;
    Gprof__Pprof__Label l0 = GPROF__PPROF__LABEL__INIT, l1 = GPROF__PPROF__LABEL__INIT;
    l0.key = b->s_comm;
    l0.str = intern(b, s->comm);
    l1.key = b->s_container;
    l1.str = intern(b, s->container);
    if (l0.str == GP_NO_ID || l1.str == GP_NO_ID)
        return -ENOMEM;
    b->labels[2 * i] = l0;
    b->labels[2 * i + 1] = l1;
    smp.n_label = s->container[0] ? 2 : 1;
    b->samples[i] = smp;
    return 0;
}

static void builder_free(struct builder *b)
{
    gp_profile_free(b->strs);
    free(b->frame_fn);
    free(b->comm_fn);
    free(b->fns);
    free(b->locs);
    free(b->lines);
    free(b->samples);
    free(b->labels);
    free(b->loc_ids);
    free(b->values);
}

int gp_pprof_write(struct gp_profile *p, unsigned freq_hz, struct strbuf *out_gz,
                   struct gp_err *err)
{
    if (!freq_hz)
        freq_hz = gp_profile_frequency(p);
    struct builder b = {0};
    int rc = -ENOMEM;
    uint8_t *packed = NULL;
    Gprof__Pprof__ValueType vt[2] = {GPROF__PPROF__VALUE_TYPE__INIT,
                                     GPROF__PPROF__VALUE_TYPE__INIT};
    Gprof__Pprof__ValueType *vtp[2] = {&vt[0], &vt[1]};
    Gprof__Pprof__ValueType period_type = GPROF__PPROF__VALUE_TYPE__INIT;
    Gprof__Pprof__Mapping mapping = GPROF__PPROF__MAPPING__INIT;
    Gprof__Pprof__Mapping *mappingp = &mapping;
    Gprof__Pprof__Profile prof = GPROF__PPROF__PROFILE__INIT;
    Gprof__Pprof__Sample **sp = NULL;
    Gprof__Pprof__Location **lp = NULL;
    Gprof__Pprof__Function **fp = NULL;
    Gprof__Pprof__Line **linep = NULL;
    Gprof__Pprof__Label **labp = NULL;

    if (!(b.strs = gp_profile_new()))
        goto oom;
    if (intern(&b, "") != 0)
        goto oom;
    b.period = freq_hz ? (int64_t)(1000000000ULL / freq_hz) : 0;
    b.nvalues = freq_hz ? 2 : 1;
    vt[0].type = intern(&b, "samples");
    vt[0].unit = intern(&b, "count");
    vt[1].type = intern(&b, "cpu");
    vt[1].unit = intern(&b, "nanoseconds");
    b.s_comm = intern(&b, "comm");
    b.s_container = intern(&b, "container");
    b.s_process = intern(&b, "[process]");
    mapping.id = 1;
    mapping.filename = intern(&b, "[gprof]");
    mapping.has_functions = 1;
    if (vt[0].type == GP_NO_ID || vt[1].unit == GP_NO_ID || b.s_process == GP_NO_ID ||
        (uint32_t)mapping.filename == GP_NO_ID)
        goto oom;

    /* Size the per-sample arrays once: growing them by realloc copied more than it built. */
    size_t nst = gp_profile_nstacks(p), nframes = 0;
    if (gp_profile_foreach(p, count_frames, &nframes))
        goto oom;
    b.samples_cap = nst ? nst : 1;
    b.loc_ids_cap = nframes + nst + 1;
    b.samples = malloc(b.samples_cap * sizeof(*b.samples));
    b.labels = malloc(2 * b.samples_cap * sizeof(*b.labels));
    b.values = malloc(2 * b.samples_cap * sizeof(*b.values));
    b.loc_ids = malloc(b.loc_ids_cap * sizeof(*b.loc_ids));
    if (!b.samples || !b.labels || !b.values || !b.loc_ids)
        goto oom;
    rc = gp_profile_foreach(p, add_sample, &b);
    if (rc)
        goto oom;
    rc = -ENOMEM;

    /* Locations and lines (one each per function), and the pointer arrays protobuf-c wants,
     * now that nothing moves any more. */
    b.locs = malloc((b.nfns + 1) * sizeof(*b.locs));
    b.lines = malloc((b.nfns + 1) * sizeof(*b.lines));
    if (!b.locs || !b.lines)
        goto oom;
    sp = calloc(b.nsamples + 1, sizeof(*sp));
    lp = calloc(b.nfns + 1, sizeof(*lp));
    fp = calloc(b.nfns + 1, sizeof(*fp));
    linep = calloc(b.nfns + 1, sizeof(*linep));
    labp = calloc(2 * b.nsamples + 1, sizeof(*labp));
    if (!sp || !lp || !fp || !linep || !labp)
        goto oom;
    for (size_t i = 0; i < b.nsamples; i++) {
        Gprof__Pprof__Sample *s = &b.samples[i];
        s->location_id = b.loc_ids + (uintptr_t)s->location_id;
        s->value = &b.values[2 * i];
        labp[2 * i] = &b.labels[2 * i];
        labp[2 * i + 1] = &b.labels[2 * i + 1];
        s->label = &labp[2 * i];
        sp[i] = s;
    }
    for (size_t i = 0; i < b.nfns; i++) {
        Gprof__Pprof__Line line = GPROF__PPROF__LINE__INIT;
        line.function_id = b.fns[i].id;
        b.lines[i] = line;
        linep[i] = &b.lines[i];
        Gprof__Pprof__Location loc = GPROF__PPROF__LOCATION__INIT;
        loc.id = b.fns[i].id;
        loc.mapping_id = 1;
        loc.n_line = 1;
        loc.line = &linep[i];
        b.locs[i] = loc;
        lp[i] = &b.locs[i];
        fp[i] = &b.fns[i];
    }

    prof.n_sample_type = (size_t)b.nvalues;
    prof.sample_type = vtp;
    prof.n_sample = b.nsamples;
    prof.sample = sp;
    prof.n_mapping = 1;
    prof.mapping = &mappingp;
    prof.n_location = b.nfns;
    prof.location = lp;
    prof.n_function = b.nfns;
    prof.function = fp;
    /* The interner's strings, in id order, are the string table. */
    size_t nstr = b.nstrs;
    prof.n_string_table = nstr;
    prof.string_table = calloc(nstr + 1, sizeof(char *));
    if (!prof.string_table)
        goto oom;
    for (size_t i = 0; i < nstr; i++)
        prof.string_table[i] = (char *)gp_profile_str(b.strs, (uint32_t)i);
    if (b.period) {
        period_type.type = vt[1].type;
        period_type.unit = vt[1].unit;
        prof.period_type = &period_type;
        prof.period = b.period;
        prof.default_sample_type = 0;
    }
    double start = 0, end = 0;
    gp_profile_time_range(p, &start, &end);
    if (start > 0)
        prof.time_nanos = (int64_t)(start * 1e9);
    if (start > 0 && end > start)
        prof.duration_nanos = (int64_t)((end - start) * 1e9);

    size_t n = gprof__pprof__profile__get_packed_size(&prof);
    packed = malloc(n ? n : 1);
    if (!packed)
        goto oom;
    gprof__pprof__profile__pack(&prof, packed);
    rc = gp_gzip_compress(packed, n, 1, out_gz, err);
    goto done;
oom:
    rc = gp_err_set(err, -ENOMEM, "pprof: out of memory building the profile (%zu stacks)",
                    gp_profile_nstacks(p));
done:
    free(packed);
    free(prof.string_table);
    free(sp);
    free(lp);
    free(fp);
    free(linep);
    free(labp);
    builder_free(&b);
    return rc;
}
