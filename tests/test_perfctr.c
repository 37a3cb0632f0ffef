/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tests for bench/perfctr.c: event parsing, probing of what this machine
 * can count (with or without a hardware PMU), per-thread gating and
 * reading, and the TSC helpers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "perfctr.h"
#include "unit.h"

#define ERRLEN		256
#define TOUCH_PAGES	256

static long page_size;

static int read_paranoid(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int v = -1000;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1000;
		fclose(f);
	}
	return v;
}

/*
 * Write one byte to each of n fresh pages: n minor faults, no THP.
 * Returns false if the mapping fails (callable off the test's thread).
 */
static bool try_touch_fresh_pages(size_t n)
{
	size_t len = n * page_size, i;
	volatile char *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return false;
	madvise((void *)p, len, MADV_NOHUGEPAGE);
	for (i = 0; i < n; i++)
		p[i * page_size] = 1;
	munmap((void *)p, len);
	return true;
}

#define touch_fresh_pages(n)	CHECK(try_touch_fresh_pages(n))

/* Index of name among the set's counted events, or -1. */
static int counted_index(const struct perfctr_set *s, const char *name)
{
	unsigned int i;

	for (i = 0; i < perfctr_set_nr(s); i++)
		if (!strcmp(perfctr_set_name(s, i), name))
			return i;
	return -1;
}

/* Whether name is an element of the comma list. */
static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name))) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

/*
 * A set counting the software events software_list names, or a skip when
 * this machine cannot count them (perf_event_paranoid=3 unprivileged).
 */
static struct perfctr_set *software_set(const char *list)
{
	struct perfctr_set *s;
	char err[ERRLEN];

	CHECK_EQ(perfctr_set_create(&s, list, err, sizeof(err)), 0);
	if (!perfctr_set_nr(s)) {
		char why[ERRLEN];

		snprintf(why, sizeof(why), "%s", perfctr_set_status(s));
		perfctr_set_free(s);
		t_skip("no software event can be opened (%s); try "
		       "`sysctl kernel.perf_event_paranoid=2` or run as root",
		       why);
	}
	return s;
}

/* Guards: a name libpfm4 cannot encode is a usage error naming it. */
static void t_unknown_event(void *arg)
{
	static const struct {
		const char *list;
		const char *msg;
	} bad[] = {
		{ "nosuch_xyz",			"unknown event 'nosuch_xyz'" },
		{ "context-switches, bogus1",	"unknown event 'bogus1'" },
		{ "",				"empty event list" },
		{ " , ,",			"empty event list" },
		{ "cs,cs,cs,cs,cs,cs,cs,cs,cs,cs,cs,cs,cs,cs,cs,cs,cs",
						"too many events" },
		{ "cs,task-clock,cs",		"event 'cs' is listed twice" },
	};
	struct perfctr_set *s;
	char err[ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = (struct perfctr_set *)&s;
		CHECK_EQ(perfctr_set_create(&s, bad[i].list, err, sizeof(err)),
			 -EINVAL);
		CHECK(s == NULL);
		CHECK_MSG(strstr(err, bad[i].msg), "list '%s': err '%s'",
			  bad[i].list, err);
	}
}

/*
 * Guards: the default list on any machine. Every default event is either
 * counted or listed as unsupported, never both; the hardware ones follow
 * perfctr_set_has_hw(); context-switches (software) is always counted.
 * Passes with or without a PMU: it checks consistency, not absence.
 */
static void t_default_list(void *arg)
{
	struct perfctr_set *s = software_set(perfctr_default_list());
	const char *unsup = perfctr_set_unsupported(s);
	const char *status = perfctr_set_status(s);
	size_t i;

	CHECK_EQ(perfctr_nr_default_events, 4);
	CHECK(!strcmp(perfctr_default_list(),
		      "cycles,instructions,cache-misses,context-switches"));
	for (i = 0; i < perfctr_nr_default_events; i++) {
		const char *name = perfctr_default_events[i].name;
		bool counted = counted_index(s, name) >= 0;

		CHECK(perfctr_default_events[i].desc &&
		      *perfctr_default_events[i].desc);
		CHECK_MSG(counted != in_list(unsup, name),
			  "%s: counted %d, unsupported '%s'", name, counted,
			  unsup);
	}
	CHECK_MSG(counted_index(s, "context-switches") >= 0, "%s", status);
	CHECK_EQ(counted_index(s, "cycles") >= 0, perfctr_set_has_hw(s));
	CHECK(strstr(status, "context-switches (software)"));
	if (perfctr_set_has_hw(s)) {
		CHECK(strstr(status, "hardware PMU: available"));
	} else {
		CHECK_MSG(strstr(status, "hardware PMU: not available"),
			  "%s", status);
		CHECK_MSG(strstr(status, "unsupported: cycles"), "%s", status);
		CHECK(in_list(unsup, "cycles"));
	}
	CHECK(strstr(status, perfctr_set_kernel(s) ? "kernel counting: yes" :
		     "kernel counting: no"));
	perfctr_set_free(s);
}

/*
 * Guards: counting and gating. task-clock leads, page-faults is a group
 * member (the member must follow the leader's enable): nothing counts
 * before enable, fresh pages touched while enabled count, nothing counts
 * after disable, and a second window adds to the first.
 */
static void t_software_gating(void *arg)
{
	struct perfctr_set *s = software_set("task-clock,page-faults");
	double v0[2], v1[2], v2[2], v3[2];
	struct perfctr_thread *t;
	bool mux;

	CHECK_EQ(perfctr_set_nr(s), 2);
	CHECK_EQ(perfctr_thread_open(s, &t), 0);
	CHECK(perfctr_thread_grouped(t));

	touch_fresh_pages(TOUCH_PAGES);
	CHECK_EQ(perfctr_thread_read(t, v0, &mux), 0);
	CHECK_MSG(v0[0] == 0 && v0[1] == 0, "before enable: %.0f %.0f",
		  v0[0], v0[1]);

	perfctr_thread_enable(t);
	touch_fresh_pages(TOUCH_PAGES);
	perfctr_thread_disable(t);
	CHECK_EQ(perfctr_thread_read(t, v1, &mux), 0);
	CHECK_MSG(v1[0] > 0, "task-clock %.0f", v1[0]);
	CHECK_MSG(v1[1] >= TOUCH_PAGES, "page-faults %.0f < %d", v1[1],
		  TOUCH_PAGES);
	CHECK(!mux);

	touch_fresh_pages(TOUCH_PAGES);
	CHECK_EQ(perfctr_thread_read(t, v2, &mux), 0);
	CHECK_MSG(v2[0] == v1[0] && v2[1] == v1[1],
		  "after disable: %.0f %.0f -> %.0f %.0f", v1[0], v1[1],
		  v2[0], v2[1]);

	perfctr_thread_enable(t);
	touch_fresh_pages(TOUCH_PAGES);
	perfctr_thread_disable(t);
	CHECK_EQ(perfctr_thread_read(t, v3, &mux), 0);
	CHECK(v3[0] > v1[0]);
	CHECK(v3[1] >= v1[1] + TOUCH_PAGES);

	perfctr_thread_close(t);
	perfctr_set_free(s);
}

/* Guards: a single event is opened alone and still gates. */
static void t_single_event(void *arg)
{
	struct perfctr_set *s = software_set("page-faults");
	struct perfctr_thread *t;
	double v[1];

	CHECK_EQ(perfctr_set_nr(s), 1);
	CHECK(!strcmp(perfctr_set_name(s, 0), "page-faults"));
	CHECK(perfctr_set_name(s, 1) == NULL);
	CHECK(!strcmp(perfctr_set_unsupported(s), ""));
	CHECK_EQ(perfctr_thread_open(s, &t), 0);
	perfctr_thread_enable(t);
	touch_fresh_pages(TOUCH_PAGES);
	perfctr_thread_disable(t);
	CHECK_EQ(perfctr_thread_read(t, v, NULL), 0);
	CHECK_MSG(v[0] >= TOUCH_PAGES, "page-faults %.0f", v[0]);
	perfctr_thread_close(t);
	perfctr_set_free(s);
}

struct worker {
	const struct perfctr_set *s;
	size_t pages;		/* fresh pages this thread touches */
	int err;		/* open or read error */
	double faults;		/* its page-faults count */
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct perfctr_thread *t;
	double v[1];

	w->err = perfctr_thread_open(w->s, &t);
	if (w->err)
		return NULL;
	perfctr_thread_enable(t);
	if (!try_touch_fresh_pages(w->pages))
		w->err = -ENOMEM;
	perfctr_thread_disable(t);
	if (!w->err)
		w->err = perfctr_thread_read(t, v, NULL);
	w->faults = v[0];
	perfctr_thread_close(t);
	return NULL;
}

/*
 * Guards: counters follow only the thread that opened them (pid 0, no
 * inherit): two threads sharing one set each see their own faults.
 */
static void t_per_thread(void *arg)
{
	struct perfctr_set *s = software_set("page-faults");
	struct worker w[2] = {
		{ .s = s, .pages = TOUCH_PAGES },
		{ .s = s, .pages = 8 * TOUCH_PAGES },
	};
	pthread_t tid[2];
	int i;

	for (i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&tid[i], NULL, worker_fn, &w[i]), 0);
	for (i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	perfctr_set_free(s);
	for (i = 0; i < 2; i++) {
		CHECK_EQ(w[i].err, 0);
		CHECK_MSG(w[i].faults >= w[i].pages &&
			  w[i].faults < 2 * w[i].pages,
			  "thread %d: %.0f faults for %zu pages", i,
			  w[i].faults, w[i].pages);
	}
}

/*
 * Guards: a set where nothing can be counted is not an error: nr == 0,
 * every event listed unsupported, and the thread calls are no-ops.
 * Needs events this machine cannot count: the hardware ones without a PMU.
 */
static void t_all_unsupported(void *arg)
{
	struct perfctr_set *s;
	struct perfctr_thread *t;
	char err[ERRLEN];
	bool mux = true;
	double v[1];

	CHECK_EQ(perfctr_set_create(&s, "cycles,instructions,cache-misses",
				    err, sizeof(err)), 0);
	if (perfctr_set_has_hw(s)) {
		perfctr_set_free(s);
		t_skip("this machine has a hardware PMU: no event is known "
		       "to be unsupported here");
	}
	CHECK_EQ(perfctr_set_nr(s), 0);
	CHECK(perfctr_set_name(s, 0) == NULL);
	CHECK(!strcmp(perfctr_set_unsupported(s),
		      "cycles,instructions,cache-misses"));
	CHECK_MSG(strstr(perfctr_set_status(s), "counting: none"), "%s",
		  perfctr_set_status(s));
	t = (struct perfctr_thread *)&t;
	CHECK_EQ(perfctr_thread_open(s, &t), -ENOENT);
	CHECK(t == NULL);
	perfctr_thread_enable(t);
	perfctr_thread_disable(t);
	CHECK_EQ(perfctr_thread_read(t, v, &mux), 0);
	CHECK(!mux);
	perfctr_thread_close(t);
	perfctr_set_free(s);
}

/* Guards: tsc_hz() is plausible and stable, rdtsc never goes back. */
static void t_tsc(void *arg)
{
	struct timespec a, b, nap = { 0, 20 * 1000 * 1000 };
	uint64_t hz = tsc_hz(), prev, now, c0, c1;
	double ns, ratio;
	int i;

	CHECK_MSG(hz >= 500000000ull && hz <= 10000000000ull, "%llu Hz",
		  (unsigned long long)hz);
	CHECK_EQ(tsc_hz(), hz);

	prev = rdtsc_begin();
	for (i = 0; i < 100000; i++) {
		now = (i & 1) ? rdtsc_end() : rdtsc_now();
		CHECK_MSG(now >= prev, "step %d: %llu < %llu", i,
			  (unsigned long long)now, (unsigned long long)prev);
		prev = now;
	}

	/* 20 ms of sleep measured both ways agree within 5%. */
	clock_gettime(CLOCK_MONOTONIC_RAW, &a);
	c0 = rdtsc_begin();
	nanosleep(&nap, NULL);
	c1 = rdtsc_end();
	clock_gettime(CLOCK_MONOTONIC_RAW, &b);
	ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
	ratio = (double)(c1 - c0) / hz * 1e9 / ns;
	CHECK_MSG(ratio > 0.95 && ratio < 1.05, "ratio %.3f", ratio);
}

/*
 * In a child that has dropped root: the set must fall back to user-only
 * counting (paranoid 2), dropping context-switches (kernel mode only), or
 * drop everything as permission denied (paranoid >= 3). Returns NULL or
 * what went wrong.
 */
static const char *paranoid_child(int paranoid, char *msg, size_t len)
{
	struct perfctr_set *s;
	struct perfctr_thread *t;
	const char *st;
	double v[2];

	if (perfctr_set_create(&s, "task-clock,page-faults,context-switches",
			       msg, len))
		return msg;
	st = perfctr_set_status(s);
	if (perfctr_set_kernel(s)) {
		snprintf(msg, len, "kernel counting allowed: %s", st);
		return msg;
	}
	if (paranoid >= 3) {
		if (perfctr_set_nr(s) ||
		    !strstr(st, "permission denied (perf_event_paranoid=") ||
		    strcmp(perfctr_set_unsupported(s),
			   "task-clock,page-faults,context-switches")) {
			snprintf(msg, len, "paranoid %d: %s", paranoid, st);
			return msg;
		}
		return NULL;
	}
	/* user-only context-switches would open and always read 0 */
	if (perfctr_set_nr(s) != 2 ||
	    !strstr(st, "kernel counting: no (perf_event_paranoid=") ||
	    strcmp(perfctr_set_unsupported(s), "context-switches") ||
	    !strstr(st, "context-switches (happens in kernel mode only, "
		    "which perf_event_paranoid=")) {
		snprintf(msg, len, "user-only fallback: %s", st);
		return msg;
	}
	if (perfctr_thread_open(s, &t)) {
		snprintf(msg, len, "open failed: %s", st);
		return msg;
	}
	perfctr_thread_enable(t);
	if (!try_touch_fresh_pages(TOUCH_PAGES))
		return "mmap failed";
	perfctr_thread_disable(t);
	if (perfctr_thread_read(t, v, NULL) || v[1] < TOUCH_PAGES) {
		snprintf(msg, len, "user-only page-faults %.0f", v[1]);
		return msg;
	}
	perfctr_thread_close(t);
	perfctr_set_free(s);
	return NULL;
}

/*
 * Guards: perf_event_paranoid refusing kernel-mode counting. Simulated by
 * dropping root in a child when paranoid >= 2; run as is when already
 * unprivileged.
 */
static void t_paranoid(void *arg)
{
	int paranoid = read_paranoid(), pfd[2], status;
	char msg[ERRLEN] = "";
	ssize_t n;
	pid_t pid;

	if (paranoid < 2)
		t_skip("perf_event_paranoid=%d allows kernel counting; "
		       "`sysctl kernel.perf_event_paranoid=2` to exercise "
		       "the user-only fallback", paranoid);
	if (geteuid() != 0 && paranoid >= 2) {
		const char *why = paranoid_child(paranoid, msg, sizeof(msg));

		CHECK_MSG(!why, "%s", why);
		return;
	}
	CHECK_EQ(pipe(pfd), 0);
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		const char *why;

		close(pfd[0]);
		if (setgid(65534) || setuid(65534)) {
			why = "setuid(nobody) failed";
		} else {
			why = paranoid_child(paranoid, msg, sizeof(msg));
		}
		if (why && write(pfd[1], why, strlen(why)) < 0)
			_exit(2);
		_exit(why ? 1 : 0);
	}
	close(pfd[1]);
	n = read(pfd[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child: %s", msg);
}

static const struct {
	const char *name;
	t_fn fn;
} cases[] = {
	{ "unknown_event",	t_unknown_event },
	{ "default_list",	t_default_list },
	{ "software_gating",	t_software_gating },
	{ "single_event",	t_single_event },
	{ "per_thread",		t_per_thread },
	{ "all_unsupported",	t_all_unsupported },
	{ "tsc",		t_tsc },
	{ "paranoid",		t_paranoid },
};

int main(void)
{
	size_t i;

	page_size = sysconf(_SC_PAGESIZE);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		t_case_named(cases[i].name, cases[i].fn, NULL);
	return t_done();
}
