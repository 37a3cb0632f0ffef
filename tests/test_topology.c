/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench/topo.c: topology loading, thread placement policies, memory
 * placement plans and the --plan format, on synthetic and XML topologies
 * (so multi-node logic is checked on a 1-node box), then binding and
 * allocation on this machine (the kernel's memory policy and page nodes).
 */
#include <errno.h>
#include <linux/mempolicy.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "topo.h"
#include "unit.h"

#define MAXPU	64

/* Fixtures: a NUMA latency matrix; cores with unequal PU counts. */
#define DIST_XML "tests/topologies/4node-distances.xml"
#define HYBRID_XML "tests/topologies/hybrid.xml"
/* 2 packages, each a DRAM and an HBM node: OS nodes 0,2 | 1,3; no matrix */
#define HBM_XML "tests/topologies/hbm-2pack.xml"

#define TOPO_A	"synthetic:pack:2 [numa] l3:2 core:4 pu:2"
#define TOPO_SNC "synthetic:pack:2 l3:2 [numa] core:4 pu:2"
#define TOPO_NOSMT "synthetic:pack:2 [numa] core:6 pu:1"
#define TOPO_INTEL "synthetic:pack:2 [numa] l3:1 core:4 pu:2(indexes=0,8,1,9,2,10,3,11,4,12,5,13,6,14,7,15)"

static char err[256];

/*
 * A fixture under the repository root: found from the current directory
 * (tests/run.sh runs there) or from the binary, build/{obj,san}/tests/.
 */
static const char *fixture(const char *rel)
{
	static char path[4096];
	ssize_t len;
	char *slash;

	if (!access(rel, R_OK))
		return rel;
	len = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (len <= 0)
		return rel;
	path[len] = '\0';
	for (int up = 0; up < 4; up++) {
		slash = strrchr(path, '/');
		if (!slash)
			return rel;
		*slash = '\0';
	}
	if (strlen(path) + strlen(rel) + 2 > sizeof(path))
		return rel;
	strcat(path, "/");
	strcat(path, rel);
	return path;
}

static struct topo *load(const char *spec)
{
	struct topo *t = NULL;
	int ret = topo_load(&t, spec, err, sizeof(err));

	CHECK_MSG(ret == 0 && t, "topo_load(%s) = %d: %s",
		  spec ? spec : "NULL", ret, err);
	return t;
}

static struct pu_info info(struct topo *t, int pu)
{
	struct pu_info in;

	CHECK_MSG(topo_pu_info(t, pu, &in) == 0, "PU %d", pu);
	CHECK_EQ(in.pu, pu);
	return in;
}

static void place(struct topo *t, const char *policy, unsigned int n,
		  int *pus)
{
	int ret = topo_place(t, policy, n, false, pus, err, sizeof(err));

	CHECK_MSG(ret == 0, "%s x%u = %d: %s", policy, n, ret, err);
}

/* Every PU of the topology exactly once: the order is a permutation. */
static void check_permutation(struct topo *t, const int *pus)
{
	unsigned int nr = topo_nr_pus(t);
	bool seen[MAXPU] = { false };

	for (unsigned int i = 0; i < nr; i++) {
		struct pu_info in = info(t, pus[i]);

		CHECK_MSG(in.pu < MAXPU && !seen[in.pu], "PU %d twice", in.pu);
		seen[in.pu] = true;
	}
}

/*
 * Synthetic machines the placement properties are checked on. Counts are
 * what the summary must say; smt: cores have two PUs.
 */
struct topo_case {
	const char *spec;
	const char *summary;
	unsigned int packages, nodes, l3s, cores, pus;
	bool smt;
};

static const struct topo_case topos[] = {
	/* Two packages, a node and two L3s each: the common server. */
	{ TOPO_A,
	  "2 packages, 2 NUMA nodes, 4 L3, 16 cores, 32 PUs", 2, 2, 4, 16, 32,
	  true },
	/* Sub-NUMA clustering: a node per L3, four in all. */
	{ TOPO_SNC,
	  "2 packages, 4 NUMA nodes, 4 L3, 16 cores, 32 PUs", 2, 4, 4, 16, 32,
	  true },
	/* Four nodes and no L3 level at all. */
	{ "synthetic:pack:4 [numa] core:4 pu:2",
	  "4 packages, 4 NUMA nodes, 0 L3, 16 cores, 32 PUs", 4, 4, 0, 16, 32,
	  true },
	/* No SMT, no L3: smt must refuse, the others still place. */
	{ TOPO_NOSMT,
	  "2 packages, 2 NUMA nodes, 0 L3, 12 cores, 12 PUs", 2, 2, 0, 12, 12,
	  false },
	/* Intel numbering: siblings are N and N+8, so OS != logical index. */
	{ TOPO_INTEL,
	  "2 packages, 2 NUMA nodes, 2 L3, 8 cores, 16 PUs", 2, 2, 2, 8, 16,
	  true },
};

/* Loading gives the expected counts and summary line. */
static void tc_counts(void *arg)
{
	const struct topo_case *c = arg;
	struct topo *t = load(c->spec);

	CHECK_MSG(!strcmp(topo_summary(t), c->summary), "got '%s'",
		  topo_summary(t));
	CHECK_EQ(topo_nr_pus(t), c->pus);
	CHECK_EQ(topo_nr_nodes(t), c->nodes);
	CHECK(!topo_is_this_system(t));
	topo_free(t);
}

/* compact: thread 1 on thread 0's core, the first L3's worth in one L3. */
static void tc_compact(void *arg)
{
	const struct topo_case *c = arg;
	struct topo *t = load(c->spec);
	unsigned int per_l3 = c->l3s ? c->pus / c->l3s : 0;
	unsigned int per_pkg = c->pus / c->packages;
	int pus[MAXPU];

	place(t, "compact", c->pus, pus);
	check_permutation(t, pus);
	if (c->smt)
		CHECK_EQ(info(t, pus[0]).core, info(t, pus[1]).core);
	else
		CHECK(info(t, pus[0]).core != info(t, pus[1]).core);
	for (unsigned int i = 1; i < per_l3; i++)
		CHECK_EQ(info(t, pus[i]).l3, info(t, pus[0]).l3);
	for (unsigned int i = 1; i < per_pkg; i++)
		CHECK_EQ(info(t, pus[i]).package, info(t, pus[0]).package);
	CHECK(info(t, pus[per_pkg]).package != info(t, pus[0]).package);
	topo_free(t);
}

/* scatter: packages first, every node and core before any SMT sibling. */
static void tc_scatter(void *arg)
{
	const struct topo_case *c = arg;
	struct topo *t = load(c->spec);
	int pus[MAXPU];

	place(t, "scatter", c->pus, pus);
	check_permutation(t, pus);
	for (unsigned int i = 0; i + 1 < c->packages; i++)
		CHECK(info(t, pus[i]).package != info(t, pus[i + 1]).package);
	for (unsigned int i = 0; i < c->nodes; i++)
		for (unsigned int j = 0; j < i; j++)
			CHECK(info(t, pus[i]).node != info(t, pus[j]).node);
	for (unsigned int i = 0; i < c->cores; i++)
		for (unsigned int j = 0; j < i; j++)
			CHECK(info(t, pus[i]).core != info(t, pus[j]).core);
	topo_free(t);
}

/* smt: 2k and 2k+1 share a core, pairs alternate packages; no SMT: error. */
static void tc_smt(void *arg)
{
	const struct topo_case *c = arg;
	struct topo *t = load(c->spec);
	int pus[MAXPU], ret;

	ret = topo_place(t, "smt", c->pus, false, pus, err, sizeof(err));
	if (!c->smt) {
		CHECK_EQ(ret, -EINVAL);
		CHECK_MSG(strstr(err, "smt"), "err '%s'", err);
		topo_free(t);
		return;
	}
	CHECK_MSG(ret == 0, "%s", err);
	check_permutation(t, pus);
	for (unsigned int k = 0; k < c->pus / 2; k++)
		CHECK_EQ(info(t, pus[2 * k]).core,
			 info(t, pus[2 * k + 1]).core);
	CHECK(info(t, pus[0]).package != info(t, pus[2]).package);
	for (unsigned int i = 0; i < c->cores; i++)
		for (unsigned int j = 0; j < i; j++)
			CHECK(info(t, pus[2 * i]).core !=
			      info(t, pus[2 * j]).core);
	topo_free(t);
}

/* numa: thread i on node i % nodes, compact (core first) inside a node. */
static void tc_numa(void *arg)
{
	const struct topo_case *c = arg;
	struct topo *t = load(c->spec);
	int pus[MAXPU];

	place(t, "numa", c->pus, pus);
	check_permutation(t, pus);
	for (unsigned int i = 0; i < c->pus; i++)
		CHECK_EQ(info(t, pus[i]).node, (int)(i % c->nodes));
	if (c->smt)
		CHECK_EQ(info(t, pus[0]).core, info(t, pus[c->nodes]).core);
	topo_free(t);
}

/* Too many threads is -E2BIG; oversubscribe wraps round the same order. */
static void tc_oversubscribe(void *arg)
{
	const struct topo_case *c = arg;
	const char *pols[] = { "compact", "scatter", "numa" };
	struct topo *t = load(c->spec);
	int pus[2 * MAXPU];

	for (size_t p = 0; p < 3; p++) {
		CHECK_EQ(topo_place(t, pols[p], c->pus + 1, false, pus, err,
				    sizeof(err)), -E2BIG);
		CHECK_MSG(strstr(err, "oversubscri"), "err '%s'", err);
		CHECK_EQ(topo_place(t, pols[p], 2 * c->pus, true, pus, err,
				    sizeof(err)), 0);
		for (unsigned int i = 0; i < c->pus; i++)
			CHECK_EQ(pus[i + c->pus], pus[i]);
	}
	topo_free(t);
}

/* Exact orders, so a property-preserving but wrong order still fails. */
static void tc_exact_orders(void *arg)
{
	static const struct {
		const char *spec;
		const char *policy;
		int want[4];
	} cases[] = {
		{ TOPO_A, "compact", { 0, 1, 2, 3 } },
		{ TOPO_A, "scatter", { 0, 16, 8, 24 } },
		{ TOPO_A, "smt",     { 0, 1, 16, 17 } },
		{ TOPO_A, "numa",    { 0, 16, 1, 17 } },
		{ TOPO_SNC, "numa",  { 0, 8, 16, 24 } },
		/* OS numbers, not logical ones: 8 is PU 0's sibling. */
		{ TOPO_INTEL, "compact", { 0, 8, 1, 9 } },
		{ TOPO_INTEL, "scatter", { 0, 4, 1, 5 } },
		{ TOPO_INTEL, "smt",     { 0, 8, 4, 12 } },
		{ TOPO_NOSMT, "smt",     { -1 } },
		{ TOPO_NOSMT, "scatter", { 0, 6, 1, 7 } },
		/* SMT4: a core's first pair, then another core's first pair. */
		{ "synthetic:pack:2 core:2 pu:4", "smt", { 0, 1, 8, 9 } },
		{ "synthetic:pack:2 core:2 pu:4", "scatter", { 0, 8, 4, 12 } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct topo *t = load(cases[i].spec);
		int pus[4];

		if (cases[i].want[0] < 0) {
			CHECK(topo_place(t, cases[i].policy, 4, false, pus,
					 err, sizeof(err)) < 0);
		} else {
			place(t, cases[i].policy, 4, pus);
			for (int j = 0; j < 4; j++)
				CHECK_MSG(pus[j] == cases[i].want[j],
					  "case %zu %s thread %d: pu %d, want %d",
					  i, cases[i].policy, j, pus[j],
					  cases[i].want[j]);
		}
		topo_free(t);
	}
}

/*
 * Cores with unequal PU counts (fixture): smt hands out whole sibling
 * pairs before lone PUs, scatter every core before a second sibling.
 */
static void tc_hybrid(void *arg)
{
	static const struct {
		const char *policy;
		int want[8];
	} cases[] = {
		{ "compact", { 0, 2, 4, 6, 8, 9, 10, 11 } },
		{ "scatter", { 0, 2, 4, 6, 8, 10, 9, 11 } },
		{ "smt",     { 8, 9, 10, 11, 0, 2, 4, 6 } },
		{ "numa",    { 0, 2, 4, 6, 8, 9, 10, 11 } },
	};
	struct topo *t;
	int pus[8];

	t = load(fixture(HYBRID_XML));
	CHECK_MSG(!strcmp(topo_summary(t),
			  "1 package, 1 NUMA node, 1 L3, 6 cores, 8 PUs"),
		  "'%s'", topo_summary(t));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		place(t, cases[i].policy, 8, pus);
		for (int j = 0; j < 8; j++)
			CHECK_MSG(pus[j] == cases[i].want[j],
				  "%s thread %d: pu %d, want %d",
				  cases[i].policy, j, pus[j], cases[i].want[j]);
	}
	/* OS numbers have holes: PU 1 does not exist. */
	CHECK_EQ(topo_place(t, "list:0-2", 3, false, pus, err, sizeof(err)),
		 -EINVAL);
	CHECK_MSG(strstr(err, "PU 1 "), "'%s'", err);
	topo_free(t);
}

/* pu_info columns are logical indexes, -1 for a missing level. */
static void tc_pu_info(void *arg)
{
	static const struct {
		const char *spec;
		struct pu_info want;
	} cases[] = {
		/* { pu, core, l3, node, package, node_os } */
		{ TOPO_SNC, {  9,  4,  1,  1,  0,  1 } },
		{ TOPO_SNC, { 31, 15,  3,  3,  1,  3 } },
		{ TOPO_NOSMT, {  7,  7, -1,  1,  1,  1 } },	/* no L3 level */
		{ TOPO_INTEL, {  8,  0,  0,  0,  0,  0 } },	/* PU 0's SMT sibling */
		{ TOPO_INTEL, { 12,  4,  1,  1,  1,  1 } },
	};
	struct pu_info in;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct topo *t = load(cases[i].spec);
		const struct pu_info *w = &cases[i].want;

		in = info(t, w->pu);
		CHECK_MSG(!memcmp(&in, w, sizeof(in)),
			  "case %zu: pu %d core %d l3 %d node %d package %d "
			  "node_os %d", i, in.pu, in.core, in.l3, in.node,
			  in.package, in.node_os);
		CHECK_EQ(topo_pu_info(t, 99, &in), -EINVAL);
		CHECK_EQ(topo_pu_info(t, -1, &in), -EINVAL);
		topo_free(t);
	}
}

/* list: ranges expand in order, a short n takes a prefix. */
static void tc_list(void *arg)
{
	static const int want[] = { 0, 2, 4, 5, 6, 7 };
	struct topo *t = load(topos[0].spec);
	int pus[8];

	place(t, "list:0,2,4-7", 6, pus);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(pus[i], want[i]);
	place(t, "list:31,3", 1, pus);
	CHECK_EQ(pus[0], 31);
	/* Fewer PUs than threads: an error, or cyclic when oversubscribed. */
	CHECK_EQ(topo_place(t, "list:0,1", 3, false, pus, err, sizeof(err)),
		 -E2BIG);
	CHECK_EQ(topo_place(t, "list:0,1", 3, true, pus, err, sizeof(err)), 0);
	CHECK(pus[0] == 0 && pus[1] == 1 && pus[2] == 0);
	/* Repeats are oversubscription too. */
	CHECK_EQ(topo_place(t, "list:3,3", 2, true, pus, err, sizeof(err)), 0);
	CHECK(pus[0] == 3 && pus[1] == 3);
	topo_free(t);
}

/* Each malformed list is -EINVAL with a message naming the bad entry. */
static void tc_list_bad(void *arg)
{
	static const struct {
		const char *policy;
		const char *names;	/* must appear in the message */
	} cases[] = {
		{ "list:0,x", "'x'" },
		{ "list:0,,2", "''" },
		{ "list:4-", "'4-'" },
		{ "list:7-4", "'7-4'" },
		{ "list:-1", "'-1'" },
		{ "list:1-2-3", "'1-2-3'" },
		{ "list: 1", "' 1'" },
		{ "list:", "empty" },
		{ "list:0,32", "PU 32" },	/* not in the topology */
		{ "list:1,1", "PU 1 appears twice" },
	};
	struct topo *t = load(topos[0].spec);
	int pus[4];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		CHECK_MSG(topo_place(t, cases[i].policy, 1, false, pus, err,
				     sizeof(err)) == -EINVAL, "%s",
			  cases[i].policy);
		CHECK_MSG(strstr(err, cases[i].names), "%s: '%s'",
			  cases[i].policy, err);
	}
	topo_free(t);
}

/* An unknown policy lists every valid name; the table's names all work. */
static void tc_unknown_policy(void *arg)
{
	struct topo *t = load(topos[0].spec);
	int pus[2];

	CHECK_EQ(topo_place(t, "spread", 2, false, pus, err, sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "'spread'"));
	for (size_t i = 0; i < topo_nr_placements; i++) {
		const char *name = topo_placements[i].name;

		CHECK_MSG(strstr(err, name), "'%s' lacks %s", err, name);
		CHECK(topo_placements[i].desc && *topo_placements[i].desc);
		if (strncmp(name, "list:", 5))
			place(t, name, 2, pus);
	}
	topo_free(t);
}

/* Loading errors name the file and the reason. */
static void tc_load_errors(void *arg)
{
	char path[] = "/tmp/gupbench-topo-XXXXXX";
	struct topo *t = (struct topo *)&t;
	int fd;

	CHECK_EQ(topo_load(&t, "/nonexistent/x.xml", err, sizeof(err)),
		 -ENOENT);
	CHECK(t == NULL);
	CHECK_MSG(!strcmp(err, "cannot read topology file '/nonexistent/x.xml': No such file or directory"),
		  "'%s'", err);
	CHECK_EQ(topo_load(&t, "synthetic:pack:2 bogus:3", err, sizeof(err)),
		 -EINVAL);
	CHECK_MSG(strstr(err, "bogus"), "'%s'", err);
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, "not xml\n", 8) == 8);
	close(fd);
	CHECK_EQ(topo_load(&t, path, err, sizeof(err)), -EINVAL);
	unlink(path);
	CHECK_MSG(strstr(err, path), "'%s'", err);
}

/* XML export then reload: same machine, same placements, no .tmp left. */
static void tc_xml_roundtrip(void *arg)
{
	char dir[] = "/tmp/gupbench-topo-XXXXXX", path[64], tmp[80];
	struct topo *a = load(topos[1].spec), *b;
	int pa[MAXPU], pb[MAXPU];

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/topology.xml", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK_EQ(topo_export_xml(a, path), 0);
	CHECK(access(tmp, F_OK) < 0);
	b = load(path);
	unlink(path);
	rmdir(dir);
	CHECK_MSG(!strcmp(topo_summary(a), topo_summary(b)), "'%s' vs '%s'",
		  topo_summary(a), topo_summary(b));
	place(a, "scatter", 32, pa);
	place(b, "scatter", 32, pb);
	CHECK(!memcmp(pa, pb, sizeof(int) * 32));
	CHECK(topo_export_xml(a, "/nonexistent/dir/t.xml") < 0);
	topo_free(a);
	topo_free(b);
}

/* Memory plans on the 4-node topology (no distance matrix). */
static void tc_mem_plan(void *arg)
{
	static const struct {
		const char *policy;
		int first_pu;
		int ret;
		int node;
		const char *nodes;
	} cases[] = {
		{ "local", 8, 0, 1, "1" },
		{ "local", 31, 0, 3, "3" },
		/* No matrix: the next node, wrapping after the last. */
		{ "remote", 8, 0, 2, "2" },
		{ "remote", 31, 0, 0, "0" },
		/* Without the thread list: every node. */
		{ "interleave", 0, 0, -1, "0-3" },
		{ "node:3", 0, 0, 3, "3" },
		{ "node:4", 0, -EINVAL, 0, NULL },
		{ "node:x", 0, -EINVAL, 0, NULL },
		{ "node:", 0, -EINVAL, 0, NULL },
		{ "local", 64, -EINVAL, 0, NULL },	/* no such PU */
	};
	struct topo *t = load(topos[1].spec);
	struct mem_place mp;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = topo_mem_plan(t, cases[i].policy, cases[i].first_pu,
					&mp, err, sizeof(err));

		CHECK_MSG(ret == cases[i].ret, "%s: %d %s", cases[i].policy,
			  ret, err);
		if (ret)
			continue;
		CHECK_MSG(mp.node == cases[i].node &&
			  !strcmp(mp.nodes, cases[i].nodes) && !mp.degraded &&
			  !strcmp(mp.policy, cases[i].policy),
			  "%s: node %d nodes '%s'", cases[i].policy, mp.node,
			  mp.nodes);
	}
	CHECK_EQ(topo_mem_plan(t, "far", 0, &mp, err, sizeof(err)), -EINVAL);
	for (size_t i = 0; i < topo_nr_mem_policies; i++)
		CHECK_MSG(strstr(err, topo_mem_policies[i].name), "'%s'", err);
	topo_free(t);
}

/* interleave with the placement: only the threads' nodes. */
static void tc_mem_plan_threads(void *arg)
{
	struct topo *t = load(topos[1].spec);
	struct mem_place mp;
	int pus[3] = { 0, 8, 1 };

	CHECK_EQ(topo_mem_plan_threads(t, "interleave", pus, 3, &mp, err,
				       sizeof(err)), 0);
	CHECK_EQ(mp.node, -1);
	CHECK_MSG(!strcmp(mp.nodes, "0-1"), "'%s'", mp.nodes);
	/* All on one node: the same as local. */
	CHECK_EQ(topo_mem_plan_threads(t, "interleave", pus + 2, 1, &mp, err,
				       sizeof(err)), 0);
	CHECK_EQ(mp.node, 0);
	CHECK(!strcmp(mp.nodes, "0") && !mp.degraded);
	topo_free(t);
}

/* remote follows the latency matrix: farthest, not next. */
static void tc_mem_plan_distances(void *arg)
{
	static const int first_pu[] = { 0, 4, 8, 12 };
	static const int want[] = { 2, 3, 0, 1 };
	struct mem_place mp;
	struct topo *t;

	t = load(fixture(DIST_XML));
	CHECK_EQ(topo_nr_nodes(t), 4);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(topo_mem_plan(t, "remote", first_pu[i], &mp, err,
				       sizeof(err)), 0);
		CHECK_MSG(mp.node == want[i], "from PU %d: node %d, want %d",
			  first_pu[i], mp.node, want[i]);
	}
	topo_free(t);
}

/* One node: remote degrades to local and says so; interleave is local. */
static void tc_mem_plan_one_node(void *arg)
{
	struct topo *t = load("synthetic:pack:1 core:2 pu:1");
	struct mem_place mp;

	CHECK_EQ(topo_mem_plan(t, "remote", 1, &mp, err, sizeof(err)), 0);
	CHECK(mp.degraded && mp.node == 0 && mp.note[0]);
	CHECK_EQ(topo_mem_plan(t, "interleave", 1, &mp, err, sizeof(err)), 0);
	CHECK(!mp.degraded && mp.node == 0 && !strcmp(mp.nodes, "0"));
	topo_free(t);
}

/* Render the plan into a string. */
static void plan_text(struct topo *t, const int *pus, const char *const *roles,
		      unsigned int n, const struct mem_place *mp, char *buf,
		      size_t len)
{
	char *s = NULL;
	size_t sl = 0;
	FILE *f = open_memstream(&s, &sl);

	CHECK(f);
	topo_print_plan(f, t, pus, roles, n, mp);
	fclose(f);
	snprintf(buf, len, "%s", s);
	free(s);
}

/*
 * No matrix, and each package holds two nodes with the same CPUs (DRAM
 * and HBM): remote is the other package's first node, not the HBM beside
 * local, and --plan's node column is the OS number the memory line uses.
 */
static void tc_mem_plan_hbm(void *arg)
{
	static const char want[] =
		"thread 0: pu 0 core 0 l3 -1 node 0 package 0 role -\n"
		"thread 1: pu 4 core 2 l3 -1 node 1 package 1 role -\n"
		"memory: struct pages on node 1 (remote)\n";
	int pus[2] = { 0, 4 };
	struct mem_place mp;
	struct topo *t;
	char buf[512];

	t = load(fixture(HBM_XML));
	CHECK_EQ(topo_nr_nodes(t), 4);
	/* package 1's first node: logical 2, OS 1 */
	CHECK_EQ(info(t, 4).node, 2);
	CHECK_EQ(info(t, 4).node_os, 1);
	CHECK_EQ(topo_mem_plan(t, "remote", 4, &mp, err, sizeof(err)), 0);
	CHECK_MSG(mp.node == 0, "from PU 4: node %d, want 0", mp.node);
	CHECK_EQ(topo_mem_plan(t, "remote", 0, &mp, err, sizeof(err)), 0);
	CHECK_MSG(mp.node == 1, "from PU 0: node %d, want 1", mp.node);
	plan_text(t, pus, NULL, 2, &mp, buf, sizeof(buf));
	CHECK_MSG(!strcmp(buf, want), "got:\n%.360s", buf);
	topo_free(t);
}

/* The --plan lines, byte for byte. */
static void tc_plan_format(void *arg)
{
	static const char *const roles[] = { "pin", "fork" };
	static const char want_a[] =
		"thread 0: pu 0 core 0 l3 0 node 0 package 0 role pin\n"
		"thread 1: pu 16 core 8 l3 2 node 2 package 1 role fork\n"
		"memory: struct pages on node 0 (local)\n";
	static const char want_b[] =
		"thread 0: pu 7 core 7 l3 -1 node 1 package 1 role -\n"
		"memory: struct pages on nodes 0-3 (interleave)\n";
	static const char want_c[] =
		"memory: struct pages on node 0 (remote, degraded: no other NUMA node with memory: remote is local)\n";
	struct mem_place mp;
	struct topo *t;
	char buf[512];
	int pus[2];

	t = load(topos[1].spec);
	place(t, "scatter", 2, pus);
	CHECK_EQ(topo_mem_plan(t, "local", pus[0], &mp, err, sizeof(err)), 0);
	plan_text(t, pus, roles, 2, &mp, buf, sizeof(buf));
	CHECK_MSG(!strcmp(buf, want_a), "got:\n%.360s", buf);
	CHECK_EQ(topo_mem_plan(t, "interleave", 0, &mp, err, sizeof(err)), 0);
	topo_free(t);

	t = load(topos[3].spec);
	pus[0] = 7;
	plan_text(t, pus, NULL, 1, &mp, buf, sizeof(buf));
	CHECK_MSG(!strcmp(buf, want_b), "got:\n%.360s", buf);
	topo_free(t);

	t = load("synthetic:pack:1 core:2 pu:1");
	CHECK_EQ(topo_mem_plan(t, "remote", 0, &mp, err, sizeof(err)), 0);
	plan_text(t, pus, NULL, 0, &mp, buf, sizeof(buf));
	CHECK_MSG(!strcmp(buf, want_c), "got:\n%.360s", buf);
	topo_free(t);
}

/* Binding and allocation are refused on a topology that is not ours. */
static void tc_foreign_refused(void *arg)
{
	struct topo *t = load(topos[0].spec);
	struct mem_place mp;

	CHECK_EQ(topo_bind_self(t, 0), -EINVAL);
	CHECK_EQ(topo_mem_plan(t, "local", 0, &mp, err, sizeof(err)), 0);
	errno = 0;
	CHECK(topo_alloc(t, &mp, 4096) == NULL && errno == EINVAL);
	topo_free(t);
}

/* This machine: bind to each of the first two PUs and land there. */
static void tc_this_bind(void *arg)
{
	struct topo *t = load(NULL);
	cpu_set_t saved;
	int pus[2], ret;

	CHECK(topo_is_this_system(t));
	CHECK(topo_nr_pus(t) >= 1 && topo_nr_nodes(t) >= 1);
	CHECK(sched_getaffinity(0, sizeof(saved), &saved) == 0);
	place(t, "compact", topo_nr_pus(t) >= 2 ? 2 : 1, pus);
	for (unsigned int i = 0; i < (topo_nr_pus(t) >= 2 ? 2u : 1u); i++) {
		ret = topo_bind_self(t, pus[i]);
		if (ret == -EPERM || ret == -ENOSYS) {
			topo_free(t);
			t_skip("cannot bind threads here (%s): run outside a restricted container",
			       strerror(-ret));
		}
		CHECK_MSG(ret == 0, "bind to PU %d: %s", pus[i],
			  strerror(-ret));
		CHECK_EQ(topo_current_pu(), pus[i]);
	}
	CHECK(sched_setaffinity(0, sizeof(saved), &saved) == 0);
	CHECK_EQ(topo_bind_self(t, 4096), -EINVAL);
	topo_free(t);
}

#define NODE_BITS	1024
#define LONG_BITS	(8 * sizeof(unsigned long))

/* An OS node list ("0", "0-3", "0,2") as a node mask; false if malformed. */
static bool node_mask(const char *list, unsigned long *mask)
{
	memset(mask, 0, NODE_BITS / 8);
	while (*list) {
		char *end;
		long a = strtol(list, &end, 10), b = a;

		if (end == list || a < 0)
			return false;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		if (b < a || b >= NODE_BITS || (*end && *end != ','))
			return false;
		for (; a <= b; a++)
			mask[a / LONG_BITS] |= 1UL << (a % LONG_BITS);
		list = *end ? end + 1 : end;
	}
	return true;
}

/*
 * Ask the kernel what topo_alloc() did: the policy of the mapping
 * (MPOL_BIND to mp's node, MPOL_INTERLEAVE over mp's nodes) and the node
 * that holds each page, which must be one of them.
 */
static void check_bound(const struct mem_place *mp, unsigned char *p,
			size_t size)
{
	unsigned long want[NODE_BITS / LONG_BITS];
	unsigned long got[NODE_BITS / LONG_BITS];
	long page = sysconf(_SC_PAGESIZE);
	int mode, node;

	CHECK_MSG(node_mask(mp->nodes, want), "nodes '%s'", mp->nodes);
	if (mp->node >= 0) {
		memset(want, 0, sizeof(want));
		want[mp->node / LONG_BITS] = 1UL << (mp->node % LONG_BITS);
	}
	CHECK_MSG(!syscall(SYS_get_mempolicy, &mode, got, NODE_BITS, p,
			   MPOL_F_ADDR), "get_mempolicy: %s", strerror(errno));
	CHECK_EQ(mode & ~MPOL_MODE_FLAGS,
		 mp->node >= 0 ? MPOL_BIND : MPOL_INTERLEAVE);
	CHECK_MSG(!memcmp(got, want, sizeof(want)),
		  "%s: policy node mask %#lx, plan nodes %s", mp->policy,
		  got[0], mp->nodes);
	for (size_t off = 0; off < size; off += (size_t)page) {
		CHECK_MSG(!syscall(SYS_get_mempolicy, &node, NULL, 0, p + off,
				   MPOL_F_NODE | MPOL_F_ADDR),
			  "get_mempolicy: %s", strerror(errno));
		CHECK_MSG(node >= 0 && node < NODE_BITS &&
			  (want[node / LONG_BITS] >> (node % LONG_BITS) & 1),
			  "%s: page %zu on node %d, plan nodes %s", mp->policy,
			  off / (size_t)page, node, mp->nodes);
	}
}

/*
 * This machine: zeroed page-aligned memory, bound as planned (the kernel
 * says so), or, degraded, plain.
 */
static void tc_this_alloc(void *arg)
{
	static const char *const pols[] = { "local", "remote", "interleave" };
	const size_t size = 1 << 20;
	struct topo *t = load(NULL);
	struct mem_place mp;
	int pu0, bound = 0;

	place(t, "compact", 1, &pu0);
	for (size_t i = 0; i < 3; i++) {
		unsigned char *p;

		CHECK_EQ(topo_mem_plan(t, pols[i], pu0, &mp, err, sizeof(err)),
			 0);
		p = topo_alloc(t, &mp, size);
		CHECK_MSG(p, "%s: %s", pols[i], strerror(errno));
		CHECK_EQ((uintptr_t)p % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
		CHECK(p[0] == 0 && p[size - 1] == 0);
		memset(p, 0x5a, size);
		CHECK(p[size / 2] == 0x5a);
		/* Degraded is allowed here but must say why. */
		CHECK(!mp.degraded || mp.note[0]);
		if (mp.degraded) {
			printf("# %s: %s\n", pols[i], mp.note);
		} else {
			check_bound(&mp, p, size);
			bound++;
		}
		topo_free_mem(t, p, size);
	}
	printf("# %d of 3 placements bound and checked\n", bound);
	topo_free(t);
}

int main(void)
{
	char name[160];

	for (size_t i = 0; i < sizeof(topos) / sizeof(topos[0]); i++) {
		static const struct {
			const char *name;
			t_fn fn;
		} props[] = {
			{ "counts", tc_counts },
			{ "compact", tc_compact },
			{ "scatter", tc_scatter },
			{ "smt", tc_smt },
			{ "numa", tc_numa },
			{ "oversubscribe", tc_oversubscribe },
		};

		for (size_t p = 0; p < sizeof(props) / sizeof(props[0]); p++) {
			snprintf(name, sizeof(name), "%s [%s]", props[p].name,
				 topos[i].spec + strlen("synthetic:"));
			t_case_named(name, props[p].fn, (void *)&topos[i]);
		}
	}
	t_case(tc_exact_orders, NULL);
	t_case(tc_hybrid, NULL);
	t_case(tc_pu_info, NULL);
	t_case(tc_list, NULL);
	t_case(tc_list_bad, NULL);
	t_case(tc_unknown_policy, NULL);
	t_case(tc_load_errors, NULL);
	t_case(tc_xml_roundtrip, NULL);
	t_case(tc_mem_plan, NULL);
	t_case(tc_mem_plan_threads, NULL);
	t_case(tc_mem_plan_distances, NULL);
	t_case(tc_mem_plan_hbm, NULL);
	t_case(tc_mem_plan_one_node, NULL);
	t_case(tc_plan_format, NULL);
	t_case(tc_foreign_refused, NULL);
	t_case(tc_this_bind, NULL);
	t_case(tc_this_alloc, NULL);
	return t_done();
}
