// SPDX-License-Identifier: GPL-2.0
/*
 * gupbench: the command line. Expands the option lists into
 * configurations, registers each as a Google Benchmark (one iteration,
 * manual time; bench/gbench.cc) and lets libbenchmark's flags, reporters
 * and statistics do the rest. Exit 0 on success, 1 on a failed run, 2 on
 * a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include "run.h"
#include "torture.h"

#ifndef GUPBENCH_VERSION
#define GUPBENCH_VERSION "unknown"
#endif

#define MAX_LIST	64

static const char *const share_names[] = { "same", "pool:M", "private" };

static const char usage_text[] =
"usage: gupbench [OPTIONS] [--benchmark_*=...]\n"
"\n"
"What to run (LIST: a comma list; every combination is one configuration):\n"
"  --scheme=LIST|all     pinning schemes (--list shows them)        [bias]\n"
"  --workload=LIST       pin, pin_ro, pin_dirty, get, raw, c2c      [pin]\n"
"  --pages=LIST          pages per gup call (512 maps one THP)      [1]\n"
"  --share=LIST          same | pool:M | private                    [same]\n"
"  --with=SET            competitors beside the pinners, NAME[:COUNT]\n"
"                        (COUNT 1..64, default 1), e.g. fork:1,migrate:1;\n"
"                        repeat --with for several sets; none = no\n"
"                        competitor                                 [none]\n"
"  --writeback-us=US     with mkclean: a writeback's I/O time, the folio\n"
"                        under PG_writeback (0: ends at once)        [0]\n"
"  --stable-writes       with mkclean: a write fault waits for writeback\n"
"                        (a device that wants stable pages)\n"
"\n"
"Threads and placement:\n"
"  --threads=LIST|max    pinner threads (1..1024); max = PUs left\n"
"                        after the competitors                       [1]\n"
"  --placement=LIST      compact, scatter, smt, numa, list:CPUS      [compact]\n"
"  --mem=POLICY          struct pages: local, remote, interleave,\n"
"                        node:N                                      [local]\n"
"  --oversubscribe       allow more threads than PUs\n"
"  --topology=SPEC       FILE.xml or synthetic:STRING (with --plan)\n"
"  --plan                print thread->PU and memory placement, run nothing\n"
"  --export-topology=F   write the topology as hwloc XML to F and exit\n"
"\n"
"Measurement:\n"
"  --duration=SEC        measured window per configuration        [1]\n"
"  --warmup=SEC          minimum warm-up before the window          [0.2]\n"
"  --events=LIST|none    perf events per op      [cycles,instructions,\n"
"                                               cache-misses,context-switches]\n"
"\n"
"Output (Google Benchmark): --benchmark_format=console|json|csv,\n"
"  --benchmark_out=FILE, --benchmark_out_format, --benchmark_filter=RE,\n"
"  --benchmark_repetitions=N, --benchmark_list_tests, ...\n"
"\n"
"  --list                schemes, workloads, competitors, placements,\n"
"                        memory policies, events\n"
"  --help                this text\n"
"\n"
"gupbench torture [OPTIONS]: race each scheme against the mm operations\n"
"and check its invariants (gupbench torture --help).\n";

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "gupbench: error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

/* A comma list with an empty value ("a,,b", ",a", "a,") is a mistake. */
static void check_list(const char *list, const char *what)
{
	size_t len = strlen(list);

	if (len && (list[0] == ',' || list[len - 1] == ',' ||
		    strstr(list, ",,"))) {
		fprintf(stderr, "gupbench: error: empty value in --%s list "
			"'%s'\n", what, list);
		exit(2);
	}
}

/*
 * The CLI's own strings (split lists, joined list: placements) live
 * until main() returns and are freed there by cli_free_all().
 */
static char **cli_strings;
static size_t nr_cli_strings;

static void __attribute__((noreturn)) out_of_memory(void)
{
	fprintf(stderr, "gupbench: error: out of memory\n");
	exit(1);
}

static char *cli_keep(char *str)
{
	char **n = realloc(cli_strings,
			   (nr_cli_strings + 1) * sizeof(*cli_strings));

	if (!str || !n)
		out_of_memory();
	cli_strings = n;
	cli_strings[nr_cli_strings++] = str;
	return str;
}

static void cli_free_all(void)
{
	while (nr_cli_strings)
		free(cli_strings[--nr_cli_strings]);
	free(cli_strings);
	cli_strings = NULL;
}

/* Split a comma list into at most @max tokens (kept strdup). */
static unsigned int split_n(const char *list, char **tok, unsigned int max,
			    const char *what)
{
	char *s = cli_keep(strdup(list)), *save = NULL, *t;
	unsigned int n = 0;

	check_list(list, what);
	for (t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n == max)
			usage_error("too many values in --%s", what);
		tok[n++] = t;
	}
	if (!n)
		usage_error("--%s needs a value", what);
	return n;
}

static unsigned int split(const char *list, char **tok, const char *what)
{
	return split_n(list, tok, MAX_LIST, what);
}

static unsigned long parse_ulong(const char *s, const char *what,
				 unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
		fprintf(stderr, "gupbench: error: bad %s '%s' (expected an "
			"integer %lu..%lu)\n", what, s, lo, hi);
		exit(2);
	}
	return v;
}

/* A number in [lo, hi] for option @what, or exit 2 naming the range. */
static double parse_range(const char *s, const char *what, double lo,
			  double hi, const char *unit, const char *sym)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= lo) || v > hi) {
		fprintf(stderr, "gupbench: error: bad %s '%s' (%s, %g <= %s <= "
			"%g)\n", what, s, unit, lo, sym, hi);
		exit(2);
	}
	return v;
}

/* under 1 ms a window is a batch or two of ops, not a measurement */
static double parse_secs(const char *s, const char *what)
{
	return parse_range(s, what, 0.001, 3600, "seconds", "SEC");
}

/* --writeback-us: 0 (ends at once) to 100 ms */
static double parse_us(const char *s)
{
	return parse_range(s, "--writeback-us", 0, 100000, "microseconds",
			   "US");
}

static void list_names(FILE *f, const char *what)
{
	unsigned int i;

	fprintf(f, "valid %s:", what);
	if (!strcmp(what, "schemes"))
		for (i = 0; i < nr_gup_schemes; i++)
			fprintf(f, " %s", gup_schemes[i]->name);
	else if (!strcmp(what, "workloads"))
		for (i = 0; i < nr_workloads; i++)
			fprintf(f, " %s", workloads[i].name);
	else if (!strcmp(what, "competitors"))
		for (i = 0; i < C_NR; i++)
			fprintf(f, " %s", competitors[i].name);
	else if (!strcmp(what, "shares"))
		for (i = 0; i < ARRAY_SIZE(share_names); i++)
			fprintf(f, " %s", share_names[i]);
	fprintf(f, "\n");
}

static void print_list(void)
{
	unsigned int i;

	printf("Schemes:\n");
	for (i = 0; i < nr_gup_schemes; i++)
		printf("  %-18s %s\n", gup_schemes[i]->name,
		       gup_schemes[i]->desc);
	printf("Workloads:\n");
	for (i = 0; i < nr_workloads; i++)
		printf("  %-18s %s\n", workloads[i].name, workloads[i].desc);
	printf("Competitors (--with=NAME:COUNT,...):\n");
	for (i = 0; i < C_NR; i++)
		printf("  %-18s %s\n", competitors[i].name, competitors[i].desc);
	printf("Placements:\n");
	for (i = 0; i < topo_nr_placements; i++)
		printf("  %-18s %s\n", topo_placements[i].name,
		       topo_placements[i].desc);
	printf("Memory policies (--mem):\n");
	for (i = 0; i < topo_nr_mem_policies; i++)
		printf("  %-18s %s\n", topo_mem_policies[i].name,
		       topo_mem_policies[i].desc);
	printf("Default events (--events; any perf or libpfm4 name works):\n");
	for (i = 0; i < perfctr_nr_default_events; i++)
		printf("  %-18s %s\n", perfctr_default_events[i].name,
		       perfctr_default_events[i].desc);
}

/* One competitor set: "fork:1,migrate:1" or "none". */
static void parse_with(const char *arg, struct config *c)
{
	char *tok[MAX_LIST];
	unsigned int n, i, k;

	memset(c->with, 0, sizeof(c->with));
	c->with_str[0] = '\0';
	if (!strcmp(arg, "none"))
		return;
	n = split(arg, tok, "with");
	for (i = 0; i < n; i++) {
		char *colon = strchr(tok[i], ':');
		unsigned long cnt = 1;

		if (colon) {
			*colon = '\0';
			cnt = parse_ulong(colon + 1, "competitor count", 1, 64);
		}
		for (k = 0; k < C_NR; k++)
			if (!strcmp(tok[i], competitors[k].name))
				break;
		if (k == C_NR) {
			fprintf(stderr, "gupbench: error: unknown competitor "
				"'%s'\n", tok[i]);
			list_names(stderr, "competitors");
			exit(2);
		}
		c->with[k] += cnt;
		if (c->with[k] > 64) {
			fprintf(stderr, "gupbench: error: more than 64 %s "
				"competitors in --with '%s'\n",
				competitors[k].name, arg);
			exit(2);
		}
	}
	for (k = 0; k < C_NR; k++)
		if (c->with[k]) {
			size_t len = strlen(c->with_str);

			snprintf(c->with_str + len, sizeof(c->with_str) - len,
				 "%s%s:%u", len ? "+" : "", competitors[k].name,
				 c->with[k]);
		}
}

/*
 * --placement tokens: "list:0,2,4-7" keeps its comma-separated CPUs, as
 * many as fit a configuration's placement (255 characters).
 */
static unsigned int split_placements(const char *arg, char **tok)
{
	char *raw[128 + MAX_LIST];
	unsigned int n = split_n(arg, raw, 128 + MAX_LIST, "placement");
	unsigned int i, out = 0;

	for (i = 0; i < n; i++) {
		bool cpu_token = raw[i][0] >= '0' && raw[i][0] <= '9';

		if (cpu_token && out && !strncmp(tok[out - 1], "list:", 5)) {
			char *joined = cli_keep(malloc(strlen(tok[out - 1]) +
						       strlen(raw[i]) + 2));

			sprintf(joined, "%s,%s", tok[out - 1], raw[i]);
			tok[out - 1] = joined;
			continue;
		}
		if (out == MAX_LIST)
			usage_error("too many values in --%s", "placement");
		tok[out++] = raw[i];
	}
	for (i = 0; i < out; i++)
		if (strlen(tok[i]) > 255)
			usage_error("--placement value '%.40s...' is longer "
				    "than 255 characters: give CPU ranges "
				    "(list:0-15,32-47)", tok[i]);
	return out;
}

/* Thread -> PU placement and the memory plan; 0 or -errno with err. */
static int config_place(struct config *c, char *err, size_t errlen)
{
	unsigned int n = c->threads + config_nr_competitors(c);
	int ret;

	c->pus = calloc(n, sizeof(*c->pus));
	if (!c->pus)
		return -ENOMEM;
	ret = topo_place(run_opts.topo, c->placement, n, run_opts.oversubscribe,
			 c->pus, err, errlen);
	if (ret)
		return ret;
	return topo_mem_plan_threads(run_opts.topo, run_opts.mem_policy,
				     c->pus, n, &c->mp, err, errlen);
}

struct opts {
	const char *schemes, *workloads, *pages, *shares, *threads;
	const char *placements, *events, *topology, *export_xml;
	const char *with[MAX_LIST];
	unsigned int nr_with;
	bool plan;
};

/* Whether /proc/cpuinfo's first "flags" line lists @flag. */
static bool cpuinfo_has_flag(const char *flag)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char *line = NULL, *tok, *save, *colon;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "flags", 5))
			continue;
		colon = strchr(line, ':');
		if (!colon)
			break;
		for (tok = strtok_r(colon + 1, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save))
			if (!strcmp(tok, flag))
				found = true;
		break;
	}
	free(line);
	fclose(f);
	return found;
}

/*
 * What p50_ns/p99_ns can resolve: the TSC's rate and the smallest step it
 * is seen to take. Under some hypervisors the guest's TSC moves in steps
 * of tens of ticks, and a 5 ns op then reads 0 or 10 ns.
 */
static void add_latency_context(void)
{
	double hz = (double)tsc_hz(), step_ns = tsc_step() * 1e9 / hz;
	char buf[160];
	int inv;

	snprintf(buf, sizeof(buf), "%.0f", hz);
	gbench_add_context("tsc_hz", buf);
	snprintf(buf, sizeof(buf), "%.2f", step_ns);
	gbench_add_context("tsc_step_ns", buf);
	/*
	 * tsc_hz is calibrated once, at start: a TSC whose rate follows the
	 * core's clock makes every TSC figure (p50_ns, p99_ns, tsc_per_op,
	 * the batches' slices) wrong by the clock's change since
	 */
	inv = tsc_invariant();
	/* a guest may hide the CPUID bit where the kernel knows better */
	if (!inv && cpuinfo_has_flag("constant_tsc"))
		inv = 2;
	gbench_add_context("tsc_invariant", inv == 1 ? "yes" :
			   inv == 2 ? "constant rate (constant_tsc), not "
			   "said to run on in deep C-states" :
			   inv < 0 ? "no TSC (clock reads)" : "no");
	if (!inv)
		fprintf(stderr, "gupbench: warning: this CPU's TSC is not "
			"invariant (CPUID 80000007H EDX[8] clear): p50_ns, "
			"p99_ns and tsc_per_op assume the rate calibrated at "
			"start, %.0f Hz, and are off by as much as the clock "
			"changes\n", hz);
	gbench_add_context("latency_method",
		"p50_ns/p99_ns: ops chosen by count (jittered indices ~100 us "
		"of ops apart at the thread's rate, each sample weighted by "
		"the ops of its gap: every op counts alike) each timed "
		"between fenced TSC reads, less timing_overhead_ns (the same "
		"reads around the thread's loop called for no op: mean of "
		"1001 within twice their median); "
		"nearest rank; resolution tsc_step_ns; sampled_slowpath_pct "
		"against slowpath_pct shows how far timing perturbed the ops");
	if (step_ns >= 2.0)
		fprintf(stderr, "gupbench: note: the TSC advances in steps of "
			"%.1f ns here; p50_ns and p99_ns are multiples of that "
			"(less the timing cost) and say little below ~%.0f ns\n",
			step_ns, 4 * step_ns);
}

/* What a with:mkclean row's writeback is (--writeback-us, --stable-writes). */
static void add_writeback_context(void)
{
	char buf[200];

	char depth[40] = " (ends at once)";

	if (run_opts.writeback_us > 0)
		snprintf(depth, sizeof(depth), ", at most %d in flight",
			 WB_QUEUE_DEPTH);
	snprintf(buf, sizeof(buf), "mkclean: %g us of I/O per writeback%s; "
		 "write faults %s", run_opts.writeback_us, depth,
		 run_opts.stable_writes ? "wait for writeback (stable pages)" :
		 "do not wait for writeback");
	gbench_add_context("writeback", buf);
}

/* The vmstat threshold every pin and unpin's stat update runs against. */
static void add_vmstat_context(void)
{
	char buf[160];

	snprintf(buf, sizeof(buf), "%d (NR_FOLL_PIN_* per-CPU differential "
		 "folded into the node and global counters past it)",
		 vmstat_threshold());
	gbench_add_context("vmstat_threshold", buf);
}

static void add_context(const char *cmdline)
{
	struct utsname u;
	char buf[256] = "unknown", line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	gbench_add_context("gupbench_version", GUPBENCH_VERSION);
	gbench_add_context("command_line", cmdline);
	gbench_add_context("time_semantics",
		"real_time = mean over pinner threads of (thread wall ns / "
		"thread ops); cpu_time = the same with thread CPU time; one op "
		"= one gup call of N pages plus its release; iterations = ops "
		"of all pinners; threads = pinner threads");
	if (!uname(&u)) {
		snprintf(line, sizeof(line), "%s %s %s", u.sysname, u.release,
			 u.machine);
		gbench_add_context("kernel", line);
	}
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(buf, sizeof(buf), "%s", strchr(line, ':') + 2);
			buf[strcspn(buf, "\n")] = '\0';
			break;
		}
	if (f)
		fclose(f);
	gbench_add_context("cpu_model", buf);
	gbench_add_context("topology", topo_summary(run_opts.topo));
	gbench_add_context("mem_policy", run_opts.mem_policy);
	add_latency_context();
	add_vmstat_context();
	add_writeback_context();
	if (run_opts.events) {
		gbench_add_context("pmu", perfctr_set_status(run_opts.events));
		gbench_add_context("unsupported_events",
				   perfctr_set_unsupported(run_opts.events));
	} else {
		gbench_add_context("pmu", "events disabled (--events=none)");
	}
}

_Static_assert(sizeof(((struct config *)0)->placement) == 256,
	       "the --placement length error says 255 characters");

/*
 * Each pinner opens one perf fd per event: 256 pinners with the four
 * default events are 1024, the usual soft limit. Take the hard one.
 */
static void raise_nofile_limit(void)
{
	struct rlimit r;

	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

/* argv joined by spaces for the context; "..." ends one that did not fit. */
static void command_line(char *buf, size_t size, int argc, char **argv)
{
	size_t len = 0;
	int i, n;

	buf[0] = '\0';
	for (i = 0; i < argc; i++) {
		n = snprintf(buf + len, size - len, "%s%s", i ? " " : "",
			     argv[i]);
		if (n < 0 || (size_t)n >= size - len) {
			strcpy(buf + size - 4, "...");
			return;
		}
		len += n;
	}
}

/* "thread 0: pu 1 (pin); ..." for the context. */
static char *placement_string(const struct config *c, const int *pus,
			      const struct mem_place *mp)
{
	unsigned int n = c->threads + config_nr_competitors(c), i;
	char *s = NULL;
	size_t len;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		out_of_memory();
	for (i = 0; i < n; i++)
		fprintf(f, "%sthread %u: pu %d (%s)", i ? "; " : "", i, pus[i],
			config_role(c, i));
	fprintf(f, "; struct pages: node%s %s", mp->node < 0 ? "s" : "",
		mp->nodes);
	if (mp->degraded)
		fprintf(f, " (degraded: %s)", mp->note);
	if (fclose(f))
		out_of_memory();
	return s;
}

/* "--plan=1": a known option that takes no value, given one. */
static bool no_value_given(const struct option *lopts, const char *arg)
{
	size_t n = strcspn(arg, "=");

	if (strncmp(arg, "--", 2) || !arg[n])
		return false;
	for (; lopts->name; lopts++)
		if (lopts->has_arg == no_argument &&
		    strlen(lopts->name) == n - 2 &&
		    !strncmp(lopts->name, arg + 2, n - 2))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "torture"))
		return torture_main(argc - 1, argv + 1);

	static const struct option lopts[] = {
		{ "scheme", required_argument, NULL, 's' },
		{ "workload", required_argument, NULL, 'w' },
		{ "pages", required_argument, NULL, 'p' },
		{ "share", required_argument, NULL, 'S' },
		{ "with", required_argument, NULL, 'W' },
		{ "threads", required_argument, NULL, 't' },
		{ "placement", required_argument, NULL, 'P' },
		{ "mem", required_argument, NULL, 'm' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'u' },
		{ "events", required_argument, NULL, 'e' },
		{ "topology", required_argument, NULL, 'T' },
		{ "plan", no_argument, NULL, 'n' },
		{ "export-topology", required_argument, NULL, 'X' },
		{ "list", no_argument, NULL, 'l' },
		{ "oversubscribe", no_argument, NULL, 'o' },
		{ "writeback-us", required_argument, NULL, 'B' },
		{ "stable-writes", no_argument, NULL, 'Y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = {
		.schemes = "bias", .workloads = "pin", .pages = "1",
		.shares = "same", .threads = "1", .placements = "compact",
	};
	char *sch[MAX_LIST], *wl[MAX_LIST], *pg[MAX_LIST], *sh[MAX_LIST];
	char *th[MAX_LIST], *pl[MAX_LIST], err[512], cmdline[2048] = "";
	unsigned int nsch, nwl, npg, nsh, nth, npl, a, b, c, d, e, f, g;
	struct config *cfgs;
	unsigned int ncfg = 0, cap = 256, raw_skipped = 0, mkclean_rows = 0;
	int opt, i, ret, failed = 0;

	command_line(cmdline, sizeof(cmdline), argc, argv);
	raise_nofile_limit();
	if (gbench_init(&argc, argv, err, sizeof(err))) {
		fprintf(stderr, "gupbench: error: %s\n", err);
		return 2;
	}
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", lopts, NULL)) != -1) {
		if (cli_forgotten_value(argv)) {
			fprintf(stderr, "gupbench: error: %s needs a value; "
				"'%s' is the next option\n",
				cli_forgotten_value(argv), optarg);
			return 2;
		}
		switch (opt) {
		case 's': o.schemes = optarg; break;
		case 'w': o.workloads = optarg; break;
		case 'p': o.pages = optarg; break;
		case 'S': o.shares = optarg; break;
		case 'W':
			if (o.nr_with == MAX_LIST)
				usage_error("too many --with sets%s", "");
			o.with[o.nr_with++] = optarg;
			break;
		case 't': o.threads = optarg; break;
		case 'P': o.placements = optarg; break;
		case 'm': run_opts.mem_policy = optarg; break;
		case 'd': run_opts.duration = parse_secs(optarg, "--duration"); break;
		case 'u': run_opts.warmup = parse_secs(optarg, "--warmup"); break;
		case 'e': o.events = optarg; break;
		case 'T': o.topology = optarg; break;
		case 'n': o.plan = true; break;
		case 'X': o.export_xml = optarg; break;
		case 'l': print_list(); return 0;
		case 'o': run_opts.oversubscribe = true; break;
		case 'B': run_opts.writeback_us = parse_us(optarg); break;
		case 'Y': run_opts.stable_writes = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case ':':
			fprintf(stderr, "gupbench: error: %s needs a value "
				"(%s=VALUE)\n", argv[optind - 1],
				argv[optind - 1]);
			return 2;
		default:
			if (no_value_given(lopts, argv[optind - 1]))
				fprintf(stderr, "gupbench: error: %.*s takes no "
					"value\n", (int)strcspn(argv[optind - 1],
								 "="),
					argv[optind - 1]);
			else
				fprintf(stderr, "gupbench: error: unknown "
					"option '%s' (gupbench --help lists "
					"them)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!o.nr_with)
		o.with[o.nr_with++] = "none";

	if (topo_load(&run_opts.topo, o.topology, err, sizeof(err))) {
		fprintf(stderr, "gupbench: error: %s\n", err);
		return 2;
	}
	if (o.export_xml) {
		ret = topo_export_xml(run_opts.topo, o.export_xml);
		if (ret)
			fprintf(stderr, "gupbench: error: cannot write %s: %s\n",
				o.export_xml, strerror(-ret));
		return ret ? 1 : 0;
	}
	if (!o.plan && !topo_is_this_system(run_opts.topo)) {
		fprintf(stderr, "gupbench: error: --topology describes another "
			"machine: use it with --plan\n");
		return 2;
	}

	/* validate and expand every list */
	nsch = split(o.schemes, sch, "scheme");
	if (nsch == 1 && !strcmp(sch[0], "all")) {
		for (nsch = 0; nsch < nr_gup_schemes; nsch++)
			sch[nsch] = (char *)gup_schemes[nsch]->name;
	}
	for (a = 0; a < nsch; a++)
		if (!scheme_find(sch[a])) {
			fprintf(stderr, "gupbench: error: unknown scheme '%s'\n",
				sch[a]);
			list_names(stderr, "schemes");
			return 2;
		}
	nwl = split(o.workloads, wl, "workload");
	for (a = 0; a < nwl; a++) {
		for (b = 0; b < nr_workloads; b++)
			if (!strcmp(wl[a], workloads[b].name))
				break;
		if (b == nr_workloads) {
			fprintf(stderr, "gupbench: error: unknown workload "
				"'%s'\n", wl[a]);
			list_names(stderr, "workloads");
			return 2;
		}
	}
	npg = split(o.pages, pg, "pages");
	for (a = 0; a < npg; a++)
		parse_ulong(pg[a], "--pages value", 1, 4096);
	nsh = split(o.shares, sh, "share");
	for (a = 0; a < nsh; a++)
		if (strcmp(sh[a], "same") && strcmp(sh[a], "private") &&
		    (strncmp(sh[a], "pool:", 5) ||
		     !parse_ulong(sh[a] + 5, "pool size", 1, 1 << 20))) {
			fprintf(stderr, "gupbench: error: unknown share mode "
				"'%s'\n", sh[a]);
			list_names(stderr, "shares");
			return 2;
		}
	nth = split(o.threads, th, "threads");
	for (a = 0; a < nth; a++)
		if (strcmp(th[a], "max"))
			parse_ulong(th[a], "--threads value", 1, MAX_THREADS);
	npl = split_placements(o.placements, pl);

	if (o.events)
		check_list(o.events, "events");
	if (o.events && !strcmp(o.events, "none")) {
		run_opts.events = NULL;
	} else if (!o.plan || o.events) {	/* --plan: names checked */
		ret = perfctr_set_create(&run_opts.events, o.events ? o.events :
					 perfctr_default_list(), err, sizeof(err));
		if (ret) {
			fprintf(stderr, "gupbench: error: %s\n", err);
			return 2;
		}
		if (o.plan) {
			perfctr_set_free(run_opts.events);
			run_opts.events = NULL;
		} else if (perfctr_set_unsupported(run_opts.events)[0]) {
			fprintf(stderr, "gupbench: warning: %s\n",
				perfctr_set_status(run_opts.events));
		}
	}

	cfgs = calloc(cap, sizeof(*cfgs));
	for (a = 0; a < nwl; a++)
	for (b = 0; b < nsch; b++)
	for (c = 0; c < npg; c++)
	for (d = 0; d < nsh; d++)
	for (e = 0; e < o.nr_with; e++)
	for (f = 0; f < npl; f++)
	for (g = 0; g < nth; g++) {
		struct config *cf;
		unsigned int comp, pus = topo_nr_pus(run_opts.topo);

		if (ncfg == cap) {
			cfgs = realloc(cfgs, 2 * cap * sizeof(*cfgs));
			if (!cfgs)
				out_of_memory();
			memset(cfgs + cap, 0, cap * sizeof(*cfgs));
			cap *= 2;
		}
		cf = &cfgs[ncfg];
		memset(cf, 0, sizeof(*cf));
		cf->scheme = scheme_find(sch[b]);
		for (i = 0; i < (int)nr_workloads; i++)
			if (!strcmp(wl[a], workloads[i].name))
				cf->wl = &workloads[i];
		cf->pages = strtoul(pg[c], NULL, 10);
		cf->share = !strcmp(sh[d], "same") ? SHARE_SAME :
			    !strcmp(sh[d], "private") ? SHARE_PRIVATE :
			    SHARE_POOL;
		if (cf->share == SHARE_POOL)
			cf->pool = strtoul(sh[d] + 5, NULL, 10);
		parse_with(o.with[e], cf);
		snprintf(cf->placement, sizeof(cf->placement), "%s", pl[f]);
		comp = config_nr_competitors(cf);
		if (!strcmp(th[g], "max")) {
			if (comp >= pus && !run_opts.oversubscribe)
				usage_error("no PU left for pinners after "
					    "%s competitors", cf->with_str);
			cf->threads = comp >= pus ? 1 : pus - comp;
		} else {
			cf->threads = strtoul(th[g], NULL, 10);
		}
		snprintf(cf->name, sizeof(cf->name),
			 "%s/%s/pages:%lu/share:%s%s%s/place:%s/threads:%u",
			 cf->wl->name, cf->scheme->name, cf->pages, sh[d],
			 comp ? "/with:" : "", cf->with_str, cf->placement,
			 cf->threads);
		for (i = 0; i < (int)ncfg; i++)
			if (!strcmp(cfgs[i].name, cf->name))
				break;
		if (i < (int)ncfg)
			continue;	/* e.g. --threads=2,max on 2 PUs */
		if (cf->share == SHARE_POOL && cf->pool < cf->pages &&
		    cf->wl->kind != WL_RAW) {
			fprintf(stderr, "gupbench: error: %s: a pool of %lu "
				"pages is smaller than one call's %lu pages\n",
				cf->name, cf->pool, cf->pages);
			failed = 2;
			goto out;
		}
		/*
		 * raw grabs one struct page, the thread's first: a pool's
		 * is every pinner's, as with same, and --pages is unused
		 */
		if (cf->wl->kind == WL_RAW &&
		    (cf->pages != 1 || cf->share == SHARE_POOL)) {
			raw_skipped++;
			continue;
		}
		if (cf->wl->kind >= WL_RAW && comp) {
			fprintf(stderr, "gupbench: error: --with does not apply "
				"to the %s workload\n", cf->wl->name);
			failed = 2;
			goto out;
		}
		if (cf->with[C_MKCLEAN] && cf->pages == HPAGE_PMD_NR &&
		    !(cf->scheme->features & SF_DEVMAP)) {
			/* page_vma_mkclean_one()'s PMD branch is not modelled */
			fprintf(stderr, "gupbench: error: %s: mkclean of a "
				"PMD-mapped THP is not modelled (the writeback "
				"would never write-protect it); use --pages=1 "
				"or 16 with mkclean\n", cf->name);
			failed = 2;
			goto out;
		}
		if (cf->with[C_COLLAPSE] &&
		    ((cf->scheme->features & SF_DEVMAP) ||
		     cf->with[C_MKCLEAN] || cf->wl->kind == WL_PIN_RO)) {
			/* collapse_find_pmd(), collapse_scan(): -EINVAL */
			fprintf(stderr, "gupbench: error: %s: collapse needs "
				"a private writable anon mapping; it would "
				"always fail %s\n", cf->name,
				(cf->scheme->features & SF_DEVMAP) ?
				"on ZONE_DEVICE pages (choose another scheme)" :
				cf->with[C_MKCLEAN] ?
				"on mkclean's shared mapping" :
				"on pin_ro's read-only PTEs (SCAN_PAGE_RO)");
			failed = 2;
			goto out;
		}
		if (cf->threads + comp > pus && !run_opts.oversubscribe) {
			fprintf(stderr, "gupbench: error: %s: %u threads (%u "
				"pinners + %u competitors) but only %u PUs; use "
				"--oversubscribe to run anyway\n", cf->name,
				cf->threads + comp, cf->threads, comp, pus);
			failed = 2;
			goto out;
		}
		if (cf->threads + comp > GUP_THREADS_MAX) {
			fprintf(stderr, "gupbench: error: %s: %u threads (%u "
				"pinners + %u competitors): at most %d, the "
				"model's per-CPU counter slots\n", cf->name,
				cf->threads + comp, cf->threads, comp,
				GUP_THREADS_MAX);
			failed = 2;
			goto out;
		}
		ret = config_place(cf, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "gupbench: error: %s\n", err);
			failed = 2;
			goto out;
		}
		if (o.plan) {
			const char **roles = calloc(cf->threads + comp,
						    sizeof(*roles));

			for (i = 0; i < (int)(cf->threads + comp); i++)
				roles[i] = config_role(cf, i);
			printf("%s\n", cf->name);
			topo_print_plan(stdout, run_opts.topo, cf->pus, roles,
					cf->threads + comp, &cf->mp);
			free(roles);
		} else {
			char key[sizeof(cf->name) + 16];
			char *ps = placement_string(cf, cf->pus,
							     &cf->mp);

			snprintf(key, sizeof(key), "placement %s", cf->name);
			gbench_add_context(key, ps);
			free(ps);
		}
		mkclean_rows += cf->with[C_MKCLEAN] > 0;
		ncfg++;
	}
	if ((run_opts.writeback_us > 0 || run_opts.stable_writes) &&
	    !mkclean_rows)
		fprintf(stderr, "gupbench: note: --writeback-us and "
			"--stable-writes apply to rows with a mkclean "
			"competitor; none of these has one\n");
	if (raw_skipped)
		fprintf(stderr, "gupbench: note: raw grabs one page (share "
			"same or private): %u raw configuration%s with --pages "
			"other than 1 or a pool share not run\n", raw_skipped,
			raw_skipped > 1 ? "s" : "");
	if (!ncfg) {
		fprintf(stderr, "gupbench: error: nothing to run\n");
		failed = 2;
		goto out;
	}
	if (o.plan)
		goto out;

	add_context(cmdline);
	for (a = 0; a < ncfg; a++) {
		ret = gbench_register(cfgs[a].name, config_run, &cfgs[a]);
		if (ret) {	/* names are unique: duplicates were dropped */
			fprintf(stderr, "gupbench: error: cannot register %s\n",
				cfgs[a].name);
			failed = 1;
			goto out;
		}
	}
	ret = gbench_run();
	/* a bad filter, a filter that selects nothing, an unopenable
	 * --benchmark_out: bad input; out of memory, an exception: 1 */
	if (ret == 0 || (ret < 0 && ret != -ENOMEM && ret != -EIO))
		failed = 2;
	else if (ret < 0)
		failed = 1;
	if (gbench_errors() > 0) {
		fprintf(stderr, "gupbench: error: %d run%s ended in an error "
			"row (\"error_occurred\" in the output)\n",
			gbench_errors(), gbench_errors() > 1 ? "s" : "");
		failed = 1;
	}
out:
	gbench_shutdown();
	perfctr_set_free(run_opts.events);
	topo_free(run_opts.topo);
	for (a = 0; a < cap; a++)	/* the one config_place() failed on too */
		free(cfgs[a].pus);
	free(cfgs);
	cli_free_all();
	return failed;
}
