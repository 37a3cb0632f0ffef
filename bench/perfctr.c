/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-thread perf counter groups: libpfm4 encodes event names into
 * struct perf_event_attr, libperf opens, gates and reads them.
 *
 * Groups follow perf's own convention (evsel__config in tools/perf): the
 * leader is created disabled and the members enabled, so that one ioctl on
 * the leader starts or stops the whole group. libperf 6.1 exposes no fd,
 * so PERF_IOC_FLAG_GROUP cannot be used; this needs none.
 *
 * Each evsel is opened with perf_evsel__open() and maps this file owns,
 * rather than perf_evlist__set_maps() + perf_evlist__open(): libperf 6.1's
 * perf_evsel__delete() does not drop the map references that map
 * propagation takes (later libperf does), which LeakSanitizer reports.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* Defines struct perf_event_attr; libperf's headers only declare it. */
#include <perfmon/pfmlib_perf_event.h>
#include <perf/core.h>
#include <perf/cpumap.h>
#include <perf/evlist.h>
#include <perf/evsel.h>
#include <perf/threadmap.h>

#include "perfctr.h"

const struct perfctr_event_desc perfctr_default_events[] = {
	{ .name = "cycles",
	  .desc = "CPU cycles (hardware PMU)" },
	{ .name = "instructions",
	  .desc = "instructions retired (hardware PMU)" },
	{ .name = "cache-misses",
	  .desc = "last-level cache misses (hardware PMU)" },
	{ .name = "context-switches",
	  .desc = "context switches of the thread (software)" },
};
const size_t perfctr_nr_default_events =
	sizeof(perfctr_default_events) / sizeof(perfctr_default_events[0]);

/* A software event that fires in kernel mode only, when that is refused. */
#define ERR_KERNEL_ONLY	(-4096)

/* One parsed event. */
struct perfctr_ev {
	char *name;			/* as the user wrote it */
	struct perf_event_attr attr;	/* libpfm4's encoding, then ours */
	int err;			/* 0: counted, else probe's -errno */
};

struct perfctr_set {
	struct perfctr_ev ev[PERFCTR_MAX_EVENTS];	/* list order */
	unsigned int nr_ev;		/* parsed */
	unsigned int nr;		/* counted */
	unsigned int idx[PERFCTR_MAX_EVENTS];	/* counted -> ev[] */
	bool has_hw;			/* cycles opens on this machine */
	bool kernel;			/* kernel mode counted too */
	int paranoid;			/* or PARANOID_UNKNOWN */
	char *status;
	char *unsupported;
};

struct perfctr_thread {
	struct perf_evlist *evlist;	/* owns the evsels */
	struct perf_evsel *evsel[PERFCTR_MAX_EVENTS];	/* set order */
	struct perf_cpu_map *cpus;	/* cpu -1 */
	struct perf_thread_map *threads;	/* pid 0: this thread */
	unsigned int nr;
	bool grouped;
};

#define PARANOID_UNKNOWN	(-1000)

static int perfctr_init_err;
static pthread_once_t perfctr_once = PTHREAD_ONCE_INIT;

/* libpfm4 and libperf, once per process; libperf is told not to print. */
static void perfctr_init_once(void)
{
	int ret = pfm_initialize();

	perfctr_init_err = ret == PFM_SUCCESS ? 0 : ret;
	libperf_init(NULL);
}

static int read_paranoid(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int v = PARANOID_UNKNOWN;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = PARANOID_UNKNOWN;
		fclose(f);
	}
	return v;
}

/* "KVM guest?" and the like, for the status line; "" if not a guest. */
static const char *guest_hint(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned int a, b, c, d;
	char sig[13];

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 31)))
		return "";
	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
	if (!strcmp(sig, "KVMKVMKVM"))
		return " (KVM guest?)";
	if (!strcmp(sig, "Microsoft Hv"))
		return " (Hyper-V guest?)";
	if (!strcmp(sig, "VMwareVMware"))
		return " (VMware guest?)";
	if (!strncmp(sig, "XenVMM", 6))
		return " (Xen guest?)";
	return " (virtual machine?)";
#else
	return "";
#endif
}

/* Encode one name with libpfm4; the attr counts user and kernel mode. */
static int encode_event(const char *name, struct perf_event_attr *attr)
{
	pfm_perf_encode_arg_t arg;
	int ret;

	memset(attr, 0, sizeof(*attr));
	memset(&arg, 0, sizeof(arg));
	arg.attr = attr;
	arg.size = sizeof(arg);
	ret = pfm_get_os_event_encoding(name, PFM_PLM0 | PFM_PLM3,
					PFM_OS_PERF_EVENT_EXT, &arg);
	if (ret != PFM_SUCCESS)
		return -EINVAL;
	/* An uncore event needs a CPU: it cannot follow one thread. */
	if (arg.cpu >= 0)
		return -EINVAL;
	attr->size = sizeof(*attr);
	attr->disabled = 1;
	attr->read_format = PERF_FORMAT_TOTAL_TIME_ENABLED |
			    PERF_FORMAT_TOTAL_TIME_RUNNING;
	return 0;
}

/* Open attr on the calling thread and close it again: 0 or -errno. */
static int probe_attr(const struct perf_event_attr *attr)
{
	struct perf_event_attr a = *attr;
	struct perf_thread_map *threads;
	struct perf_cpu_map *cpus;
	struct perf_evsel *evsel;
	int err = -ENOMEM;

	cpus = perf_cpu_map__dummy_new();
	threads = perf_thread_map__new_dummy();
	evsel = perf_evsel__new(&a);
	if (!cpus || !threads || !evsel)
		goto out;
	perf_thread_map__set_pid(threads, 0, 0);
	err = perf_evsel__open(evsel, cpus, threads);
	perf_evsel__close(evsel);
out:
	if (evsel)
		perf_evsel__delete(evsel);
	perf_thread_map__put(threads);
	perf_cpu_map__put(cpus);
	return err;
}

static bool probe_has_hw(void)
{
	struct perf_event_attr attr = {
		.type		= PERF_TYPE_HARDWARE,
		.config		= PERF_COUNT_HW_CPU_CYCLES,
		.disabled	= 1,
		.exclude_kernel	= 1,	/* not refused by perf_event_paranoid */
		.exclude_hv	= 1,
	};

	attr.size = sizeof(attr);
	return probe_attr(&attr) == 0;
}

static bool is_perm_err(int err)
{
	return err == -EACCES || err == -EPERM;
}

static void err_reason(const struct perfctr_set *s, int err, char *buf,
		       size_t len)
{
	switch (err) {
	case ERR_KERNEL_ONLY:
		if (s->paranoid == PARANOID_UNKNOWN)
			snprintf(buf, len, "happens in kernel mode only, "
				 "which is not counted here");
		else
			snprintf(buf, len, "happens in kernel mode only, "
				 "which perf_event_paranoid=%d does not count",
				 s->paranoid);
		break;
	case -ENOENT:
	case -EOPNOTSUPP:
	case -ENODEV:
		snprintf(buf, len, "not supported");
		break;
	case -EACCES:
	case -EPERM:
		if (s->paranoid == PARANOID_UNKNOWN)
			snprintf(buf, len, "permission denied");
		else
			snprintf(buf, len,
				 "permission denied (perf_event_paranoid=%d)",
				 s->paranoid);
		break;
	default:
		snprintf(buf, len, "%s", strerror(-err));
		break;
	}
}

/*
 * Probe every event; if perf_event_paranoid refuses kernel-mode counting,
 * make every event user-only (an event asking for kernel mode only keeps
 * it, and fails) and probe again, so that all counts cover the same modes.
 */
static void probe_events(struct perfctr_set *s)
{
	unsigned int i, j;

	s->kernel = true;
again:
	for (i = 0; i < s->nr_ev; i++) {
		struct perfctr_ev *ev = &s->ev[i];

		ev->err = probe_attr(&ev->attr);
		if (is_perm_err(ev->err) && s->kernel &&
		    !ev->attr.exclude_kernel && !ev->attr.exclude_user) {
			s->kernel = false;
			for (j = 0; j < s->nr_ev; j++) {
				if (s->ev[j].attr.exclude_user)
					continue;
				s->ev[j].attr.exclude_kernel = 1;
				s->ev[j].attr.exclude_hv = 1;
			}
			goto again;
		}
	}
	/*
	 * context-switches and cpu-migrations are counted in the scheduler,
	 * with kernel registers: user-only, they open and read 0
	 */
	for (i = 0; i < s->nr_ev && !s->kernel; i++)
		if (!s->ev[i].err && s->ev[i].attr.type == PERF_TYPE_SOFTWARE &&
		    (s->ev[i].attr.config == PERF_COUNT_SW_CONTEXT_SWITCHES ||
		     s->ev[i].attr.config == PERF_COUNT_SW_CPU_MIGRATIONS))
			s->ev[i].err = ERR_KERNEL_ONLY;
	s->nr = 0;
	for (i = 0; i < s->nr_ev; i++)
		if (!s->ev[i].err)
			s->idx[s->nr++] = i;
}

static const char *event_kind(const struct perf_event_attr *attr)
{
	switch (attr->type) {
	case PERF_TYPE_SOFTWARE:
		return "software";
	case PERF_TYPE_TRACEPOINT:
		return "tracepoint";
	case PERF_TYPE_BREAKPOINT:
		return "breakpoint";
	default:
		return "hardware";
	}
}

/* Build the unsupported list and the status line. */
static int describe(struct perfctr_set *s)
{
	char reason[96], other[96];
	unsigned int i, j;
	size_t len;
	FILE *f;

	f = open_memstream(&s->unsupported, &len);
	if (!f)
		return -ENOMEM;
	for (i = 0, j = 0; i < s->nr_ev; i++)
		if (s->ev[i].err)
			fprintf(f, "%s%s", j++ ? "," : "", s->ev[i].name);
	if (fclose(f))
		return -ENOMEM;

	f = open_memstream(&s->status, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "hardware PMU: %s", s->has_hw ? "available" :
		"not available");
	if (!s->has_hw)
		fputs(guest_hint(), f);
	fputs("; counting: ", f);
	if (!s->nr)
		fputs("none", f);
	for (i = 0; i < s->nr; i++)
		fprintf(f, "%s%s (%s)", i ? ", " : "", s->ev[s->idx[i]].name,
			event_kind(&s->ev[s->idx[i]].attr));
	if (*s->unsupported) {
		/* Group the dropped events by reason, in list order. */
		fputs("; unsupported: ", f);
		for (i = 0, j = 0; i < s->nr_ev; i++) {
			unsigned int k, n = 0;
			bool seen = false;

			if (!s->ev[i].err)
				continue;
			err_reason(s, s->ev[i].err, reason, sizeof(reason));
			for (k = 0; k < i && !seen; k++) {
				if (!s->ev[k].err)
					continue;
				err_reason(s, s->ev[k].err, other,
					   sizeof(other));
				seen = !strcmp(reason, other);
			}
			if (seen)
				continue;
			fputs(j++ ? "; " : "", f);
			for (k = i; k < s->nr_ev; k++) {
				if (!s->ev[k].err)
					continue;
				err_reason(s, s->ev[k].err, other,
					   sizeof(other));
				if (!strcmp(reason, other))
					fprintf(f, "%s%s", n++ ? ", " : "",
						s->ev[k].name);
			}
			fprintf(f, " (%s)", reason);
		}
	}
	if (s->kernel)
		fputs("; kernel counting: yes", f);
	else if (s->paranoid != PARANOID_UNKNOWN)
		fprintf(f,
			"; kernel counting: no (perf_event_paranoid=%d, user-only)",
			s->paranoid);
	else
		fputs("; kernel counting: no (user-only)", f);
	if (fclose(f))
		return -ENOMEM;
	return 0;
}

/* Split list at commas into s->ev[], trimming blanks, and encode each. */
static int parse_list(struct perfctr_set *s, const char *list, char *err,
		      size_t errlen)
{
	const char *p = list, *end;

	while (*p) {
		size_t n;

		end = strchrnul(p, ',');
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		n = end - p;
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n) {
			struct perfctr_ev *ev = &s->ev[s->nr_ev];

			if (s->nr_ev == PERFCTR_MAX_EVENTS) {
				snprintf(err, errlen,
					 "too many events (at most %d)",
					 PERFCTR_MAX_EVENTS);
				return -EINVAL;
			}
			ev->name = strndup(p, n);
			if (!ev->name) {
				snprintf(err, errlen, "out of memory");
				return -ENOMEM;
			}
			s->nr_ev++;
			if (encode_event(ev->name, &ev->attr)) {
				snprintf(err, errlen, "unknown event '%s'",
					 ev->name);
				return -EINVAL;
			}
		}
		p = *end ? end + 1 : end;
	}
	if (!s->nr_ev) {
		snprintf(err, errlen, "empty event list");
		return -EINVAL;
	}
	/* one counter, one column: a second would be read and dropped */
	for (unsigned int i = 1; i < s->nr_ev; i++)
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(s->ev[i].name, s->ev[j].name)) {
				snprintf(err, errlen, "event '%s' is listed "
					 "twice", s->ev[i].name);
				return -EINVAL;
			}
	return 0;
}

int perfctr_set_create(struct perfctr_set **out, const char *list,
		       char *err, size_t errlen)
{
	struct perfctr_set *s;
	int ret;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	pthread_once(&perfctr_once, perfctr_init_once);
	if (perfctr_init_err) {
		snprintf(err, errlen, "libpfm4: %s",
			 pfm_strerror(perfctr_init_err));
		return -ENODEV;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = parse_list(s, list ? list : "", err, errlen);
	if (ret)
		goto out_free;
	s->paranoid = read_paranoid();
	s->has_hw = probe_has_hw();
	probe_events(s);
	ret = describe(s);
	if (ret) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	*out = s;
	return 0;

out_free:
	perfctr_set_free(s);
	return ret;
}

void perfctr_set_free(struct perfctr_set *s)
{
	unsigned int i;

	if (!s)
		return;
	for (i = 0; i < s->nr_ev; i++)
		free(s->ev[i].name);
	free(s->status);
	free(s->unsupported);
	free(s);
}

static char default_list[256];
static pthread_once_t default_list_once = PTHREAD_ONCE_INIT;

static void default_list_build(void)
{
	size_t i, len = 0;

	for (i = 0; i < perfctr_nr_default_events &&
		    len < sizeof(default_list); i++)
		len += snprintf(default_list + len, sizeof(default_list) - len,
				"%s%s", i ? "," : "",
				perfctr_default_events[i].name);
}

const char *perfctr_default_list(void)
{
	pthread_once(&default_list_once, default_list_build);
	return default_list;
}

unsigned int perfctr_set_nr(const struct perfctr_set *s)
{
	return s ? s->nr : 0;
}

const char *perfctr_set_name(const struct perfctr_set *s, unsigned int i)
{
	return s && i < s->nr ? s->ev[s->idx[i]].name : NULL;
}

const char *perfctr_set_status(const struct perfctr_set *s)
{
	return s ? s->status : "";
}

const char *perfctr_set_unsupported(const struct perfctr_set *s)
{
	return s ? s->unsupported : "";
}

bool perfctr_set_has_hw(const struct perfctr_set *s)
{
	return s && s->has_hw;
}

bool perfctr_set_kernel(const struct perfctr_set *s)
{
	return s && s->kernel;
}

/* Free what thread_build() made; safe on a half-built thread. */
static void thread_teardown(struct perfctr_thread *t)
{
	/* Closes every evsel, then deletes them. */
	perf_evlist__delete(t->evlist);
	t->evlist = NULL;
	memset(t->evsel, 0, sizeof(t->evsel));
}

/*
 * Create and open t's evsels: as one group (leader disabled, members
 * enabled: they follow the leader) or as independent disabled counters.
 */
static int thread_build(const struct perfctr_set *s, struct perfctr_thread *t,
			bool group)
{
	unsigned int i;
	int err;

	t->evlist = perf_evlist__new();
	if (!t->evlist)
		return -ENOMEM;
	for (i = 0; i < t->nr; i++) {
		struct perf_event_attr attr = s->ev[s->idx[i]].attr;

		attr.disabled = !group || i == 0;
		t->evsel[i] = perf_evsel__new(&attr);
		if (!t->evsel[i]) {
			err = -ENOMEM;
			goto out_teardown;
		}
		perf_evlist__add(t->evlist, t->evsel[i]);
	}
	if (group)
		perf_evlist__set_leader(t->evlist);
	/* Leader first: members open into its group. */
	for (i = 0; i < t->nr; i++) {
		err = perf_evsel__open(t->evsel[i], t->cpus, t->threads);
		if (err)
			goto out_teardown;
	}
	t->grouped = group;
	return 0;

out_teardown:
	thread_teardown(t);
	return err;
}

int perfctr_thread_open(const struct perfctr_set *s,
			struct perfctr_thread **out)
{
	struct perfctr_thread *t;
	int err;

	*out = NULL;
	if (!s || !s->nr)
		return -ENOENT;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->nr = s->nr;
	t->cpus = perf_cpu_map__dummy_new();
	t->threads = perf_thread_map__new_dummy();
	if (!t->cpus || !t->threads) {
		err = -ENOMEM;
		goto out_free;
	}
	perf_thread_map__set_pid(t->threads, 0, 0);
	/* A group when it can be had: one ioctl gates it, one schedule. */
	err = -EINVAL;
	if (t->nr > 1)
		err = thread_build(s, t, true);
	if (err && err != -ENOMEM)
		err = thread_build(s, t, false);
	if (err)
		goto out_free;
	*out = t;
	return 0;

out_free:
	perf_thread_map__put(t->threads);
	perf_cpu_map__put(t->cpus);
	free(t);
	return err;
}

void perfctr_thread_enable(struct perfctr_thread *t)
{
	if (!t)
		return;
	if (t->grouped)
		perf_evsel__enable(t->evsel[0]);
	else
		perf_evlist__enable(t->evlist);
}

void perfctr_thread_disable(struct perfctr_thread *t)
{
	if (!t)
		return;
	if (t->grouped)
		perf_evsel__disable(t->evsel[0]);
	else
		perf_evlist__disable(t->evlist);
}

int perfctr_thread_read(struct perfctr_thread *t, double *vals,
			bool *multiplexed)
{
	bool mux = false;
	unsigned int i;

	for (i = 0; t && i < t->nr; i++) {
		struct perf_counts_values c;
		int err;

		err = perf_evsel__read(t->evsel[i], 0, 0, &c);
		if (err)
			return err;
		if (c.run < c.ena)
			mux = true;
		/*
		 * Enabled but never scheduled in: no estimate is possible.
		 * Never enabled: nothing was counted, 0 is right.
		 */
		if (!c.run && c.ena)
			return -ENODATA;
		vals[i] = c.run ? (double)c.val * ((double)c.ena / c.run) : 0;
	}
	if (multiplexed)
		*multiplexed = mux;
	return 0;
}

bool perfctr_thread_grouped(const struct perfctr_thread *t)
{
	return t && t->grouped;
}

void perfctr_thread_close(struct perfctr_thread *t)
{
	if (!t)
		return;
	thread_teardown(t);
	perf_thread_map__put(t->threads);
	perf_cpu_map__put(t->cpus);
	free(t);
}

static uint64_t tsc_hz_val;
static pthread_once_t tsc_once = PTHREAD_ONCE_INIT;

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + ts->tv_nsec;
}

/* TSC ticks over ~50 ms of CLOCK_MONOTONIC_RAW. */
static void tsc_calibrate(void)
{
#if defined(__x86_64__) || defined(__i386__)
	struct timespec t0, t1, nap = { 0, 50 * 1000 * 1000 };
	uint64_t c0, c1;

	clock_gettime(CLOCK_MONOTONIC_RAW, &t0);
	c0 = rdtsc_begin();
	while (nanosleep(&nap, &nap) && errno == EINTR)
		;
	clock_gettime(CLOCK_MONOTONIC_RAW, &t1);
	c1 = rdtsc_end();
	tsc_hz_val = (uint64_t)((double)(c1 - c0) * 1e9 /
				(double)(ts_ns(&t1) - ts_ns(&t0)));
#else
	tsc_hz_val = 1000000000ull;
#endif
}

uint64_t tsc_hz(void)
{
	pthread_once(&tsc_once, tsc_calibrate);
	return tsc_hz_val;
}

int tsc_invariant(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned int a, b, c, d;

	/* CPUID.80000007H:EDX[8], "Invariant TSC" (Intel and AMD alike) */
	if (!__get_cpuid(0x80000007, &a, &b, &c, &d))
		return 0;
	return !!(d & (1U << 8));
#else
	return -1;
#endif
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t r = a % b;

		a = b;
		b = r;
	}
	return a;
}

/*
 * Time spins of 0..36 steps of a dependent chain between fenced reads, as
 * a latency sample is timed, so the gaps spread over many values, and
 * take the greatest common divisor of the gaps seen at least 0.1% of the
 * time: 1 where the TSC counts every tick, the hypervisor's step where it
 * does not (26 ticks, 10 ns, on the KVM guest gupbench is developed on,
 * whose fenced gaps are 52, 78 or 104 ticks, 130 twice in 100000).
 * Back-to-back reads alone would find RDTSC's own cost, and a minimum gap
 * would catch a rare odd one (unfenced reads here differ by 1 tick 5% of
 * the time).
 */
#define TSC_STEP_READS	100000
#define TSC_STEP_MAXGAP	4096

uint64_t tsc_step(void)
{
	unsigned int *hist = calloc(TSC_STEP_MAXGAP, sizeof(*hist));
	uint64_t step = 0, a, b;
	unsigned long x = 1;
	int i, k;

	if (!hist)
		return 1;
	for (i = 0; i < TSC_STEP_READS; i++) {
		a = rdtsc_begin();
		for (k = i % 37; k > 0; k--)
			__asm__ __volatile__("" : "+r" (x) : : "memory");
		b = rdtsc_end();
		if (b > a && b - a < TSC_STEP_MAXGAP)
			hist[b - a]++;
	}
	for (i = 1; i < TSC_STEP_MAXGAP; i++)
		if (hist[i] >= TSC_STEP_READS / 1000)
			step = gcd64(step, (uint64_t)i);
	free(hist);
	return step ? step : 1;
}
