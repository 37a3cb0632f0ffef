// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the Google Benchmark shim (bench/gbench.cc): the rows that reach
 * libbenchmark's reporters say what gupbench measured (DESIGN.md section
 * 4). Fake configurations return known values; each scenario runs in a
 * child process, since libbenchmark's flags are process global, and the
 * JSON/CSV/console text it writes is checked here.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gbench.h"
#include "unit.h"

#define NAME_A	"pin/bias/pages:1/share:shared/place:compact/threads:4"
#define NAME_B	"pin/pincount/pages:1/share:private/place:numa/threads:8"
#define NAME_E	"pin/pagelock/pages:1/share:shared/place:smt/threads:2"
#define COMPARE_PY "/usr/share/benchmark/compare.py"

static char tmpdir[64];

/* A: the same values every call. */
static void fake_a(void *arg, struct gbench_result *out)
{
	out->real_ns_per_op = 12.5;
	out->cpu_ns_per_op = 11.0;
	out->ops = 1000;
	out->threads = 4;
	out->counters[0] = (struct gbench_counter){ "ops_per_s", 320000000.0 };
	out->counters[1] = (struct gbench_counter){ "slowpath_pct", 0.25 };
	out->nr_counters = 2;
}

/* B: call k (0, 1, 2, ...) gives real 10, 20, 30 ns and so on. */
static void fake_b(void *arg, struct gbench_result *out)
{
	static int calls;
	int k = calls++ % 3 + 1;

	out->real_ns_per_op = 10.0 * k;
	out->cpu_ns_per_op = 9.0 * k;
	out->ops = 100 * k;
	out->threads = 8;
	out->counters[0] = (struct gbench_counter){ "ops_per_s", 1000.0 * k };
	out->nr_counters = 1;
}

/* E: a configuration that cannot run. */
static void fake_err(void *arg, struct gbench_result *out)
{
	out->threads = 2;
	snprintf(out->error, sizeof(out->error),
		 "no PMU: perf_event_paranoid=3");
}

/*
 * Run gbench_init(args), register the fakes named by which ("a", "ba",
 * "abe": in that order) and gbench_run() in a child whose stdout goes to
 * out_path. Returns the child's exit code: the number of benchmarks run
 * plus 20 per error row (gbench_errors()),
 * 100 + errno of a failed gbench_run(), 200 + errno of a failed
 * gbench_init(), or -1 if it died.
 */
static int run_child(const char *const *args, const char *which,
		     const char *out_path)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *argv[16] = { "test_gbench" };
		int argc = 1, fd, ret;
		char err[256];

		fd = open(out_path ? out_path : "/dev/null",
			  O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
			_exit(99);
		/* libbenchmark's context banner and our diagnostics */
		snprintf(err, sizeof(err), "%s/stderr.txt", tmpdir);
		fd = open(err, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(99);
		while (args && *args && argc < 15)
			argv[argc++] = (char *)*args++;
		argv[argc] = NULL;
		ret = gbench_init(&argc, argv, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "gbench_init: %s\n", err);
			_exit(200 + (-ret & 0x3f));
		}
		gbench_add_context("gupbench_version", "test-1");
		gbench_add_context("time_semantics", "per-op ns");
		for (; *which; which++) {
			if (*which == 'a')
				gbench_register(NAME_A, fake_a, NULL);
			else if (*which == 'b')
				gbench_register(NAME_B, fake_b, NULL);
			else if (*which == 'e')
				gbench_register(NAME_E, fake_err, NULL);
		}
		ret = gbench_run();
		fflush(stdout);
		/* selected + 20 per error row (gbench_errors()) */
		if (ret >= 0)
			ret += 20 * (gbench_errors() < 4 ? gbench_errors() : 4);
		gbench_shutdown();
		_exit(ret < 0 ? 100 + (-ret & 0x3f) : ret > 99 ? 99 : ret);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* The whole file as a string, or NULL. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	if (buf && fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

/*
 * The nth (from 0) object of libbenchmark's "benchmarks" array named name,
 * copied to buf. The objects are flat, so the row ends at the next '}'.
 */
static bool json_row_nth(const char *json, const char *name, int nth,
			 char *buf, size_t len)
{
	char key[256];
	const char *p = json, *e;

	snprintf(key, sizeof(key), "\"name\": \"%s\",", name);
	for (;;) {
		p = strstr(p, key);
		if (!p)
			return false;
		if (!nth--)
			break;
		p++;
	}
	e = strchr(p, '}');
	if (!e || (size_t)(e - p) >= len)
		return false;
	memcpy(buf, p, e - p);
	buf[e - p] = '\0';
	return true;
}

static bool json_row(const char *json, const char *name, char *buf, size_t len)
{
	return json_row_nth(json, name, 0, buf, len);
}

/* A number field of a row, NAN if missing. */
static double json_num(const char *row, const char *key)
{
	char k[128];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\": ", key);
	p = strstr(row, k);
	return p ? strtod(p + strlen(k), NULL) : NAN;
}

static bool json_has(const char *row, const char *key, const char *value)
{
	char k[384];

	snprintf(k, sizeof(k), "\"%s\": %s", key, value);
	return strstr(row, k) != NULL;
}

static int count(const char *text, const char *what)
{
	int n = 0;

	for (; (text = strstr(text, what)); text++)
		n++;
	return n;
}

#define CHECK_NUM(row, key, want) do {					\
	double __v = json_num(row, key);				\
	CHECK_MSG(__v == (want), "%s = %.17g, want %.17g", key, __v,	\
		  (double)(want));					\
} while (0)

#define CHECK_NEAR(row, key, want) do {					\
	double __v = json_num(row, key);				\
	CHECK_MSG(fabs(__v - (want)) <= 1e-9 * fabs(want) + 1e-12,	\
		  "%s = %.17g, want %.17g", key, __v, (double)(want));	\
} while (0)

/* Nothing of libbenchmark's own runner shows through. */
static void check_clean(const char *text)
{
	CHECK(!strstr(text, "iterations:1"));
	CHECK(!strstr(text, "manual_time"));
	CHECK(!strstr(text, "gbench:"));
}

/* The row of NAME_A says exactly what fake_a returned. */
static void check_row_a(const char *json)
{
	char row[4096];

	CHECK(json_row(json, NAME_A, row, sizeof(row)));
	CHECK(json_has(row, "run_name", "\"" NAME_A "\""));
	CHECK(json_has(row, "run_type", "\"iteration\""));
	CHECK_NUM(row, "real_time", 12.5);
	CHECK_NUM(row, "cpu_time", 11.0);
	CHECK_NUM(row, "iterations", 1000);
	CHECK_NUM(row, "threads", 4);
	CHECK(json_has(row, "time_unit", "\"ns\""));
	CHECK_NUM(row, "ops_per_s", 320000000.0);
	CHECK_NUM(row, "slowpath_pct", 0.25);
	CHECK(!strstr(row, "error_occurred"));
}

/* JSON on stdout and in --benchmark_out: names, times, counters, context. */
static void t_json_rows(void *unused)
{
	char out[128], file[128], row[4096];
	char *text[2];
	int i;

	tmp_path(out, sizeof(out), "rows.stdout");
	tmp_path(file, sizeof(file), "rows.json");
	{
		char fl[160];
		const char *args[] = { "--benchmark_format=json", fl, NULL };

		snprintf(fl, sizeof(fl), "--benchmark_out=%s", file);
		CHECK_EQ(run_child(args, "ab", out), 2);
	}
	text[0] = slurp(out);
	text[1] = slurp(file);
	CHECK(text[0] && text[1]);
	for (i = 0; i < 2; i++) {
		check_clean(text[i]);
		check_row_a(text[i]);
		CHECK(json_row(text[i], NAME_B, row, sizeof(row)));
		CHECK_NUM(row, "real_time", 10.0);
		CHECK_NUM(row, "cpu_time", 9.0);
		CHECK_NUM(row, "iterations", 100);
		CHECK_NUM(row, "threads", 8);
		CHECK_NUM(row, "ops_per_s", 1000.0);
		CHECK(!strstr(row, "slowpath_pct"));
		CHECK_EQ(count(text[i], "\"name\": "), 2);
		CHECK(strstr(text[i], "\"context\": {"));
		CHECK(strstr(text[i], "\"gupbench_version\": \"test-1\""));
		CHECK(strstr(text[i], "\"time_semantics\": \"per-op ns\""));
	}
	free(text[0]);
	free(text[1]);
}

/* Check the four aggregate rows of NAME_B over real 10, 20, 30 ns. */
static void check_aggregates_b(const char *json)
{
	static const char *const stats[] = { "mean", "median", "stddev", "cv" };
	char row[4096], name[160];
	unsigned int i;

	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), NAME_B "_%s", stats[i]);
		CHECK_MSG(json_row(json, name, row, sizeof(row)), "%s", name);
		CHECK(json_has(row, "run_name", "\"" NAME_B "\""));
		CHECK(json_has(row, "run_type", "\"aggregate\""));
		CHECK_NUM(row, "threads", 8);
		CHECK_NUM(row, "iterations", 3);	/* repetitions */
		CHECK(json_has(row, "time_unit", "\"ns\""));
	}
	/* libbenchmark's mean is sum * (1.0 / n): not always exact */
	CHECK(json_row(json, NAME_B "_mean", row, sizeof(row)));
	CHECK_NEAR(row, "real_time", 20.0);
	CHECK_NEAR(row, "cpu_time", 18.0);
	CHECK_NEAR(row, "ops_per_s", 2000.0);
	CHECK(json_row(json, NAME_B "_median", row, sizeof(row)));
	CHECK_NEAR(row, "real_time", 20.0);
	CHECK_NEAR(row, "cpu_time", 18.0);
	CHECK(json_row(json, NAME_B "_stddev", row, sizeof(row)));
	CHECK_NEAR(row, "real_time", 10.0);
	CHECK_NEAR(row, "cpu_time", 9.0);
	CHECK_NEAR(row, "ops_per_s", 1000.0);
	CHECK(json_row(json, NAME_B "_cv", row, sizeof(row)));
	CHECK(json_has(row, "aggregate_unit", "\"percentage\""));
	CHECK_NEAR(row, "real_time", 0.5);
	CHECK_NEAR(row, "cpu_time", 0.5);
}

/*
 * --benchmark_repetitions=3: the iteration rows carry each call's values and
 * mean/median/stddev/cv are those of the rewritten rows, not of
 * libbenchmark's one-iteration runs; also with only the aggregates reported.
 */
static void t_aggregates(void *unused)
{
	char file[128], fl[160], row[4096];
	const char *args[] = { "--benchmark_repetitions=3", fl, NULL, NULL };
	char *json;
	int k;

	tmp_path(file, sizeof(file), "agg.json");
	snprintf(fl, sizeof(fl), "--benchmark_out=%s", file);
	CHECK_EQ(run_child(args, "b", NULL), 1);
	json = slurp(file);
	CHECK(json);
	check_clean(json);
	for (k = 0; k < 3; k++) {
		CHECK(json_row_nth(json, NAME_B, k, row, sizeof(row)));
		CHECK_NUM(row, "repetition_index", k);
		CHECK_NUM(row, "real_time", 10.0 * (k + 1));
		CHECK_NUM(row, "cpu_time", 9.0 * (k + 1));
		CHECK_NUM(row, "iterations", 100 * (k + 1));
		CHECK_NUM(row, "threads", 8);
	}
	check_aggregates_b(json);
	free(json);

	args[2] = "--benchmark_report_aggregates_only=true";
	CHECK_EQ(run_child(args, "b", NULL), 1);
	json = slurp(file);
	CHECK(json);
	CHECK(!strstr(json, "\"run_type\": \"iteration\""));
	check_aggregates_b(json);
	free(json);
}

/*
 * CSV is rewritten too; B runs first and lacks A's slowpath_pct counter,
 * which libbenchmark's CSVReporter would abort on if fed row by row.
 */
static void t_csv(void *unused)
{
	const char *args[] = { "--benchmark_format=csv",
			       "--benchmark_repetitions=3", NULL };
	char out[128];
	char *csv;

	tmp_path(out, sizeof(out), "rows.csv");
	CHECK_EQ(run_child(args, "ba", out), 2);
	csv = slurp(out);
	CHECK(csv);
	check_clean(csv);
	CHECK(strstr(csv, "\"ops_per_s\",\"slowpath_pct\"\n"));
	CHECK(strstr(csv, "\n\"" NAME_A "\",1000,12.5,11,ns,"));
	CHECK(strstr(csv, "\n\"" NAME_B "\",100,10,9,ns,"));
	CHECK(strstr(csv, "\n\"" NAME_B "\",300,30,27,ns,"));
	CHECK(strstr(csv, "\n\"" NAME_B "_mean\",3,20,18,ns,"));
	CHECK(strstr(csv, "\n\"" NAME_B "_cv\",3,0.5,0.5,ns,"));
	CHECK(strstr(csv, "\n\"" NAME_A "_stddev\",3,0,0,ns,"));
	free(csv);
}

/* The console table shows the registered names and gupbench's numbers. */
static void t_console(void *unused)
{
	const char *args[] = { "--benchmark_color=false", NULL };
	char out[128];
	char *txt;

	tmp_path(out, sizeof(out), "console.txt");
	CHECK_EQ(run_child(args, "a", out), 1);
	txt = slurp(out);
	CHECK(txt);
	check_clean(txt);
	CHECK(strstr(txt, NAME_A " "));
	CHECK(strstr(txt, " 12.5 ns"));
	CHECK(strstr(txt, " 11.0 ns"));
	CHECK(strstr(txt, " 1000 "));
	CHECK(strstr(txt, "slowpath_pct=0.25"));
	free(txt);
}

/*
 * --benchmark_filter matches the names as registered ("threads:4$" would
 * match nothing against libbenchmark's suffixed names), '-' negates, a
 * bad regex is -EINVAL, and --benchmark_list_tests prints the selected
 * names.
 */
static void t_filter(void *unused)
{
	char file[128], fl[160], out[128];
	const char *args[] = { fl, "--benchmark_filter=threads:4$", NULL };
	const char *neg[] = { fl, "--benchmark_filter=-threads:4$", NULL };
	const char *none[] = { "--benchmark_filter=nosuchscheme", NULL };
	const char *badre[] = { "--benchmark_filter=(", NULL };
	const char *list[] = { "--benchmark_list_tests=true",
			       "--benchmark_filter=bias|pincount", NULL };
	char *txt;

	tmp_path(file, sizeof(file), "filter.json");
	tmp_path(out, sizeof(out), "list.txt");
	snprintf(fl, sizeof(fl), "--benchmark_out=%s", file);

	CHECK_EQ(run_child(args, "ab", NULL), 1);
	txt = slurp(file);
	CHECK(txt);
	CHECK(strstr(txt, "\"name\": \"" NAME_A "\""));
	CHECK(!strstr(txt, NAME_B));
	free(txt);

	CHECK_EQ(run_child(neg, "ab", NULL), 1);
	txt = slurp(file);
	CHECK(txt);
	CHECK(!strstr(txt, NAME_A));
	CHECK(strstr(txt, "\"name\": \"" NAME_B "\""));
	free(txt);

	CHECK_EQ(run_child(none, "ab", NULL), 0);
	CHECK_EQ(run_child(badre, "ab", NULL), 100 + EINVAL);

	CHECK_EQ(run_child(list, "eab", out), 2);
	txt = slurp(out);
	CHECK(txt);
	CHECK_MSG(!strcmp(txt, NAME_A "\n" NAME_B "\n"), "got '%s'", txt);
	free(txt);
}

/*
 * gbench_init() takes the --benchmark_ flags out of argv and leaves the
 * rest in order; a flag or value libbenchmark does not know is -EINVAL,
 * not libbenchmark's usage text and exit(0).
 */
static void t_init_flags(void *unused)
{
	static const char *const bad[][2] = {
		{ "--benchmark_foo=1" },
		{ "--benchmark_format=xml" },
		{ "--benchmark_out_format=yaml" },
		{ "--benchmark_repetitions=many" },
		{ "--benchmark_filter" },
	};
	int status;
	unsigned int i;
	pid_t pid;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(run_child((const char *const *)bad[i], "a", NULL) ==
			  200 + EINVAL, "%s", bad[i][0]);

	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char *argv[] = { "gupbench", "--scheme=bias",
				 "--benchmark_repetitions=2", "-t", "4",
				 "--help", "--", "--benchmark_x", NULL };
		int argc = 8;
		char err[128] = "junk";

		if (gbench_init(&argc, argv, err, sizeof(err)) || err[0])
			_exit(1);
		if (argc != 7 || strcmp(argv[1], "--scheme=bias") ||
		    strcmp(argv[2], "-t") || strcmp(argv[3], "4") ||
		    strcmp(argv[4], "--help") || strcmp(argv[5], "--") ||
		    strcmp(argv[6], "--benchmark_x") || argv[7])
			_exit(2);
		if (gbench_list_only())
			_exit(3);
		if (gbench_register("", fake_a, NULL) != -EINVAL ||
		    gbench_register(NAME_A, NULL, NULL) != -EINVAL ||
		    gbench_register(NAME_A, fake_a, NULL) ||
		    gbench_register(NAME_A, fake_a, NULL) != -EEXIST)
			_exit(4);
		gbench_shutdown();
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}

/* An fn that fills error gives an error row; the others still run. */
static void t_error_row(void *unused)
{
	char file[128], fl[160], row[4096];
	const char *args[] = { fl, NULL };
	char *json;

	tmp_path(file, sizeof(file), "err.json");
	snprintf(fl, sizeof(fl), "--benchmark_out=%s", file);
	CHECK_EQ(run_child(args, "ea", NULL), 2 + 20);	/* one error row */
	json = slurp(file);
	CHECK(json);
	check_clean(json);
	CHECK(json_row(json, NAME_E, row, sizeof(row)));
	CHECK(json_has(row, "error_occurred", "true"));
	CHECK(json_has(row, "error_message",
		       "\"no PMU: perf_event_paranoid=3\""));
	CHECK_NUM(row, "threads", 2);
	CHECK_NUM(row, "iterations", 0);
	check_row_a(json);
	free(json);
}

/* An unwritable --benchmark_out is an errno, not libbenchmark's exit(1). */
static void t_bad_out(void *unused)
{
	const char *args[] = { "--benchmark_out=/nonexistent/dir/x.json",
			       NULL };

	CHECK_EQ(run_child(args, "a", NULL), 100 + ENOENT);
}

/* A python3 that can run compare.py (it needs numpy and scipy), or NULL. */
static const char *compare_python(void)
{
	static const char *const cands[] = { "python3", "/usr/bin/python3" };
	char cmd[256];
	unsigned int i;

	for (i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		snprintf(cmd, sizeof(cmd),
			 "%s -c 'import numpy, scipy' >/dev/null 2>&1",
			 cands[i]);
		if (system(cmd) == 0)
			return cands[i];
	}
	return NULL;
}

/* Google Benchmark's compare.py reads two produced files. */
static void t_compare_py(void *unused)
{
	char a[128], b[128], fa[160], fb[160], log[128], cmd[768];
	const char *args_a[] = { fa, "--benchmark_repetitions=3", NULL };
	const char *args_b[] = { fb, "--benchmark_repetitions=3", NULL };
	const char *py;
	char *txt;
	int ret;

	if (access(COMPARE_PY, R_OK))
		t_skip("no " COMPARE_PY ": apt-get install libbenchmark-tools");
	py = compare_python();
	if (!py)
		t_skip("compare.py needs scipy: apt-get install python3-scipy");

	tmp_path(a, sizeof(a), "a.json");
	tmp_path(b, sizeof(b), "b.json");
	tmp_path(log, sizeof(log), "compare.txt");
	snprintf(fa, sizeof(fa), "--benchmark_out=%s", a);
	snprintf(fb, sizeof(fb), "--benchmark_out=%s", b);
	CHECK_EQ(run_child(args_a, "ab", NULL), 2);
	CHECK_EQ(run_child(args_b, "ab", NULL), 2);
	snprintf(cmd, sizeof(cmd), "%s %s benchmarks %s %s >%s 2>&1", py,
		 COMPARE_PY, a, b, log);
	ret = system(cmd);
	txt = slurp(log);
	CHECK_MSG(ret == 0, "compare.py exit %d: %.300s", ret,
		  txt ? txt : "");
	CHECK(txt);
	CHECK(strstr(txt, NAME_A));
	CHECK(strstr(txt, NAME_B "_mean"));
	free(txt);
}

static void cleanup(void)
{
	char cmd[128];

	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "test_gbench: could not remove %s\n", tmpdir);
}

int main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_gbench.XXXXXX",
		 t && *t && strlen(t) < 40 ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("test_gbench: mkdtemp");
		return 1;
	}

	t_case(t_json_rows, NULL);
	t_case(t_aggregates, NULL);
	t_case(t_csv, NULL);
	t_case(t_console, NULL);
	t_case(t_filter, NULL);
	t_case(t_init_flags, NULL);
	t_case(t_error_row, NULL);
	t_case(t_bad_out, NULL);
	t_case(t_compare_py, NULL);

	cleanup();
	return t_done();
}
