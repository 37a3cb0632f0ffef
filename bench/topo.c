/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Topology and placement over hwloc 2.x (see topo.h).
 *
 * Every thread placement is an order over the topology's PUs; thread i
 * takes the i-th PU of the order (wrapping round when oversubscribed):
 *   compact  hwloc's logical order, a depth-first walk of the tree, so a
 *            core's PUs, then the next core of the L3, then the next L3...
 *   scatter  PUs sorted by their path of sibling ranks read from the PU
 *            upwards: threads that follow each other differ at the top of
 *            the tree first (package, then node/L3, then core), and a
 *            core's second PU comes only after every core has one.
 *   smt      the same spread over (core, PU pair) groups, both PUs of a
 *            pair next to each other.
 *   numa     round robin over NUMA nodes, compact within each.
 * In hwloc 2.x NUMA nodes are memory children, not tree levels: a PU's
 * node is the first NUMA node attached to its nearest ancestor that has
 * any, which also picks the sub-NUMA cluster over the package node when
 * both exist.
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hwloc.h>

#include "topo.h"

/* Deepest tree we sort by; real machines are under 12 levels. */
#define TOPO_MAX_DEPTH	32

struct topo {
	hwloc_topology_t h;
	bool this_system;		/* binding and allocation allowed */
	unsigned int nr_pus;
	unsigned int nr_nodes;
	struct pu_info *info;		/* by PU logical index */
	char summary[160];
};

const struct placement_desc topo_placements[] = {
	{ "compact", "fill a core's PUs, then the next core of the L3, then the next L3, node, package" },
	{ "scatter", "consecutive threads on different packages, nodes, L3s, then cores; SMT siblings last" },
	{ "smt", "threads 2k and 2k+1 on the two PUs of one core; pairs spread like scatter" },
	{ "numa", "thread i on NUMA node i % N of the N with PUs, compact within each" },
	{ "list:CPUS", "explicit OS PU numbers in thread order, e.g. list:0,2,4-7" },
};
const size_t topo_nr_placements =
	sizeof(topo_placements) / sizeof(topo_placements[0]);

const struct placement_desc topo_mem_policies[] = {
	{ "local", "struct pages on the NUMA node of thread 0" },
	{ "remote", "struct pages on the node farthest from thread 0 (next node without a distance matrix)" },
	{ "interleave", "struct pages interleaved over the nodes of the placed threads" },
	{ "node:N", "struct pages on NUMA node N (OS number)" },
};
const size_t topo_nr_mem_policies =
	sizeof(topo_mem_policies) / sizeof(topo_mem_policies[0]);

static __attribute__((format(printf, 3, 4)))
void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "a, b, c" from a table's names, for "valid: ..." messages. */
static void list_names(const struct placement_desc *d, size_t nr, char *buf,
		       size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < nr && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
				d[i].name);
}

static int logical_or_minus1(hwloc_obj_t o)
{
	return o ? (int)o->logical_index : -1;
}

/* The NUMA node nearest to obj: the first one its closest ancestor holds. */
static hwloc_obj_t local_node(hwloc_obj_t obj)
{
	for (; obj; obj = obj->parent) {
		hwloc_obj_t m = obj->memory_first_child;

		/* Memory-side caches sit between an object and its node. */
		while (m && m->type != HWLOC_OBJ_NUMANODE)
			m = m->memory_first_child;
		if (m)
			return m;
	}
	return NULL;
}

static hwloc_obj_t pu_obj(const struct topo *t, int pu_os)
{
	if (pu_os < 0)
		return NULL;
	return hwloc_get_pu_obj_by_os_index(t->h, (unsigned int)pu_os);
}

static hwloc_obj_t node_by_logical(const struct topo *t, int idx)
{
	if (idx < 0)
		return NULL;
	return hwloc_get_obj_by_type(t->h, HWLOC_OBJ_NUMANODE, idx);
}

static int fill_info(struct topo *t)
{
	t->info = calloc(t->nr_pus, sizeof(*t->info));
	if (!t->info)
		return -ENOMEM;
	for (unsigned int i = 0; i < t->nr_pus; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(t->h, HWLOC_OBJ_PU, i);
		hwloc_obj_t node = local_node(pu);
		struct pu_info *in = &t->info[i];

		in->pu = (int)pu->os_index;
		in->core = logical_or_minus1(hwloc_get_ancestor_obj_by_type(
					t->h, HWLOC_OBJ_CORE, pu));
		in->l3 = logical_or_minus1(hwloc_get_ancestor_obj_by_type(
					t->h, HWLOC_OBJ_L3CACHE, pu));
		in->package = logical_or_minus1(hwloc_get_ancestor_obj_by_type(
					t->h, HWLOC_OBJ_PACKAGE, pu));
		in->node = logical_or_minus1(node);
		in->node_os = node ? (int)node->os_index : -1;
	}
	return 0;
}

static const char *plural(int n)
{
	return n == 1 ? "" : "s";
}

static void make_summary(struct topo *t)
{
	int pk = hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_PACKAGE);
	int nd = hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_NUMANODE);
	int l3 = hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_L3CACHE);
	int co = hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_CORE);
	int pu = hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_PU);

	snprintf(t->summary, sizeof(t->summary),
		 "%d package%s, %d NUMA node%s, %d L3, %d core%s, %d PU%s",
		 pk, plural(pk), nd, plural(nd), l3, co, plural(co),
		 pu, plural(pu));
}

/* Point hwloc at spec before hwloc_topology_load(); see topo_load(). */
static int set_source(struct topo *t, const char *spec, char *err,
		      size_t errlen)
{
	const char *syn = "synthetic:";
	FILE *f;

	if (!spec)
		return 0;
	if (!strncmp(spec, syn, strlen(syn))) {
		spec += strlen(syn);
		if (hwloc_topology_set_synthetic(t->h, spec) < 0) {
			set_err(err, errlen,
				"invalid synthetic topology '%s': %s", spec,
				strerror(errno ? errno : EINVAL));
			return -EINVAL;
		}
		return 0;
	}
	/* Open it ourselves: hwloc's own errors do not name the file. */
	f = fopen(spec, "r");
	if (!f) {
		int e = errno;

		set_err(err, errlen, "cannot read topology file '%s': %s",
			spec, strerror(e));
		return -e;
	}
	fclose(f);
	if (hwloc_topology_set_xml(t->h, spec) < 0) {
		int e = errno ? errno : EINVAL;

		set_err(err, errlen, "cannot read topology file '%s': %s",
			spec, strerror(e));
		return -e;
	}
	return 0;
}

int topo_load(struct topo **out, const char *spec, char *err, size_t errlen)
{
	struct topo *t;
	int ret;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (hwloc_topology_init(&t->h) < 0) {
		ret = -errno;
		set_err(err, errlen, "hwloc_topology_init: %s",
			strerror(errno));
		goto out_free_topo;
	}
	ret = set_source(t, spec, err, errlen);
	if (ret)
		goto out_destroy;
	if (hwloc_topology_load(t->h) < 0) {
		ret = -EINVAL;
		if (spec)
			set_err(err, errlen,
				"cannot parse topology '%s': not an hwloc topology",
				spec);
		else
			set_err(err, errlen, "cannot discover this machine's topology: %s",
				strerror(errno));
		goto out_destroy;
	}
	t->nr_pus = (unsigned int)hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_PU);
	t->nr_nodes = (unsigned int)hwloc_get_nbobjs_by_type(
						t->h, HWLOC_OBJ_NUMANODE);
	if (!t->nr_pus) {
		ret = -EINVAL;
		set_err(err, errlen, "topology '%s' has no PUs",
			spec ? spec : "this machine");
		goto out_destroy;
	}
	t->this_system = hwloc_topology_is_thissystem(t->h);
	ret = fill_info(t);
	if (ret) {
		set_err(err, errlen, "out of memory");
		goto out_destroy;
	}
	make_summary(t);
	*out = t;
	return 0;

out_destroy:
	hwloc_topology_destroy(t->h);
out_free_topo:
	free(t);
	return ret;
}

void topo_free(struct topo *t)
{
	if (!t)
		return;
	hwloc_topology_destroy(t->h);
	free(t->info);
	free(t);
}

bool topo_is_this_system(const struct topo *t)
{
	return t->this_system;
}

unsigned int topo_nr_pus(const struct topo *t)
{
	return t->nr_pus;
}

unsigned int topo_nr_nodes(const struct topo *t)
{
	return t->nr_nodes;
}

const char *topo_summary(struct topo *t)
{
	return t->summary;
}

int topo_pu_info(const struct topo *t, int pu_os, struct pu_info *out)
{
	hwloc_obj_t pu = pu_obj(t, pu_os);

	if (!pu)
		return -EINVAL;
	*out = t->info[pu->logical_index];
	return 0;
}

/*
 * Sort keys for scatter and smt: a PU's sibling ranks from the bottom of
 * the tree up, after up to two leading words (smt's grouping).
 */
struct pu_key {
	unsigned int logical;
	unsigned int len;
	unsigned int k[TOPO_MAX_DEPTH + 2];
};

static int key_cmp(const void *a, const void *b)
{
	const struct pu_key *x = a, *y = b;
	unsigned int len = x->len < y->len ? x->len : y->len;

	for (unsigned int i = 0; i < len; i++)
		if (x->k[i] != y->k[i])
			return x->k[i] < y->k[i] ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->logical < y->logical ? -1 : x->logical > y->logical;
}

/* Append obj's sibling ranks, obj first, up to (not including) the root. */
static void key_add_path(struct pu_key *key, hwloc_obj_t obj)
{
	for (; obj && obj->parent && key->len < TOPO_MAX_DEPTH + 2;
	     obj = obj->parent)
		key->k[key->len++] = obj->sibling_rank;
}

static void order_by_keys(struct pu_key *keys, unsigned int nr, int *order)
{
	qsort(keys, nr, sizeof(*keys), key_cmp);
	for (unsigned int i = 0; i < nr; i++)
		order[i] = (int)keys[i].logical;
}

static int order_compact(struct topo *t, int *order)
{
	for (unsigned int i = 0; i < t->nr_pus; i++)
		order[i] = (int)i;
	return 0;
}

static int order_scatter(struct topo *t, int *order)
{
	struct pu_key *keys = calloc(t->nr_pus, sizeof(*keys));

	if (!keys)
		return -ENOMEM;
	for (unsigned int i = 0; i < t->nr_pus; i++) {
		keys[i].logical = i;
		key_add_path(&keys[i],
			     hwloc_get_obj_by_type(t->h, HWLOC_OBJ_PU, i));
	}
	order_by_keys(keys, t->nr_pus, order);
	free(keys);
	return 0;
}

/*
 * smt: a core's PUs form pairs (0,1), (2,3)...; whole pairs come before
 * lone PUs (a core with one PU, or the odd one out) so that thread 2k+1
 * shares 2k's core as long as any pair is left; among pairs, the first
 * pair of every core precedes second pairs, spread like scatter.
 */
static int order_smt(struct topo *t, int *order, char *err, size_t errlen)
{
	struct pu_key *keys;
	bool any_pair = false;

	keys = calloc(t->nr_pus, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (unsigned int i = 0; i < t->nr_pus; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(t->h, HWLOC_OBJ_PU, i);
		hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t->h,
							HWLOC_OBJ_CORE, pu);
		unsigned int r = pu->sibling_rank;
		bool paired = core && pu->parent == core &&
			      (r ^ 1) < core->arity;

		any_pair |= paired;
		keys[i].logical = i;
		keys[i].k[keys[i].len++] = !paired;
		keys[i].k[keys[i].len++] = r / 2;
		/* A pair's PUs tie here; logical order puts r before r+1. */
		key_add_path(&keys[i], pu->parent);
	}
	if (!any_pair) {
		free(keys);
		set_err(err, errlen,
			"placement 'smt' needs cores with 2 or more PUs; this topology has none (%s)",
			t->summary);
		return -EINVAL;
	}
	order_by_keys(keys, t->nr_pus, order);
	free(keys);
	return 0;
}

/* numa: round robin over the nodes that own PUs, compact inside each. */
static int order_numa(struct topo *t, int *order)
{
	unsigned int nn = t->nr_nodes ? t->nr_nodes : 1;
	unsigned int *next = calloc(nn, sizeof(*next));
	unsigned int done = 0;

	if (!next)
		return -ENOMEM;
	/* next[node]: the first PU (logical) of node not handed out yet. */
	while (done < t->nr_pus) {
		for (unsigned int nd = 0; nd < nn; nd++) {
			unsigned int p = next[nd];

			while (p < t->nr_pus &&
			       (t->info[p].node < 0 ? 0 : t->info[p].node) !=
			       (int)nd)
				p++;
			next[nd] = p + 1;
			if (p < t->nr_pus)
				order[done++] = (int)p;
		}
	}
	free(next);
	return 0;
}

/* Parse "0,2,4-7" into OS PU numbers, each checked against the topology. */
static int parse_list(struct topo *t, const char *policy, const char *s,
		      bool dups_ok, int **out, unsigned int *nr, char *err,
		      size_t errlen)
{
	char *copy = strdup(s), *save = NULL, *tok, *cur;
	unsigned long *seen = NULL;
	int *list = NULL, ret = 0;
	unsigned int len = 0, cap = 0;
	char all[64];

	hwloc_bitmap_list_snprintf(all, sizeof(all),
				   hwloc_topology_get_topology_cpuset(t->h));
	if (!copy)
		return -ENOMEM;
	if (!*s) {
		set_err(err, errlen, "empty PU list in '%s'", policy);
		ret = -EINVAL;
		goto out;
	}
	/* strtok_r would skip empty entries; walk the commas by hand. */
	for (cur = copy; cur; cur = save) {
		char *end, *dash;
		long lo, hi;

		tok = cur;
		save = strchr(cur, ',');
		if (save)
			*save++ = '\0';
		errno = 0;
		lo = strtol(tok, &end, 10);
		hi = lo;
		dash = end;
		if (end != tok && *dash == '-' && dash[1] >= '0' &&
		    dash[1] <= '9')
			hi = strtol(dash + 1, &end, 10);
		if (end == tok || *end || *tok < '0' || *tok > '9' || errno ||
		    lo > INT_MAX || hi > INT_MAX || hi < lo) {
			set_err(err, errlen, "bad entry '%s' in '%s'", tok,
				policy);
			ret = -EINVAL;
			goto out;
		}
		for (long pu = lo; pu <= hi; pu++) {
			if (!pu_obj(t, (int)pu)) {
				set_err(err, errlen,
					"PU %ld in '%s' is not in this topology (PUs %s)",
					pu, policy, all);
				ret = -EINVAL;
				goto out;
			}
			if (!dups_ok) {
				unsigned int li;
				unsigned long bit;

				li = pu_obj(t, (int)pu)->logical_index;
				bit = 1UL << (li % 64);

				if (!seen)
					seen = calloc(t->nr_pus / 64 + 1,
						      sizeof(*seen));
				if (!seen) {
					ret = -ENOMEM;
					goto out;
				}
				if (seen[li / 64] & bit) {
					set_err(err, errlen,
						"PU %ld appears twice in '%s' (allow oversubscription to share PUs)",
						pu, policy);
					ret = -EINVAL;
					goto out;
				}
				seen[li / 64] |= bit;
			}
			if (len == cap) {
				int *nl;

				cap = cap ? 2 * cap : 16;
				nl = realloc(list, cap * sizeof(*list));
				if (!nl) {
					ret = -ENOMEM;
					goto out;
				}
				list = nl;
			}
			list[len++] = (int)pu;
		}
	}
out:
	free(seen);
	free(copy);
	if (ret) {
		free(list);
		return ret;
	}
	*out = list;
	*nr = len;
	return 0;
}

static int place_list(struct topo *t, const char *policy, unsigned int n,
		      bool oversubscribe, int *pus, char *err, size_t errlen)
{
	unsigned int len;
	int *list, ret;

	ret = parse_list(t, policy, policy + strlen("list:"), oversubscribe,
			 &list, &len, err, errlen);
	if (ret)
		return ret;
	if (n > len && !oversubscribe) {
		set_err(err, errlen,
			"%u threads but '%s' names %u PU%s (allow oversubscription to wrap around)",
			n, policy, len, plural((int)len));
		free(list);
		return -E2BIG;
	}
	for (unsigned int i = 0; i < n; i++)
		pus[i] = list[i % len];
	free(list);
	return 0;
}

int topo_place(struct topo *t, const char *policy, unsigned int n,
	       bool oversubscribe, int *pus, char *err, size_t errlen)
{
	char names[160];
	int *order, ret;

	if (!strncmp(policy, "list:", strlen("list:")))
		return place_list(t, policy, n, oversubscribe, pus, err,
				  errlen);
	if (strcmp(policy, "compact") && strcmp(policy, "scatter") &&
	    strcmp(policy, "smt") && strcmp(policy, "numa")) {
		list_names(topo_placements, topo_nr_placements, names,
			   sizeof(names));
		set_err(err, errlen, "unknown placement '%s' (valid: %s)",
			policy, names);
		return -EINVAL;
	}
	if (n > t->nr_pus && !oversubscribe) {
		set_err(err, errlen,
			"%u threads but the topology has %u PU%s (allow oversubscription to wrap around)",
			n, t->nr_pus, plural((int)t->nr_pus));
		return -E2BIG;
	}
	order = calloc(t->nr_pus, sizeof(*order));
	if (!order) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!strcmp(policy, "compact"))
		ret = order_compact(t, order);
	else if (!strcmp(policy, "scatter"))
		ret = order_scatter(t, order);
	else if (!strcmp(policy, "smt"))
		ret = order_smt(t, order, err, errlen);
	else
		ret = order_numa(t, order);
	if (ret == -ENOMEM)
		set_err(err, errlen, "out of memory");
	for (unsigned int i = 0; !ret && i < n; i++)
		pus[i] = t->info[order[i % t->nr_pus]].pu;
	free(order);
	return ret;
}

/*
 * The node farthest from local by the first latency matrix that holds
 * both; without one, the next node (by logical index, wrapping) whose
 * CPUs are not local's, or the next node if every one shares them (a
 * package's HBM or CXL node beside its DRAM is no remote memory). Nodes
 * without memory are never chosen, unless the topology records no memory
 * sizes at all (synthetic ones). NULL if there is no other node.
 */
static hwloc_obj_t remote_node(struct topo *t, hwloc_obj_t local)
{
	bool sized = hwloc_get_root_obj(t->h)->total_memory > 0;
	struct hwloc_distances_s *d = NULL;
	unsigned int nr = 1, nn = t->nr_nodes;
	hwloc_obj_t best = NULL, next = NULL;
	hwloc_uint64_t best_v = 0;

	if (hwloc_distances_get_by_type(t->h, HWLOC_OBJ_NUMANODE, &nr, &d,
					HWLOC_DISTANCES_KIND_MEANS_LATENCY,
					0) < 0 || !nr)
		d = NULL;
	if (d && hwloc_distances_obj_index(d, local) < 0) {
		hwloc_distances_release(t->h, d);
		d = NULL;
	}
	/* Scan from the next node on, so ties go to the nearest in order. */
	for (unsigned int i = 1; i < nn; i++) {
		unsigned int idx = (local->logical_index + i) % nn;
		hwloc_obj_t o = node_by_logical(t, (int)idx);
		hwloc_uint64_t to = 0, from = 0;

		if (!o || (sized && !o->attr->numanode.local_memory))
			continue;
		if (!d) {
			if (!next)
				next = o;
			if (!hwloc_bitmap_intersects(o->cpuset, local->cpuset)) {
				best = o;
				break;
			}
			continue;
		}
		if (hwloc_distances_obj_pair_values(d, local, o, &to,
						    &from) < 0)
			continue;
		if (!best || to > best_v) {
			best = o;
			best_v = to;
		}
	}
	if (d)
		hwloc_distances_release(t->h, d);
	return best ? best : next;
}

static void plan_one(struct mem_place *out, hwloc_obj_t node)
{
	out->node = (int)node->os_index;
	snprintf(out->nodes, sizeof(out->nodes), "%u", node->os_index);
}

static int plan_node(struct topo *t, const char *policy, const char *arg,
		     struct mem_place *out, char *err, size_t errlen)
{
	hwloc_obj_t node = NULL;
	char *end, all[64];
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (end != arg && !*end && !errno && n >= 0 && n <= INT_MAX)
		node = hwloc_get_numanode_obj_by_os_index(t->h,
							  (unsigned int)n);
	if (!node) {
		hwloc_bitmap_list_snprintf(all, sizeof(all),
				hwloc_topology_get_topology_nodeset(t->h));
		set_err(err, errlen,
			"'%s': no NUMA node '%s' in this topology (nodes %s)",
			policy, arg, all);
		return -EINVAL;
	}
	plan_one(out, node);
	return 0;
}

static void plan_set(struct mem_place *out, hwloc_const_nodeset_t set)
{
	hwloc_bitmap_list_snprintf(out->nodes, sizeof(out->nodes), set);
	if (hwloc_bitmap_weight(set) == 1) {
		out->node = hwloc_bitmap_first(set);
		snprintf(out->note, sizeof(out->note),
			 "one NUMA node: interleave is local");
	} else {
		out->node = -1;
	}
}

int topo_mem_plan_threads(struct topo *t, const char *policy, const int *pus,
			  unsigned int n, struct mem_place *out, char *err,
			  size_t errlen)
{
	hwloc_obj_t local, far;
	struct pu_info in;
	char names[160];

	memset(out, 0, sizeof(*out));
	snprintf(out->policy, sizeof(out->policy), "%s", policy);
	if (!n || topo_pu_info(t, pus[0], &in)) {
		set_err(err, errlen, "memory plan: PU %d is not in this topology",
			n ? pus[0] : -1);
		return -EINVAL;
	}
	local = node_by_logical(t, in.node < 0 ? 0 : in.node);
	if (!strcmp(policy, "local")) {
		plan_one(out, local);
	} else if (!strcmp(policy, "remote")) {
		far = remote_node(t, local);
		if (!far) {
			far = local;
			out->degraded = true;
			snprintf(out->note, sizeof(out->note),
				 "no other NUMA node with memory: remote is local");
		}
		plan_one(out, far);
	} else if (!strcmp(policy, "interleave")) {
		hwloc_nodeset_t set = hwloc_bitmap_alloc();

		if (!set) {
			set_err(err, errlen, "out of memory");
			return -ENOMEM;
		}
		for (unsigned int i = 0; i < n; i++) {
			if (topo_pu_info(t, pus[i], &in) || in.node < 0)
				continue;
			hwloc_bitmap_set(set,
					 node_by_logical(t, in.node)->os_index);
		}
		plan_set(out, set);
		hwloc_bitmap_free(set);
	} else if (!strncmp(policy, "node:", strlen("node:"))) {
		return plan_node(t, policy, policy + strlen("node:"), out, err,
				 errlen);
	} else {
		list_names(topo_mem_policies, topo_nr_mem_policies, names,
			   sizeof(names));
		set_err(err, errlen, "unknown memory placement '%s' (valid: %s)",
			policy, names);
		return -EINVAL;
	}
	return 0;
}

int topo_mem_plan(struct topo *t, const char *policy, int first_pu,
		  struct mem_place *out, char *err, size_t errlen)
{
	int ret;

	ret = topo_mem_plan_threads(t, policy, &first_pu, 1, out, err, errlen);
	/* Without the other threads, interleave means every node. */
	if (!ret && !strcmp(policy, "interleave")) {
		out->note[0] = '\0';
		plan_set(out, hwloc_topology_get_topology_nodeset(t->h));
	}
	return ret;
}

/* Append "; msg" (or msg) to mp->note and mark the plan degraded. */
static void degrade(struct mem_place *mp, const char *msg)
{
	size_t len = strlen(mp->note);

	mp->degraded = true;
	snprintf(mp->note + len, sizeof(mp->note) - len, "%s%s",
		 len ? "; " : "", msg);
}

/*
 * Our own mmap bound with hwloc_set_area_membind() rather than
 * hwloc_alloc_membind(): the fallback and the bound case are then the same
 * kind of mapping, freed the same way.
 */
void *topo_alloc(struct topo *t, struct mem_place *mp, size_t size)
{
	hwloc_nodeset_t set;
	char msg[128];
	void *p;

	if (!t->this_system || !size) {
		errno = EINVAL;
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	set = hwloc_bitmap_alloc();
	if (!set || (mp->node >= 0 ? hwloc_bitmap_only(set, mp->node) :
		     hwloc_bitmap_list_sscanf(set, mp->nodes)) < 0 ||
	    hwloc_bitmap_iszero(set)) {
		degrade(mp, "no node to bind to: plain pages");
		goto out;
	}
	if (hwloc_set_area_membind(t->h, p, size, set,
				   hwloc_bitmap_weight(set) > 1 ?
				   HWLOC_MEMBIND_INTERLEAVE :
				   HWLOC_MEMBIND_BIND,
				   HWLOC_MEMBIND_BYNODESET |
				   HWLOC_MEMBIND_STRICT) < 0) {
		snprintf(msg, sizeof(msg), "cannot bind to node %s (%s): plain pages",
			 mp->nodes, strerror(errno));
		degrade(mp, msg);
	}
out:
	hwloc_bitmap_free(set);
	return p;
}

void topo_free_mem(struct topo *t, void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

int topo_bind_self(struct topo *t, int pu_os)
{
	hwloc_obj_t pu = pu_obj(t, pu_os);

	if (!pu || !t->this_system)
		return -EINVAL;
	if (!hwloc_set_cpubind(t->h, pu->cpuset,
			       HWLOC_CPUBIND_THREAD | HWLOC_CPUBIND_STRICT))
		return 0;
	/* STRICT is refused where the OS cannot promise it; bind anyway. */
	if (errno != ENOSYS && errno != EXDEV)
		return -errno;
	if (!hwloc_set_cpubind(t->h, pu->cpuset, HWLOC_CPUBIND_THREAD))
		return 0;
	return errno ? -errno : -EINVAL;
}

int topo_current_pu(void)
{
	int cpu = sched_getcpu();

	return cpu < 0 ? -errno : cpu;
}

void topo_print_plan(FILE *f, struct topo *t, const int *pus,
		     const char *const *roles, unsigned int n,
		     const struct mem_place *mp)
{
	for (unsigned int i = 0; i < n; i++) {
		const char *role = roles && roles[i] ? roles[i] : "-";
		struct pu_info in;

		if (topo_pu_info(t, pus[i], &in)) {
			fprintf(f, "thread %u: pu %d (not in topology) role %s\n",
				i, pus[i], role);
			continue;
		}
		fprintf(f, "thread %u: pu %d core %d l3 %d node %d package %d role %s\n",
			i, in.pu, in.core, in.l3, in.node_os, in.package, role);
	}
	if (!mp)
		return;
	fprintf(f, "memory: struct pages on node%s %s (%s%s%s)\n",
		mp->node < 0 ? "s" : "", mp->nodes, mp->policy,
		mp->degraded ? ", degraded: " : "",
		mp->degraded ? mp->note : "");
}

int topo_export_xml(struct topo *t, const char *path)
{
	size_t len = strlen(path) + sizeof(".tmp");
	char *tmp = malloc(len);
	int ret = 0;

	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, len, "%s.tmp", path);
	errno = 0;
	if (hwloc_topology_export_xml(t->h, tmp, 0) < 0) {
		ret = errno ? -errno : -EIO;
		unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		ret = -errno;
		unlink(tmp);
	}
	free(tmp);
	return ret;
}
