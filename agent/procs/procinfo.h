/* procinfo.h — facts about a process from /proc: exe, its pid inside its pid namespace,
 * whether it lives in another mount namespace, and its container (id, runtime, name) from cgroups.
 */
#ifndef GPROF_AGENT_PROCS_PROCINFO_H
#define GPROF_AGENT_PROCS_PROCINFO_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* Target of /proc/PID/exe as the process sees it (inside its mount namespace). */
int gp_proc_exe(uint32_t tgid, char *buf, size_t len);
/* The innermost pid of the process: tgid in our pid namespace, else the last NSpid field of
 * /proc/PID/status (tgid when the kernel has no NSpid line). Returns 0 or -errno. */
int gp_proc_nspid(uint32_t tgid, uint32_t *nspid);
/* Parsers of the /proc texts above, for tests and fuzzing. gp_proc_status_nspid sets *nspid to the
 * last NSpid field of a NUL-terminated /proc/PID/status (unchanged when there is none).
 * gp_proc_stat_parse reads starttime (field 22) and, when not NULL, ppid (field 4) and comm
 * (field 2) of /proc/PID/stat; -EINVAL when malformed. */
void gp_proc_status_nspid(const char *status, uint32_t *nspid);
int gp_proc_stat_parse(const char *stat, uint64_t *starttime, uint32_t *ppid, char comm[16]);
/* 1 when the process's mount namespace differs from ours, 0 when the same, -errno. */
int gp_proc_other_mntns(uint32_t tgid);

/* Finds a container id in the text of /proc/PID/cgroup. Recognized forms:
 *   docker   /docker/<id>, /system.slice/docker-<id>.scope
 *   containerd (k8s) /kubepods/.../pod<uid>/<id>, .../cri-containerd-<id>.scope
 *   cri-o    .../crio-<id>.scope, /crio/<id>
 *   podman   .../libpod-<id>.scope[/container], /libpod_parent/libpod-<id>
 * <id> is 64 hex digits. runtime is "docker", "containerd", "cri-o", "podman" or "".
 * Returns 1 when found, 0 when not in a container. */
int gp_cgroup_container_id(const char *cgroup_text, char *id, size_t idlen, char *runtime,
                           size_t rtlen);
/* The name a runtime's state file (parsed JSON) gives container id; 1 when found. */
int gp_container_name_from_json(json_object *root, const char *id, char *name, size_t namelen);
/* Looks the container's name up in the runtime's state under state_root ("/" on a host):
 * docker  <root>var/lib/docker/containers/<id>/config.v2.json  "Name"
 * containerd <root>run/containerd/io.containerd.runtime.v2.task/k8s.io/<id>/config.json
 * cri-o   <root>run/containers/storage/overlay-containers/<id>/userdata/config.json
 *         (annotation io.kubernetes.cri.container-name / io.kubernetes.container.name)
 * podman  <root>var/lib/containers/storage/overlay-containers/containers.json "names".
 * Falls back to the first 12 hex digits of the id. Returns 1 when a real name was found. */
int gp_container_name_lookup(const char *state_root, const char *runtime, const char *id,
                             char *name, size_t namelen);

/* The container id and runtime of a process (both "" on the host), without the name lookup.
 * Returns 0 or -errno (-ESRCH when gone). */
int gp_proc_container_id(uint32_t tgid, char *id, size_t idlen, char *runtime, size_t rtlen);

/* Process facts for the collapsed line and metadata: id and name of the process's container,
 * both "" when it runs on the host. Returns 0, or -errno when the process cannot be read. */
int gp_proc_container(uint32_t tgid, char *id, size_t idlen, char *name, size_t namelen);
/* The same, looking names up in the runtimes' state under state_root (tests; "/" normally). */
int gp_proc_container_at(uint32_t tgid, const char *state_root, char *id, size_t idlen, char *name,
                         size_t namelen);

#endif
