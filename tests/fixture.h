/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small emulated machine for the scheme tests: memory with small pages,
 * two THPs and device pages; one mm with four VMAs (private anon, THP,
 * ZONE_DEVICE, shared file-like), all populated.
 */
#ifndef GUPBENCH_TESTS_FIXTURE_H
#define GUPBENCH_TESTS_FIXTURE_H

#include "scheme.h"
#include "unit.h"

#define FX_ANON		0x10000000UL	/* 64 private anon pages */
#define FX_ANON_PAGES	64
#define FX_THP		0x40000000UL	/* one PMD-mapped THP */
#define FX_DEV		0x50000000UL	/* 16 ZONE_DEVICE pages */
#define FX_DEV_PAGES	16
#define FX_SHARED	0x60000000UL	/* 16 shared file-like pages */
#define FX_SHARED_PAGES	16
#define FX_NR_SMALL	1536	/* a fork of a pinned THP copies 512 */
#define FX_NR_THP	4

#define PIN_W		(FOLL_PIN | FOLL_WRITE)	/* a writable pin */

struct fx {
	const struct gup_scheme *s;
	struct mm_struct *mm;
	struct gup_stats st;
};

static inline void fx_setup(struct fx *f, const struct gup_scheme *s)
{
	struct mem_config cfg = {
		.nr_small = FX_NR_SMALL,
		.nr_thp = FX_NR_THP,
		.nr_device = FX_DEV_PAGES * 2,
		.page_ext = s->features & SF_PAGE_EXT,
	};

	memset(f, 0, sizeof(*f));
	f->s = s;
	gup_thread_register();
	CHECK_EQ(mem_init(&cfg), 0);
	if (s->features & SF_DEVMAP_PAGEREF)
		mem_devmap_set_page_refs(true);
	f->mm = mm_alloc(s);
	CHECK(f->mm);
	CHECK_EQ(mm_mmap(f->mm, FX_ANON, FX_ANON_PAGES * PAGE_SIZE, VM_WRITE), 0);
	CHECK_EQ(mm_mmap(f->mm, FX_THP, PMD_SIZE, VM_WRITE | VM_HUGEPAGE), 0);
	CHECK_EQ(mm_mmap(f->mm, FX_DEV, FX_DEV_PAGES * PAGE_SIZE,
			 VM_WRITE | VM_DEVMAP), 0);
	CHECK_EQ(mm_mmap(f->mm, FX_SHARED, FX_SHARED_PAGES * PAGE_SIZE,
			 VM_WRITE | VM_SHARED), 0);
	CHECK_EQ(mm_populate(f->mm, FX_ANON, FX_ANON_PAGES * PAGE_SIZE), 0);
	CHECK_EQ(mm_populate(f->mm, FX_THP, PMD_SIZE), 0);
	CHECK_EQ(mm_populate(f->mm, FX_DEV, FX_DEV_PAGES * PAGE_SIZE), 0);
	CHECK_EQ(mm_populate(f->mm, FX_SHARED, FX_SHARED_PAGES * PAGE_SIZE), 0);
}

/*
 * Tear down and check that nothing leaked: every page back on the free
 * lists, no WARN fired, pins acquired == released.
 */
static inline void fx_teardown(struct fx *f)
{
	long warns;

	mm_free(f->mm);		/* WARNs on a leaked deposited table */
	f->mm = NULL;
	warns = atomic_long_read(&gup_warnings);
	CHECK_EQ(mem_nr_free(), FX_NR_SMALL);
	CHECK_EQ(mem_nr_free_thp(), FX_NR_THP);
	vmstat_flush_thread();
	CHECK_EQ(vmstat_foll_pin_balance(), 0);
	CHECK_EQ(warns, 0);
	mem_exit();
}

static inline struct page *fx_page(struct fx *f, unsigned long addr)
{
	struct page *p = mm_lookup_page(f->mm, addr, NULL);

	CHECK(p);
	return p;
}

static inline bool fx_has_pins(const struct gup_scheme *s)
{
	return (s->features & SF_PIN) && !(s->features & SF_CALIBRATION);
}

/* The pin counter the scheme keeps for @folio, or -1 if it has none. */
static inline int fx_pincount(const struct gup_scheme *s, struct folio *folio)
{
	if (!fx_has_pins(s))
		return -1;
	if (!strcmp(s->name, "pincount_sameline"))
		return atomic_read(&folio->page._pincount);
	if (folio_test_large(folio))
		return atomic_read(folio_pincount_ptr(folio));
	if (s->features & SF_PAGE_EXT)
		return atomic_read(&page_ext_get(&folio->page)->pincount);
	return -1;
}

#endif
