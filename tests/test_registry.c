// SPDX-License-Identifier: GPL-2.0
/*
 * The scheme registry (schemes/registry.c) and the README's scheme table.
 * With --markdown, prints the table that README.md carries between its
 * "schemes:begin" and "schemes:end" markers and exits 0; without
 * arguments, checks the registry and that the README holds exactly that
 * table, so the README cannot drift from the code.
 */
#include <limits.h>
#include <unistd.h>

#include "scheme.h"
#include "unit.h"

#define MARK_BEGIN \
	"<!-- schemes:begin (generated: build/obj/tests/test_registry --markdown) -->"
#define MARK_END	"<!-- schemes:end -->"

/* The schemes DESIGN.md's table promises (names are CLI and JSON tokens). */
static const char *const design_schemes[] = {
	"get", "bias", "bias1", "pincount", "pincount_sameline", "pagelock",
	"anonexcl", "devmap_perget", "devmap_single", "devmap_walk", "empty",
};

static const char *argv0;

/* The README scheme table, one malloc'd string (caller frees). */
static char *markdown_table(void)
{
	char *buf = NULL;
	size_t len = 0;
	unsigned int i;
	FILE *f;

	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputs("| scheme | models | kernel symbols |\n", f);
	fputs("| --- | --- | --- |\n", f);
	for (i = 0; i < nr_gup_schemes; i++)
		fprintf(f, "| `%s` | %s | %s |\n", gup_schemes[i]->name,
			gup_schemes[i]->desc, gup_schemes[i]->symbols);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static bool name_ok(const char *name)
{
	const char *p;

	if (!name || !*name)
		return false;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_'))
			return false;
	return true;
}

/* Names: non-empty, lowercase [a-z0-9_], unique. */
static void case_names(void *arg)
{
	unsigned int i, j;

	CHECK(nr_gup_schemes > 0);
	for (i = 0; i < nr_gup_schemes; i++) {
		const struct gup_scheme *s = gup_schemes[i];

		CHECK_MSG(s, "gup_schemes[%u] is NULL", i);
		CHECK_MSG(name_ok(s->name), "scheme %u name \"%s\"", i,
			  s->name ? s->name : "(null)");
		for (j = 0; j < i; j++)
			CHECK_MSG(strcmp(gup_schemes[j]->name, s->name),
				  "\"%s\" registered twice", s->name);
	}
}

/* desc and symbols feed --list and the README: both must say something. */
static void case_text(void *arg)
{
	unsigned int i;

	for (i = 0; i < nr_gup_schemes; i++) {
		const struct gup_scheme *s = gup_schemes[i];

		CHECK_MSG(s->desc && *s->desc, "%s: empty desc", s->name);
		CHECK_MSG(s->symbols && *s->symbols, "%s: empty symbols",
			  s->name);
		/* a '|' or newline would break the markdown table row */
		CHECK_MSG(!strpbrk(s->desc, "|\n"), "%s: desc has | or \\n",
			  s->name);
		CHECK_MSG(!strpbrk(s->symbols, "|\n"),
			  "%s: symbols has | or \\n", s->name);
	}
}

/* scheme_find() is the CLI's lookup: every name, and NULL otherwise. */
static void case_find(void *arg)
{
	unsigned int i;

	for (i = 0; i < nr_gup_schemes; i++)
		CHECK_MSG(scheme_find(gup_schemes[i]->name) == gup_schemes[i],
			  "scheme_find(\"%s\")", gup_schemes[i]->name);
	CHECK(scheme_find("nope") == NULL);
	CHECK(scheme_find("") == NULL);
}

/* Every scheme of DESIGN.md's table is registered. */
static void case_design(void *arg)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(design_schemes); i++)
		CHECK_MSG(scheme_find(design_schemes[i]),
			  "\"%s\" is in DESIGN.md but not registered",
			  design_schemes[i]);
}

/* Every entry point is set: callers do not check them for NULL. */
static void case_ops(void *arg)
{
	unsigned int i;

	for (i = 0; i < nr_gup_schemes; i++) {
		const struct gup_scheme *s = gup_schemes[i];

		CHECK_MSG(s->gup_fast, "%s: gup_fast", s->name);
		CHECK_MSG(s->release_pages, "%s: release_pages", s->name);
		CHECK_MSG(s->pin_section, "%s: pin_section", s->name);
		CHECK_MSG(s->raw_section, "%s: raw_section", s->name);
		CHECK_MSG(s->maybe_pinned, "%s: maybe_pinned", s->name);
		CHECK_MSG(s->try_grab_folio, "%s: try_grab_folio", s->name);
		CHECK_MSG(s->put_folio, "%s: put_folio", s->name);
	}
}

/* Read a whole file into a malloc'd string; NULL if it cannot be read. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t len = 0, cap = 1 << 16, n;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap + 1);
	while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
		}
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

/*
 * README.md: in the current directory (tests/run.sh runs from the repo
 * root), else three levels above the binary (build/obj/tests/..).
 */
static char *read_readme(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 32];
	char *text = slurp("README.md"), *slash;
	ssize_t n;

	if (text)
		return text;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = '\0';
	else if (argv0 && strlen(argv0) < sizeof(exe))
		strcpy(exe, argv0);
	else
		return NULL;
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/../../../README.md", exe);
	return slurp(path);
}

/* The README's table is exactly what --markdown prints. */
static void case_readme(void *arg)
{
	char *readme = read_readme(), *table, *begin, *end = NULL;
	bool has_begin, has_end, same = false;
	size_t len;

	if (!readme)
		t_skip("README.md not found: run from the repository root");
	table = markdown_table();
	begin = strstr(readme, MARK_BEGIN "\n");
	if (begin) {
		begin += strlen(MARK_BEGIN "\n");
		end = strstr(begin, "\n" MARK_END "\n");
	}
	if (end && table) {
		end++;	/* the table ends with its newline */
		len = end - begin;
		same = len == strlen(table) && !memcmp(begin, table, len);
	}
	has_begin = begin;
	has_end = end;
	/* free first: a failed CHECK longjmps out of the case */
	free(table);
	free(readme);
	CHECK_MSG(has_begin, "README.md lacks the line %s", MARK_BEGIN);
	CHECK_MSG(has_end, "README.md lacks the line %s after the begin marker",
		  MARK_END);
	CHECK_MSG(same, "README.md's scheme table is not the registry's: "
		  "paste build/obj/tests/test_registry --markdown");
}

int main(int argc, char **argv)
{
	argv0 = argv[0];
	if (argc == 2 && !strcmp(argv[1], "--markdown")) {
		char *table = markdown_table();

		if (!table)
			return 1;
		fputs(table, stdout);
		free(table);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: %s [--markdown]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	t_case(case_names, NULL);
	t_case(case_text, NULL);
	t_case(case_find, NULL);
	t_case(case_design, NULL);
	t_case(case_ops, NULL);
	t_case(case_readme, NULL);
	return t_done();
}
