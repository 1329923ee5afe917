/* loader.h — reads ELF symbol tables and /proc/kallsyms on a background thread, so noting a
 * process (in the sampler's event handler) and the drain loop never wait on disk or parsing. */
#ifndef GPROF_AGENT_SYMBOLS_LOADER_H
#define GPROF_AGENT_SYMBOLS_LOADER_H

#include <stddef.h>

#include "agent/symbols/elfcache.h"
#include "agent/symbols/elfsyms.h"
#include "agent/symbols/rangetab.h"
#include "common/err.h"

struct gp_loader;

/* Starts the worker. dirs (debug directories) must outlive the loader. */
int gp_loader_new(const char *const *dirs, size_t ndirs, struct gp_loader **out);
/* Stops and joins the worker; closes the files of jobs never taken and frees their results. */
void gp_loader_free(struct gp_loader *l);

/* Queues the ELF open at fd (identity k). Takes ownership of fd, rootfd (an O_PATH handle on the
 * process's root for debug-file lookups, or -1) and path (malloc'd; the path the process sees)
 * on success; returns -ENOMEM and leaves them to the caller otherwise. */
int gp_loader_queue_elf(struct gp_loader *l, const struct gp_elf_key *k, int fd, int rootfd,
                        char *path);
/* 1 when a job for k is queued, being read, or read and not taken yet. */
int gp_loader_has(struct gp_loader *l, const struct gp_elf_key *k);
/* Takes the result for k, waiting for the worker if it is reading it, or reading it on the
 * calling thread if it has not started. Returns 1 (and *syms, NULL when it is not a readable
 * ELF), or 0 when there is no job for k. */
int gp_loader_take(struct gp_loader *l, const struct gp_elf_key *k, struct gp_elfsyms **syms);
/* Takes one finished result without waiting. Returns 1 when one was taken, else 0. */
int gp_loader_take_done(struct gp_loader *l, struct gp_elf_key *k, struct gp_elfsyms **syms);
/* Jobs queued or running or finished and not taken. */
size_t gp_loader_pending(struct gp_loader *l);

/* Queues a read of /proc/kallsyms (no-op when one is queued, running or not taken yet). */
void gp_loader_queue_kallsyms(struct gp_loader *l);
/* Takes the kallsyms result into t: returns 1 when taken, 0 when none is ready (wait=0) or none
 * was queued, or the negative error of the read (err filled). With wait set it waits for a
 * queued or running read. */
int gp_loader_take_kallsyms(struct gp_loader *l, int wait, struct gp_rangetab *t,
                            struct gp_err *err);

#endif
