/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Topology and placement over hwloc: which PU each worker thread runs on
 * and which NUMA node(s) hold the struct-page array.
 *
 * A topology is this machine, an hwloc XML file or an hwloc synthetic
 * string, so the placement logic (and --plan) can be exercised for a
 * 4-node machine on a 1-node box. Only binding and allocation need the
 * topology to be this machine.
 *
 * Indexes: PUs are always OS indexes (what sched_getcpu() and taskset
 * use); the core, L3, node and package fields of struct pu_info and the
 * core, L3 and package columns of --plan are hwloc logical indexes; the
 * node column of --plan (pu_info.node_os) and memory nodes (struct
 * mem_place, "node:N") are OS node numbers, as numactl and the kernel
 * count them, so a thread's node and its memory's compare.
 */
#ifndef GUPBENCH_TOPO_H
#define GUPBENCH_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct topo;

/*
 * Load a topology. spec: NULL for this machine, "synthetic:STRING" for an
 * hwloc synthetic description ("pack:2 [numa] l3:2 core:4 pu:2"),
 * anything else is the path of an hwloc XML file. Returns 0 or -errno,
 * with a one-line reason in err on failure.
 */
int topo_load(struct topo **out, const char *spec, char *err, size_t errlen);
void topo_free(struct topo *t);

/* True when the topology describes the machine we run on. */
bool topo_is_this_system(const struct topo *t);
unsigned int topo_nr_pus(const struct topo *t);
/* NUMA nodes, CPU-less (memory-only) nodes included. */
unsigned int topo_nr_nodes(const struct topo *t);

/* "2 packages, 4 NUMA nodes, 8 L3, 32 cores, 64 PUs"; owned by t. */
const char *topo_summary(struct topo *t);

/* Where one PU sits. pu is the OS index, the rest logical, -1 if absent. */
struct pu_info {
	int pu;
	int core;
	int l3;
	int node;		/* the nearest NUMA node: its first local one */
	int package;
	int node_os;		/* that node's OS number (-1: none) */
};

/* 0, or -EINVAL if pu_os is not a PU of this topology. */
int topo_pu_info(const struct topo *t, int pu_os, struct pu_info *out);

/* A name and a one-line description: drives --list and --help. */
struct placement_desc {
	const char *name;
	const char *desc;
};

/* Thread placements (topo_place()) and memory placements (topo_mem_plan()). */
extern const struct placement_desc topo_placements[];
extern const size_t topo_nr_placements;
extern const struct placement_desc topo_mem_policies[];
extern const size_t topo_nr_mem_policies;

/*
 * Fill pus[0..n-1] with the OS PU index of each thread under policy
 * ("compact", "scatter", "smt", "numa", "list:0,2,4-7"). More threads than
 * PUs (or than listed PUs) is -E2BIG unless oversubscribe, which wraps
 * around. An unknown policy is -EINVAL naming the valid ones; a malformed
 * list is -EINVAL naming the bad entry; "smt" on a topology without SMT
 * is -EINVAL.
 */
int topo_place(struct topo *t, const char *policy, unsigned int n,
	       bool oversubscribe, int *pus, char *err, size_t errlen);

/* Where the struct pages go, as planned by topo_mem_plan(). */
struct mem_place {
	char policy[32];	/* as given: "local", "node:2", ... */
	int node;		/* OS node index; -1 when interleaved */
	char nodes[64];		/* OS node list: "0", "0-3", "0,2" */
	bool degraded;		/* not what was asked for, see note */
	char note[128];		/* why degraded, or an empty string */
};

/*
 * Plan the struct-page memory for threads whose first PU is first_pu:
 * "local" (thread 0's node), "remote" (the farthest node from it by the
 * distance matrix, else the next node; on a 1-node topology the same node,
 * degraded), "interleave" (every NUMA node of the topology) or "node:N".
 * 0 or -EINVAL with a message.
 */
int topo_mem_plan(struct topo *t, const char *policy, int first_pu,
		  struct mem_place *out, char *err, size_t errlen);

/*
 * As topo_mem_plan() with the whole placement known: "local" and "remote"
 * are relative to pus[0]; "interleave" spreads over the nodes of pus[]
 * only (one node: the same memory as "local").
 */
int topo_mem_plan_threads(struct topo *t, const char *policy, const int *pus,
			  unsigned int n, struct mem_place *out, char *err,
			  size_t errlen);

/*
 * Map size bytes (page aligned, zeroed, not yet faulted in) bound as mp
 * says. Where binding fails (no NUMA support, no permission) the memory is
 * plain and mp->degraded and mp->note say so. NULL with errno set on
 * failure, or EINVAL when t is not this machine. Free with topo_free_mem().
 */
void *topo_alloc(struct topo *t, struct mem_place *mp, size_t size);
void topo_free_mem(struct topo *t, void *p, size_t size);

/* Bind the calling thread to PU pu_os (strictly where hwloc can). 0/-errno. */
int topo_bind_self(struct topo *t, int pu_os);

/* OS index of the PU the calling thread runs on now, or -errno. */
int topo_current_pu(void);

/*
 * --plan: one line per thread,
 *   "thread 0: pu 3 core 1 l3 0 node 0 package 0 role pin"
 * (absent levels print -1, a NULL roles or roles[i] prints "-"), then,
 * when mp is not NULL,
 *   "memory: struct pages on node 0 (local)"
 *   "memory: struct pages on nodes 0-3 (interleave)"
 * with ", degraded: NOTE" inside the parentheses when mp->degraded.
 */
void topo_print_plan(FILE *f, struct topo *t, const int *pus,
		     const char *const *roles, unsigned int n,
		     const struct mem_place *mp);

/* Write the topology as hwloc XML to path (via path.tmp, then rename). */
int topo_export_xml(struct topo *t, const char *path);

#endif
