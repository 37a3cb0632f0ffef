// SPDX-License-Identifier: GPL-2.0
/*
 * walkcost: one thread, one page, no competitor: run a scheme's timed
 * pin_section (the whole GUP-fast walk, then unpin) or raw_section (its
 * bare grab + put) LOOPS times and print the wall time per op. Built and
 * run by scripts/instr-per-op.sh, which also runs it under callgrind at
 * two loop counts to get the instructions one op executes (the slope, so
 * the set-up cancels out): the figure a PMU's instructions counter gives
 * where there is one.
 *
 * `walkcost floor LOOPS` is the control for the README's claim that the
 * table walk's latency is hidden: bias's grab and put on one struct page
 * (try_grab_folio_fast() and gup_put_folio(): add-unless-zero 1, add 1023,
 * sub-and-test 1024) alone, then the same after a bare walk of the model's tables (mm->pgd, PGD, PUD, PMD,
 * PTE: five dependent loads, no checks) to find the page each time, and
 * last the grab and put with the walk's folio_set_referenced() between
 * them: the locked RMWs a 1-page pin makes in the kernel, with no walk.
 *
 *   walkcost SCHEME pin|raw LOOPS
 *   walkcost floor LOOPS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gup_common.h"

#define ADDR	0x10000000UL

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int usage(void)
{
	fprintf(stderr, "usage: walkcost SCHEME pin|raw LOOPS\n"
			"       walkcost floor LOOPS\n");
	return 2;
}

/* bias's own grab and put: what its raw_section loops over. */
static __always_inline void bias_rmws(struct page *page)
{
	struct folio *folio = try_grab_folio_fast(page, 1, FOLL_PIN);

	if (folio)
		gup_put_folio(folio, 1, FOLL_PIN);
}

/* The same plus the walk's folio_set_referenced(): every RMW a pin makes. */
static __always_inline void bias_rmws_referenced(struct page *page)
{
	struct folio *folio = try_grab_folio_fast(page, 1, FOLL_PIN);

	if (folio) {
		folio_set_referenced(folio);
		gup_put_folio(folio, 1, FOLL_PIN);
	}
}

/* Five dependent loads from mm->pgd to the PTE, nothing checked. */
static __always_inline struct page *bare_walk(struct mm_struct *mm,
					      unsigned long addr)
{
	struct pt_table *pgd = READ_ONCE(mm->pgd);
	unsigned long e = table_entry_get(&pgd->e[pgd_index(addr)]);

	e = table_entry_get(&entry_table(e)->e[pud_index(addr)]);
	e = table_entry_get(&entry_table(e)->e[pmd_index(addr)]);
	e = READ_ONCE(entry_table(e)->e[pte_index(addr)]);
	return pte_page(__pte(e));
}

static void floor_run(struct mm_struct *mm, struct page *page,
		      unsigned long loops)
{
	unsigned long i;
	double t;

	for (i = 0; i < 1000; i++)
		bias_rmws(bare_walk(mm, ADDR));
	t = now_ns();
	for (i = 0; i < loops; i++)
		bias_rmws(page);
	printf("bias's grab + put alone: %.2f ns/op\n", (now_ns() - t) / loops);
	t = now_ns();
	for (i = 0; i < loops; i++)
		bias_rmws(bare_walk(mm, ADDR));
	printf("5 dependent loads + the same grab + put: %.2f ns/op\n",
	       (now_ns() - t) / loops);
	t = now_ns();
	for (i = 0; i < loops; i++)
		bias_rmws_referenced(page);
	printf("grab + folio_set_referenced() + put (a pin's RMWs): "
	       "%.2f ns/op\n", (now_ns() - t) / loops);
}

int main(int argc, char **argv)
{
	struct mem_config cfg = { .nr_small = 64 };
	const struct gup_scheme *s;
	struct gup_stats st = { 0 };
	struct page *pages[1], *page;
	struct mm_struct *mm;
	unsigned long loops, addr = ADDR, done;
	struct pin_loop l;
	char *end;
	bool raw;
	double t0;

	if (argc == 3 && !strcmp(argv[1], "floor")) {
		s = scheme_find("bias");
		raw = false;
	} else if (argc == 4) {
		s = scheme_find(argv[1]);
		if (!s) {
			fprintf(stderr, "walkcost: unknown scheme '%s'\n",
				argv[1]);
			return 2;
		}
		if (strcmp(argv[2], "pin") && strcmp(argv[2], "raw"))
			return usage();
		raw = !strcmp(argv[2], "raw");
	} else {
		return usage();
	}
	errno = 0;
	loops = strtoul(argv[argc - 1], &end, 0);
	if (errno || *end || !loops)
		return usage();

	cfg.page_ext = s->features & SF_PAGE_EXT;
	gup_thread_register();
	if (mem_init(&cfg))
		return 1;
	mm = mm_alloc(s);
	if (!mm || mm_mmap(mm, ADDR, 16 * PAGE_SIZE, VM_WRITE) ||
	    mm_populate(mm, ADDR, 16 * PAGE_SIZE))
		return 1;
	page = mm_lookup_page(mm, ADDR, NULL);
	if (argc == 3) {
		floor_run(mm, page, loops);
		goto out;
	}
	l = (struct pin_loop){
		.mm = mm, .addrs = &addr, .naddr = 1, .nr_pages = 1,
		.gup_flags = FOLL_PIN | FOLL_WRITE, .pages = pages, .st = &st,
	};

	/* warm the caches and the branch predictors */
	if (raw)
		s->raw_section(page, 1000, FOLL_PIN);
	else
		s->pin_section(&l, 1000);
	t0 = now_ns();
	done = raw ? s->raw_section(page, loops, FOLL_PIN) :
		     s->pin_section(&l, loops);
	t0 = now_ns() - t0;
	if (done != loops) {
		fprintf(stderr, "walkcost: %lu of %lu ops failed\n",
			loops - done, loops);
		return 1;
	}
	printf("%s/%s %.2f ns/op\n", argv[2], s->name, t0 / loops);
out:
	mm_free(mm);
	mem_exit();
	return 0;
}
