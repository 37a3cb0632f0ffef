// SPDX-License-Identifier: GPL-2.0
//
// Google Benchmark C shim over libbenchmark 1.7.1 (see gbench.h).
//
// Each configuration is one benchmark with Iterations(1) and UseManualTime().
// The registered lambda calls the C function once and hands what it measured
// to the reporters as reserved counters ("gbench:real_ns", "gbench:cpu_ns",
// "gbench:ops", "gbench:threads"). libbenchmark's ComputeStats() applies
// every statistic (mean, median, stddev, cv, user ones) to each counter, so
// the aggregate rows carry the statistic of gupbench's per-op values too,
// even with --benchmark_report_aggregates_only or random interleaving.
//
// RewriteReporter sits in front of the real console/JSON/CSV reporter. For
// each row it drops the reserved counters and writes their values into the
// fields the reporters print: iterations = ops, threads, and the
// accumulated times chosen so that the printed real_time/cpu_time
// (accumulated * unit multiplier / iterations) are exactly the per-op
// values. It also strips "/iterations:1/manual_time" from the names.
//
// The filter is applied here, to the names as registered, so that a regex
// such as "threads:4$" means what it says; only the selected configurations
// are handed to libbenchmark, which then runs them all (spec ".").

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <regex.h>

#include <benchmark/benchmark.h>

#include "gbench.h"

// libbenchmark 1.7.1 exports its flag variables but does not declare them in
// benchmark.h; these are the types benchmark.cc defines them with.
namespace benchmark {
extern std::string FLAGS_benchmark_format;
extern std::string FLAGS_benchmark_out;
extern std::string FLAGS_benchmark_out_format;
extern bool FLAGS_benchmark_list_tests;
}  // namespace benchmark

namespace {

using benchmark::BenchmarkReporter;
using Run = BenchmarkReporter::Run;

const char kReal[] = "gbench:real_ns";
const char kCpu[] = "gbench:cpu_ns";
const char kOps[] = "gbench:ops";
const char kThreads[] = "gbench:threads";
const char kSuffix[] = "/iterations:1/manual_time";

struct Config {
	std::string name;
	gbench_fn fn;
	void *arg;
	int threads;	// of the latest run: aggregate rows report it
};

std::vector<std::unique_ptr<Config>> g_configs;
int g_errors;	// error rows in the last gbench_run()

Config *find_config(const std::string &name)
{
	for (auto &c : g_configs)
		if (c->name == name)
			return c.get();
	return nullptr;
}

// Find the accumulated time whose printed value (what getter() returns for
// the row: accumulated * unit multiplier / iterations, rounded twice) is
// want: start from the algebraic answer and step by one ulp towards want.
// Where no accumulated time prints want exactly (the steps straddle it),
// keep the nearest, at most an ulp or so of want away.
void set_time(Run &r, double Run::*acc, double (Run::*getter)() const,
	      double want, bool raw)
{
	double div = r.iterations ? static_cast<double>(r.iterations) : 1.0;
	double best, best_err = INFINITY;
	int i, dir, last_dir = 0;

	if (raw || !std::isfinite(want)) {
		r.*acc = want;
		return;
	}
	r.*acc = want / benchmark::GetTimeUnitMultiplier(r.time_unit) * div;
	best = r.*acc;
	for (i = 0; i < 64; i++) {
		double got = (r.*getter)();
		double err = std::fabs(got - want);

		if (err < best_err) {
			best_err = err;
			best = r.*acc;
		}
		if (err == 0)
			break;
		dir = got < want ? 1 : -1;
		if (last_dir && dir != last_dir)
			break;
		last_dir = dir;
		r.*acc = std::nextafter(r.*acc, dir > 0 ? INFINITY : -INFINITY);
	}
	r.*acc = best;
}

bool take_counter(Run &r, const char *key, double *val)
{
	auto it = r.counters.find(key);

	if (it == r.counters.end())
		return false;
	*val = it->second.value;
	r.counters.erase(it);
	return true;
}

// Forwards to a real reporter with each row rewritten to gupbench's values.
class RewriteReporter : public BenchmarkReporter {
public:
	// csv: the inner reporter is libbenchmark's CSVReporter, which prints
	// cv rows through GetAdjustedRealTime() and aborts when a later row has
	// a counter the first batch did not; rows are held until Finalize().
	RewriteReporter(BenchmarkReporter *inner, bool csv)
		: inner_(inner), csv_(csv) {}

	bool ReportContext(const Context &context) override
	{
		Context ctx = context;
		size_t cut = sizeof(kSuffix) - 1;

		sync_streams();
		// libbenchmark sized the name column for the suffixed names.
		ctx.name_field_width = ctx.name_field_width > cut + 10 ?
				       ctx.name_field_width - cut : 10;
		return inner_->ReportContext(ctx);
	}

	void ReportRuns(const std::vector<Run> &reports) override
	{
		std::vector<Run> rows;

		sync_streams();
		rows.reserve(reports.size());
		for (const Run &r : reports)
			rows.push_back(rewrite(r));
		if (csv_) {
			held_.insert(held_.end(), rows.begin(), rows.end());
			return;
		}
		inner_->ReportRuns(rows);
	}

	void Finalize() override
	{
		sync_streams();
		if (!held_.empty())
			inner_->ReportRuns(held_);
		held_.clear();
		inner_->Finalize();
	}

private:
	// RunSpecifiedBenchmarks() points this reporter at --benchmark_out.
	void sync_streams()
	{
		inner_->SetOutputStream(&GetOutputStream());
		inner_->SetErrorStream(&GetErrorStream());
	}

	Run rewrite(const Run &in) const
	{
		Run r = in;
		double real, cpu, ops, threads;
		bool have;

		r.run_name.iterations.clear();
		r.run_name.time_type.clear();
		have = take_counter(r, kReal, &real);
		have &= take_counter(r, kCpu, &cpu);
		have &= take_counter(r, kOps, &ops);
		have &= take_counter(r, kThreads, &threads);
		if (!have) {
			// libbenchmark drops an error row's counters: the
			// configuration gives the threads, and no ops ran.
			const Config *c = find_config(r.run_name.function_name);

			if (r.error_occurred && c) {
				r.threads = c->threads;
				r.iterations = 0;
			}
			return r;
		}

		if (r.run_type == Run::RT_Iteration) {
			r.iterations = static_cast<benchmark::IterationCount>(
				ops > 0 ? ops : 0);
			r.threads = static_cast<int64_t>(threads);
		} else {
			// The "threads" counter holds a statistic of the
			// thread counts (0 in a stddev row): report the
			// configuration's. iterations stays the number of
			// repetitions the statistic is over.
			const Config *c = find_config(r.run_name.function_name);

			if (c)
				r.threads = c->threads;
		}
		if (r.error_occurred) {
			r.real_accumulated_time = 0;
			r.cpu_accumulated_time = 0;
			return r;
		}

		// JSON and console print a percentage row's accumulated time
		// as is; CSV divides it like any other.
		bool raw = r.run_type == Run::RT_Aggregate &&
			   r.aggregate_unit == benchmark::kPercentage && !csv_;

		// real and cpu are ns; the row prints r.time_unit
		// (--benchmark_time_unit): 1 for ns
		double unit = raw ? 1.0 :
			benchmark::GetTimeUnitMultiplier(r.time_unit) / 1e9;

		set_time(r, &Run::real_accumulated_time,
			 &Run::GetAdjustedRealTime, real * unit, raw);
		set_time(r, &Run::cpu_accumulated_time,
			 &Run::GetAdjustedCPUTime, cpu * unit, raw);
		return r;
	}

	BenchmarkReporter *inner_;
	bool csv_;
	std::vector<Run> held_;
};

std::unique_ptr<BenchmarkReporter> make_file_reporter(const std::string &fmt)
{
	if (fmt == "json")
		return std::make_unique<benchmark::JSONReporter>();
	// Deprecated upstream, but --benchmark_out_format=csv is a flag of
	// 1.7.1 and libbenchmark builds the same reporter for it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	if (fmt == "csv")
		return std::make_unique<benchmark::CSVReporter>();
#pragma GCC diagnostic pop
	return std::make_unique<benchmark::ConsoleReporter>(
		benchmark::ConsoleReporter::OO_None);
}

// The benchmark body: one call of the C function per repetition.
void run_config(Config *c, benchmark::State &st)
{
	struct gbench_result res;
	unsigned int i, n;
	double seconds;

	memset(&res, 0, sizeof(res));
	c->fn(c->arg, &res);
	res.error[sizeof(res.error) - 1] = '\0';
	c->threads = res.threads;

	n = res.nr_counters < GBENCH_MAX_COUNTERS ? res.nr_counters
						  : GBENCH_MAX_COUNTERS;
	for (i = 0; i < n; i++) {
		if (!res.counters[i].name || !res.counters[i].name[0])
			continue;
		st.counters[res.counters[i].name] =
			benchmark::Counter(res.counters[i].value);
	}
	st.counters[kReal] = benchmark::Counter(res.real_ns_per_op);
	st.counters[kCpu] = benchmark::Counter(res.cpu_ns_per_op);
	st.counters[kOps] = benchmark::Counter(static_cast<double>(res.ops));
	st.counters[kThreads] = benchmark::Counter(res.threads);

	// With an error set, the loop below runs no iteration.
	if (res.error[0]) {
		g_errors++;
		st.SkipWithError(res.error);
	}

	// Any positive time will do: the reporter replaces it. This one is
	// about the measured window, for whoever reads libbenchmark's logs.
	seconds = res.real_ns_per_op * 1e-9 * static_cast<double>(res.ops);
	if (!(seconds > 0) || !std::isfinite(seconds))
		seconds = 1e-9;
	for (auto _ : st)
		st.SetIterationTime(seconds);
}

bool is_bench_flag(const char *a)
{
	return !strncmp(a, "--benchmark_", 12) ||
	       !strncmp(a, "-benchmark_", 11);
}

// What follows NAME ("" or "=VALUE") if a is "--NAME[=VALUE]" (or one
// dash), else nullptr.
const char *flag_rest(const char *a, const char *name)
{
	size_t len = strlen(name);

	a += a[1] == '-' ? 2 : 1;
	if (strncmp(a, name, len) || (a[len] && a[len] != '='))
		return nullptr;
	return a + len;
}

// Value of "--NAME=VALUE" (or "-NAME=VALUE") if a is that flag.
const char *flag_value(const char *a, const char *name)
{
	const char *rest = flag_rest(a, name);

	return rest && *rest == '=' ? rest + 1 : nullptr;
}

// Values libbenchmark answers with its usage text and exit(0).
int check_value(const char *a, char *err, size_t errlen)
{
	static const struct {
		const char *flag;
		const char *ok[5];
	} table[] = {
		{ "benchmark_format", { "console", "json", "csv" } },
		{ "benchmark_out_format", { "console", "json", "csv" } },
		{ "benchmark_time_unit", { "ns", "us", "ms", "s" } },
	};

	for (const auto &t : table) {
		const char *v = flag_value(a, t.flag);
		std::string list;

		if (!v)
			continue;
		for (const char *ok : t.ok) {
			if (!ok)
				break;
			if (!strcmp(v, ok))
				return 0;
			list += list.empty() ? "" : ", ";
			list += ok;
		}
		snprintf(err, errlen, "invalid value '%s' for --%s (%s)", v,
			 t.flag, list.c_str());
		return -EINVAL;
	}
	if (flag_value(a, "benchmark_color") &&
	    !*flag_value(a, "benchmark_color")) {
		snprintf(err, errlen, "empty --benchmark_color");
		return -EINVAL;
	}
	return 0;
}

// Flags of libbenchmark's own runner, which gupbench does not use: each
// configuration is one iteration of gupbench's measured window.
int check_no_effect(const char *a, char *err, size_t errlen)
{
	static const struct {
		const char *flag, *instead;
	} table[] = {
		{ "benchmark_min_time", "--duration" },
		{ "benchmark_min_warmup_time", "--warmup" },
		{ "benchmark_perf_counters", "--events" },
		{ "benchmark_enable_random_interleaving",
		  "make bench, which shuffles launches" },
	};

	for (const auto &t : table) {
		if (!flag_rest(a, t.flag))
			continue;
		snprintf(err, errlen, "--%s has no effect on gupbench, which "
			 "measures its own window: use %s", t.flag, t.instead);
		return -EINVAL;
	}
	return 0;
}

int init(int *argc, char **argv, char *err, size_t errlen)
{
	std::vector<char *> sub;
	int i, j, end, subc, ret;

	if (errlen)
		err[0] = '\0';
	sub.push_back(*argc > 0 ? argv[0] : const_cast<char *>("gupbench"));
	for (end = 1; end < *argc && strcmp(argv[end], "--"); end++) {
		if (!is_bench_flag(argv[end]))
			continue;
		ret = check_value(argv[end], err, errlen);
		if (!ret)
			ret = check_no_effect(argv[end], err, errlen);
		if (ret)
			return ret;
		sub.push_back(argv[end]);
	}
	subc = static_cast<int>(sub.size());
	sub.push_back(nullptr);

	// Only the --benchmark_ arguments go in: libbenchmark would also
	// take --v=N and exit on --help, which are gupbench's.
	benchmark::Initialize(&subc, sub.data());
	if (subc > 1) {
		snprintf(err, errlen, "unrecognised option '%s'", sub[1]);
		return -EINVAL;
	}

	for (i = j = 1; i < *argc; i++)
		if (i >= end || !is_bench_flag(argv[i]))
			argv[j++] = argv[i];
	*argc = j;
	argv[j] = nullptr;
	return 0;
}

// Names the filter selects, with libbenchmark's rules: empty or "all" is
// everything, a leading '-' negates, POSIX extended regex (libbenchmark's
// std::regex::extended), matched anywhere in the name.
int select_configs(std::vector<Config *> *sel)
{
	std::string spec = benchmark::GetBenchmarkFilter();
	bool negate = false;
	regex_t re;
	int ret;

	if (spec.empty() || spec == "all")
		spec = ".";
	if (spec[0] == '-') {
		spec.erase(0, 1);
		negate = true;
	}
	ret = regcomp(&re, spec.c_str(), REG_EXTENDED | REG_NOSUB);
	if (ret) {
		char msg[256];

		regerror(ret, &re, msg, sizeof(msg));
		fprintf(stderr,
			"gupbench: error: --benchmark_filter='%s': %s\n",
			spec.c_str(), msg);
		return -EINVAL;
	}
	for (auto &c : g_configs) {
		bool match = !regexec(&re, c->name.c_str(), 0, nullptr, 0);

		if (match != negate)
			sel->push_back(c.get());
	}
	regfree(&re);
	if (sel->empty())
		fprintf(stderr, "gupbench: error: --benchmark_filter='%s%s' "
			"matches no benchmark\n", negate ? "-" : "",
			spec.c_str());
	return 0;
}

int run()
{
	const std::string &out = benchmark::FLAGS_benchmark_out;
	std::unique_ptr<BenchmarkReporter> file_inner;
	std::unique_ptr<RewriteReporter> file;
	std::vector<Config *> sel;
	size_t n;
	int ret;

	g_errors = 0;
	if (g_configs.empty())
		return 0;
	ret = select_configs(&sel);
	if (ret || sel.empty())
		return ret;

	if (benchmark::FLAGS_benchmark_list_tests) {
		for (Config *c : sel)
			printf("%s\n", c->name.c_str());
		fflush(stdout);
		return static_cast<int>(sel.size());
	}

	// libbenchmark exit(1)s on a file it cannot open: find out first.
	if (!out.empty()) {
		FILE *f = fopen(out.c_str(), "w");

		if (!f) {
			ret = -errno;
			fprintf(stderr,
				"gupbench: error: --benchmark_out=%s: %s\n",
				out.c_str(), strerror(errno));
			return ret;
		}
		fclose(f);
		file_inner = make_file_reporter(
			benchmark::FLAGS_benchmark_out_format);
		file = std::make_unique<RewriteReporter>(
			file_inner.get(),
			benchmark::FLAGS_benchmark_out_format == "csv");
	}

	RewriteReporter display(benchmark::CreateDefaultDisplayReporter(),
				benchmark::FLAGS_benchmark_format == "csv");

	benchmark::ClearRegisteredBenchmarks();
	for (Config *c : sel)
		benchmark::RegisterBenchmark(c->name.c_str(),
			[c](benchmark::State &st) { run_config(c, st); })
			->Iterations(1)
			->UseManualTime();
	n = benchmark::RunSpecifiedBenchmarks(&display, file.get(), ".");
	benchmark::ClearRegisteredBenchmarks();
	fflush(stdout);
	return static_cast<int>(n);
}

}  // namespace

extern "C" {

int gbench_init(int *argc, char **argv, char *err, size_t errlen)
{
	try {
		return init(argc, argv, err, errlen);
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	}
}

void gbench_add_context(const char *key, const char *value)
{
	try {
		benchmark::AddCustomContext(key, value ? value : "");
	} catch (const std::exception &) {
	}
}

int gbench_register(const char *name, gbench_fn fn, void *arg)
{
	if (!name || !name[0] || !fn)
		return -EINVAL;
	try {
		if (find_config(name))
			return -EEXIST;
		g_configs.push_back(std::unique_ptr<Config>(
			new Config{ name, fn, arg, 0 }));
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	}
	return 0;
}

int gbench_run(void)
{
	try {
		return run();
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	} catch (const std::exception &e) {
		fprintf(stderr, "gupbench: error: %s\n", e.what());
		return -EIO;
	}
}

int gbench_errors(void)
{
	return g_errors;
}

bool gbench_list_only(void)
{
	return benchmark::FLAGS_benchmark_list_tests;
}

void gbench_shutdown(void)
{
	benchmark::ClearRegisteredBenchmarks();
	g_configs.clear();
	benchmark::Shutdown();
}

}  // extern "C"
