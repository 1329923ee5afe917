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
 * Calls are not thread-safe: call one symbolizer from one thread. Nothing is read before it is
 * needed: a binary when a stack first falls into it, /proc/kallsyms at the first kernel frame.
 * Event handling: note_process() is cheap and may be called between two gp_symbolize_user()
 * calls, even inside a drain callback; a single-threaded session that polls process events
 * only between drains lets short-lived processes exit un-noted while a drain is busy.
 * Debug files: a binary with a build-id and no symbols of its own nor a local debug file is
 * queued for debuginfod when gp_debuginfod_configure() turned fetching on; a fetch never blocks
 * a call here, and the gc after it completes adds the file's symbols (named from the next drain).
 * Memory: the ELF cache honours cache_bytes after each gc (except binaries pinned by exited,
 * not yet collected processes); per-process snapshots (maps, perf maps) are not counted. */

#define GP_SYMBOLIZER_DEFAULT_CACHE_BYTES (64u << 20)

struct gp_symbolizer_opts {
    const char *const *debug_dirs; /* NULL/0 = { "/usr/lib/debug" }; given dirs replace it */
    size_t ndebug_dirs;
    size_t cache_bytes; /* 0 = GP_SYMBOLIZER_DEFAULT_CACHE_BYTES */
    int no_kernel;      /* do not read /proc/kallsyms: kernel frames are "[unknown]_[k]" */
    const char
            *kallsyms_cache_dir; /* per-boot kernel symbol file (GP_KALLSYMS_CACHE_DIR), or NULL */
};
struct gp_symbolizer;

int gp_symbolizer_new(const struct gp_symbolizer_opts *o, struct gp_symbolizer **out,
                      struct gp_err *err);
void gp_symbolizer_free(struct gp_symbolizer *s);

/* A process was seen or exec'd: snapshot its executable mappings and open every mapped binary
 * now, while it lives (through /proc/PID/map_files, else /proc/PID/root/<path>). It is cheap
 * (tens of microseconds: no ELF is read here), so call it straight from the event handler;
 * a binary not in the cache yet is read from the descriptor held open when a stack first needs
 * it (or by gp_symbolizer_load_pending()), so it works after the process exits; the descriptor
 * closes when the last process holding it is dropped.
 * Calling it again for a live process re-reads its maps (exec, dlopen); for a process already
 * marked exited (a zombie) it keeps the snapshot. Returns 0, -ESRCH when the process is already
 * gone, or another -errno. A process never noted is noted on its first symbolization. */
int gp_symbolizer_note_process(struct gp_symbolizer *s, uint32_t tgid);
/* The process exited; its snapshot and the symbols it needs are kept until the next
 * gp_symbolizer_gc(). Order per drain: take the samples, symbolize them, then gc: an exit
 * observed before the gc never loses the names of samples already taken. */
void gp_symbolizer_process_exited(struct gp_symbolizer *s, uint32_t tgid);
/* Drops exited processes (closing the binaries only they held), frees frame text returned since
 * the last gc, trims the ELF cache to its budget, re-reads kallsyms after misses (at most once a
 * minute) and, every 16th call, forgets processes that vanished without an exit event. */
void gp_symbolizer_gc(struct gp_symbolizer *s);
/* Reads binaries opened by gp_symbolizer_note_process() but not read yet, oldest first, for
 * about budget_ms (at least one). Returns how many were read. */
int gp_symbolizer_load_pending(struct gp_symbolizer *s, unsigned budget_ms);

/* Names n addresses of one stack, leaf first (user: of process tgid; kernel: tgid ignored).
 * ips are raw: ips[0] is the sampled ip, the others return addresses; the symbolizer looks up
 * ips[i]-1 for i > 0 so a call at the end of a function is named by its caller.
 * out[i] points to text owned by the symbolizer, valid until the next gp_symbolizer_gc().
 * Returns 0 or -errno (-ENOMEM); every out[i] is set even for unknown addresses. */
int gp_symbolize_user(struct gp_symbolizer *s, uint32_t tgid, const uint64_t *ips, uint32_t n,
                      const char **out);
int gp_symbolize_kernel(struct gp_symbolizer *s, const uint64_t *ips, uint32_t n, const char **out);

/* Facts captured when the process was noted, still answered after it exited (until the gc that
 * drops it): comm, container id ("" on the host) and container name. Strings are owned by the
 * symbolizer. Returns 0, or -ENOENT when the process was never noted. */
struct gp_process_facts {
    const char *comm, *container_id, *container_name;
    uint32_t nspid; /* pid inside its pid namespace */
    int exited;
};
int gp_symbolizer_process_facts(struct gp_symbolizer *s, uint32_t tgid,
                                struct gp_process_facts *out);

struct gp_symbolizer_stats {
    uint64_t frames, resolved, unresolved, elf_loaded, cache_bytes;
    /* additions */
    uint64_t processes, processes_exited, elf_cache_hits, elf_build_id_hits, elf_evictions;
    uint64_t elf_pending; /* binaries opened at note time, not read yet */
    /* stripped binaries queued for debuginfod, fetches that failed, binaries named from them */
    uint64_t debuginfod_requested, debuginfod_failed, debuginfod_named;
};
void gp_symbolizer_stats(const struct gp_symbolizer *s, struct gp_symbolizer_stats *out);

/* Process facts for the collapsed line and metadata (also declared in agent/procs/procinfo.h):
 * the container id (64 hex) and name of the process, both "" on the host. */
int gp_proc_container(uint32_t tgid, char *id, size_t idlen, char *name, size_t namelen);

#endif
