/* symbolizer.h — names the addresses of sampled stacks: user frames through per-process map
 * snapshots and shared ELF symbol tables, JIT perf maps and kallsyms; never drops a frame. */
#ifndef GPROF_AGENT_SYMBOLS_SYMBOLIZER_H
#define GPROF_AGENT_SYMBOLS_SYMBOLIZER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Frame text:
 *   resolved user frame   the demangled function name ("ns::Foo<int>::run(int)", "main")
 *   resolved kernel frame "vfs_read_[k]"
 *   unnamed, in a file    "<basename of the mapping>+0x<file offset>"   ("libfoo.so+0x1a2b")
 *   unnamed, elsewhere    "[anon]+0x<offset in mapping>", "[vdso]+0x...", "[unknown]",
 *                         "[unknown]_[k]"
 * Calls are not thread-safe: call one symbolizer, and the process table it listens to, from one
 * thread. Nothing is read before it is needed: a binary when a stack first falls into it,
 * /proc/kallsyms at the first kernel frame.
 * Processes: the symbolizer listens to a process table (agent/procs/proctable.h). When the table
 * notes a process (seen, exec) the symbolizer opens every mapped binary now, while it lives
 * (through /proc/PID/map_files, else /proc/PID/root/<path>), without reading it: a binary not
 * in the cache yet is read from the descriptor held open when a stack first needs it (or by
 * gp_symbolizer_load_pending()), so it works after the process exits; when the table marks the
 * process exited its binaries stay pinned, and the descriptors close when the table drops it.
 * Noting is cheap, so a session may feed the table between two gp_symbolize_user() calls, even
 * inside a drain callback. A process never noted is noted on its first symbolization.
 * Debug files: a binary with a build-id and no symbols of its own nor a local debug file is
 * queued for debuginfod when gp_debuginfod_configure() turned fetching on; a fetch never blocks
 * a call here, and the gc after it completes adds the file's symbols (named from the next drain).
 * Memory: the ELF cache honours cache_bytes after each gc (except binaries pinned by exited,
 * not yet collected processes); per-process state (links, perf maps) is not counted. */

#define GP_SYMBOLIZER_DEFAULT_CACHE_BYTES (64u << 20)

struct gp_proctable;

struct gp_symbolizer_opts {
    const char *const *debug_dirs; /* NULL/0 = { "/usr/lib/debug" }; given dirs replace it */
    size_t ndebug_dirs;
    size_t cache_bytes; /* 0 = GP_SYMBOLIZER_DEFAULT_CACHE_BYTES */
    int no_kernel;      /* do not read /proc/kallsyms: kernel frames are "[unknown]_[k]" */
    const char
            *kallsyms_cache_dir; /* per-boot kernel symbol file (GP_KALLSYMS_CACHE_DIR), or NULL */
    struct gp_proctable *procs;  /* the table to listen to (outlives the symbolizer), or NULL: a
                                    table of its own, freed with it (gp_symbolizer_procs()) */
};
struct gp_symbolizer;

int gp_symbolizer_new(const struct gp_symbolizer_opts *o, struct gp_symbolizer **out,
                      struct gp_err *err);
void gp_symbolizer_free(struct gp_symbolizer *s);

/* The process table the symbolizer listens to. */
struct gp_proctable *gp_symbolizer_procs(struct gp_symbolizer *s);

/* Frees frame text returned since the last gc and perf maps replaced or dropped since, trims the
 * ELF cache to its budget and re-reads kallsyms after misses (at most once a minute). Order per
 * drain: take the samples, symbolize them, gp_proctable_gc() (drops exited processes, unpinning
 * their binaries), then this. */
void gp_symbolizer_gc(struct gp_symbolizer *s);
/* Reads binaries opened when processes were noted but not read yet, oldest first, for about
 * budget_ms (at least one). Returns how many were read. */
int gp_symbolizer_load_pending(struct gp_symbolizer *s, unsigned budget_ms);

/* Names n addresses of one stack, leaf first (user: of process tgid; kernel: tgid ignored).
 * ips are raw: ips[0] is the sampled ip, the others return addresses; the symbolizer looks up
 * ips[i]-1 for i > 0 so a call at the end of a function is named by its caller.
 * out[i] points to text owned by the symbolizer, valid until the next gp_symbolizer_gc().
 * Returns 0 or -errno (-ENOMEM); every out[i] is set even for unknown addresses. */
int gp_symbolize_user(struct gp_symbolizer *s, uint32_t tgid, const uint64_t *ips, uint32_t n,
                      const char **out);
int gp_symbolize_kernel(struct gp_symbolizer *s, const uint64_t *ips, uint32_t n, const char **out);
/* The same for addresses as looked up (no return-address adjustment: the caller already took
 * one off return addresses), e.g. the distinct frames of a drain (agent/frames.h). resolved
 * (may be NULL) receives 1 for each address named by a symbol, 0 for module+offset or unknown. */
int gp_symbolize_user_at(struct gp_symbolizer *s, uint32_t tgid, const uint64_t *addrs, uint32_t n,
                         const char **out, int *resolved);
int gp_symbolize_kernel_at(struct gp_symbolizer *s, const uint64_t *addrs, uint32_t n,
                           const char **out, int *resolved);

struct gp_symbolizer_stats {
    uint64_t frames, resolved, unresolved, elf_loaded, cache_bytes;
    /* additions */
    uint64_t processes, processes_exited, elf_cache_hits, elf_build_id_hits, elf_evictions;
    uint64_t elf_pending; /* binaries opened at note time, not read yet */
    /* stripped binaries queued for debuginfod, fetches that failed, binaries named from them */
    uint64_t debuginfod_requested, debuginfod_failed, debuginfod_named;
};
void gp_symbolizer_stats(const struct gp_symbolizer *s, struct gp_symbolizer_stats *out);

#endif
