/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A pinning scheme plugs in through one ops table, as refscale's
 * struct ref_scale_ops: a static const table with designated
 * initialisers plus one line in schemes/registry.c. The entry points are
 * instantiations of schemes/gup_template.h with the scheme's hooks inlined,
 * so the timed walk pays no indirect call per page; callers pay one
 * indirect call per gup call (or per batch for the *_section loops).
 */
#ifndef GUPBENCH_SCHEME_H
#define GUPBENCH_SCHEME_H

#include "mm.h"

/* Scheme features (struct gup_scheme.features). */
#define SF_PIN		BIT(0)	/* has a pin notion (FOLL_PIN differs from GET) */
#define SF_WP_SEQ	BIT(1)	/* GUP-fast FOLL_PIN checks write_protect_seq */
#define SF_ANON_EXCL	BIT(2)	/* PG_anon_exclusive + unshare (5.19+) */
#define SF_PAGELOCK	BIT(3)	/* pins serialise on the page lock */
#define SF_PAGE_EXT	BIT(4)	/* needs the page_ext array */
#define SF_DEVMAP	BIT(5)	/* a ZONE_DEVICE scheme: run on device pages */
#define SF_DEVMAP_PAGEREF BIT(6) /* device pages hold a pgmap ref while alive */
#define SF_CALIBRATION	BIT(7)	/* no real protocol (empty): skip safety tests */
#define SF_HAS_PINNED_STORE BIT(8) /* 5.9-5.12: each FOLL_PIN call stores mm->has_pinned */

/*
 * The timed loop state for the pin/pin_ro/get workloads: each iteration
 * takes nr_pages at the next address of addrs[] (cycled) and releases them.
 */
struct pin_loop {
	struct mm_struct *mm;
	const unsigned long *addrs;	/* start addresses, cycled */
	unsigned int naddr;
	unsigned int next;		/* index of the next address */
	unsigned long nr_pages;		/* pages per gup call */
	unsigned int gup_flags;		/* FOLL_PIN|FOLL_WRITE, ... */
	struct page **pages;		/* nr_pages slots */
	struct gup_stats *st;
	bool make_dirty;		/* unpin_user_pages_dirty_lock() */
};

struct gup_scheme {
	const char *name;		/* CLI and JSON token */
	const char *desc;		/* one line: what it models */
	const char *symbols;		/* the kernel symbols it follows */
	unsigned int features;		/* SF_* */

	/* pin_user_pages_fast()/get_user_pages_fast() by gup_flags */
	long (*gup_fast)(struct mm_struct *mm, unsigned long start,
			 unsigned long nr_pages, unsigned int gup_flags,
			 struct page **pages, struct gup_stats *st);
	/*
	 * pin_user_pages_unlocked()/get_user_pages_unlocked(): the slow
	 * path only (takes mmap_lock itself, FOLL_TOUCH)
	 */
	long (*gup)(struct mm_struct *mm, unsigned long start,
		    unsigned long nr_pages, unsigned int gup_flags,
		    struct page **pages, struct gup_stats *st);
	/* unpin_user_pages() (FOLL_PIN) or put_page() each (FOLL_GET) */
	void (*release_pages)(struct page **pages, unsigned long npages,
			      unsigned int gup_flags);
	/*
	 * unpin_user_pages_dirty_lock(make_dirty=true): clean folios are
	 * locked and dirtied first (FOLL_GET: set_page_dirty_lock())
	 */
	void (*release_pages_dirty)(struct page **pages, unsigned long npages,
				    unsigned int gup_flags);
	/* nloops gup+release pairs; returns calls that got every page */
	unsigned long (*pin_section)(struct pin_loop *l, unsigned long nloops);
	/* nloops bare grab+put on one struct page, no walk; returns grabs */
	unsigned long (*raw_section)(struct page *page, unsigned long nloops,
				     unsigned int gup_flags);
	/* folio_maybe_dma_pinned() as the scheme answers it */
	bool (*maybe_pinned)(struct folio *folio);
	/* try_grab_folio(): slow-path grab under the PT lock */
	int (*try_grab_folio)(struct folio *folio, int refs,
			      unsigned int gup_flags);
	/* gup_put_folio() */
	void (*put_folio)(struct folio *folio, int refs,
			  unsigned int gup_flags);
};

extern const struct gup_scheme *const gup_schemes[];
extern const unsigned int nr_gup_schemes;

const struct gup_scheme *scheme_find(const char *name);

/*
 * NR_FOLL_PIN_ACQUIRED - NR_FOLL_PIN_RELEASED over the node and every
 * thread that has folded its per-CPU differentials in (vmstat_flush_thread()
 * at the end of each thread that pins, as a CPU going offline folds its).
 */
long vmstat_foll_pin_balance(void);
void vmstat_flush_thread(void);
/* The per-CPU differential's threshold in use (mm/vmstat.c's) */
int vmstat_threshold(void);

/* WARN_ON_ONCE: count (and print once) a condition the kernel WARNs on. */
extern atomic_long_t gup_warnings;
void __gup_warn(const char *file, int line, const char *cond);
#define WARN_ON_ONCE(cond) ({						\
	bool __c = !!(cond);						\
	if (unlikely(__c))						\
		__gup_warn(__FILE__, __LINE__, #cond);			\
	__c;								\
})

#endif /* GUPBENCH_SCHEME_H */
