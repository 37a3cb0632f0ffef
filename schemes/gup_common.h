/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Building blocks the scheme files compose: the speculative folio get
 * (mm/gup.c try_get_folio), the mainline pin accounting of
 * try_grab_folio_fast()/try_grab_folio()/gup_put_folio() for small
 * (GUP_PIN_COUNTING_BIAS) and large (folio->_pincount) folios, and
 * gup_must_unshare() (mm/internal.h). All static inline: a scheme's hooks
 * are inlined into its instantiation of the walk.
 */
#ifndef GUPBENCH_GUP_COMMON_H
#define GUPBENCH_GUP_COMMON_H

#include "scheme.h"

/*
 * The model's debug points (mm->debug_hook) stop a walk at a chosen step
 * for tests and torture. The kernel has none: the timed pin_section
 * instantiates the walk with @dbg false, so it pays neither the load nor
 * the branch.
 */
#define gup_debug(dbg, mm, dp, addr)				\
	do {							\
		if (dbg)					\
			mm_debug((mm), (dp), (addr));		\
	} while (0)

/* Whether @mm's scheme has feature @f (SF_*); an mm without one has none. */
static inline bool mm_scheme_has(const struct mm_struct *mm, unsigned int f)
{
	return mm->scheme && (mm->scheme->features & f);
}

/*
 * SetPageAnonExclusive() of a page @mm maps anew (a fault, a COW or
 * fork copy, a THP, collapse's): the flag is 5.19+, so anonexcl only;
 * the schemes before it model kernels that had no such flag, nor its
 * locked RMW on the flags word.
 */
static inline void mm_set_anon_exclusive(struct mm_struct *mm,
					 struct page *page)
{
	if (mm_scheme_has(mm, SF_ANON_EXCL))
		set_bit(PG_anon_exclusive, &page->flags);
}

/*
 * try_get_folio(): take @refs speculative references on the folio @page
 * belongs to. Fails if the folio is free or frozen (count 0) or has
 * overflowed (count < 0). Rechecks page_folio() afterwards: a split may
 * have raced with us (c24d37322548).
 */
static __always_inline struct folio *try_get_folio(struct page *page, int refs)
{
	struct folio *folio;

retry:
	folio = page_folio(page);
	if (WARN_ON_ONCE(folio_ref_count(folio) < 0))
		return NULL;
	if (unlikely(!folio_ref_try_add(folio, refs)))
		return NULL;
	if (unlikely(page_folio(page) != folio)) {
		folio_put_refs(folio, refs);
		goto retry;
	}
	return folio;
}

/*
 * Mainline try_grab_folio_fast() for FOLL_PIN after try_get_folio():
 * large folios count pins in folio->_pincount (page[1]); small folios
 * add the rest of GUP_PIN_COUNTING_BIAS to _refcount. The full barrier
 * pairs with smp_mb() in folio_try_share_anon_rmap_*() (088b8aa537c2).
 */
static __always_inline void pin_count_add(struct folio *folio, int refs)
{
	if (folio_has_pincount(folio))
		atomic_add(refs, folio_pincount_ptr(folio));
	else
		folio_ref_add(folio, refs * (GUP_PIN_COUNTING_BIAS - 1));
}

static __always_inline void pin_count_fast(struct folio *folio, int refs)
{
	pin_count_add(folio, refs);
	smp_mb__after_atomic();
}

/* ... and NR_FOLL_PIN_ACQUIRED after it */
static __always_inline void pin_account_fast(struct folio *folio, int refs)
{
	pin_count_fast(folio, refs);
	node_stat_mod_folio(folio, NR_FOLL_PIN_ACQUIRED, refs);
}

/*
 * folio_is_longterm_pinnable(): the model has one zone (no ZONE_MOVABLE,
 * no CMA pageblocks), so only its ZONE_DEVICE pages (fsdax-like) say no.
 * The zone test is a read of the flags word; the kernel's migratetype
 * test under CONFIG_CMA (get_pfnblock_flags_mask(), the pageblock bitmap
 * through mem_section) and its device-coherent test (pgmap->type) are
 * loads on other lines, which the model leaves out.
 */
static __always_inline bool folio_is_longterm_pinnable(struct folio *folio)
{
	if (is_zero_folio(folio))
		return true;
	return !test_bit(PG_device, folio_flags(folio));
}

/*
 * The FOLL_LONGTERM test of today's GUP-fast grab (in the PTE walk from
 * 5.13, in try_grab_folio_fast() since 6.11), in every pinning scheme's
 * grab so that rows differ only in the scheme: a folio that may not be
 * pinned long-term loses the @refs just taken and GUP-fast leaves it to
 * the slow path.
 */
static __always_inline bool gup_longterm_refused(struct folio *folio,
						 int refs, unsigned int flags)
{
	if (likely(!(flags & FOLL_LONGTERM)) ||
	    folio_is_longterm_pinnable(folio))
		return false;
	folio_put_refs(folio, refs);
	return true;
}

/*
 * The P2PDMA test at the top of today's grabs (6.2+, 4003f107fa2e):
 * without FOLL_PCI_P2PDMA, a PCI peer-to-peer page is refused before any
 * reference is taken. is_pci_p2pdma_page() (CONFIG_PCI_P2PDMA, as
 * distribution kernels build) tests the zone in the flags word and, for
 * a device page, reads pgmap->type: a dependent load per device-page
 * grab. In every scheme's grab, as the FOLL_LONGTERM test is. The
 * model's pgmaps are fsdax, so it never refuses.
 */
static __always_inline bool gup_p2pdma_refused(struct page *page,
					       unsigned int flags)
{
	return !(flags & FOLL_PCI_P2PDMA) &&
	       unlikely(test_bit(PG_device, &page->flags)) &&
	       READ_ONCE(page->pgmap)->type == MEMORY_DEVICE_PCI_P2PDMA;
}

/*
 * try_grab_folio_fast(): mainline GUP-fast grab. FOLL_GET is a plain
 * speculative get; FOLL_PIN first stabilises the folio with
 * add-unless-zero(refs), refuses a FOLL_LONGTERM pin of a folio that
 * may not be pinned long-term (the kernel's slow path migrates it; the
 * model's, with nothing movable to migrate out of, pins it), then
 * accounts the pin (two RMWs + mb).
 */
static __always_inline struct folio *try_grab_folio_fast(struct page *page,
							 int refs,
							 unsigned int flags)
{
	struct folio *folio;

	if (unlikely(gup_p2pdma_refused(page, flags)))
		return NULL;
	if (flags & FOLL_GET)
		return try_get_folio(page, refs);
	if (unlikely(page == zero_page))
		return page_folio(page);	/* never pinned (>= 2023) */
	folio = try_get_folio(page, refs);
	if (!folio || gup_longterm_refused(folio, refs, flags))
		return NULL;
	pin_account_fast(folio, refs);
	return folio;
}

/*
 * try_grab_folio(): the slow path's grab, under the PT lock, so the
 * folio cannot be freed: no add-unless-zero and no barrier.
 */
static __always_inline int try_grab_folio_locked(struct folio *folio, int refs,
						unsigned int flags)
{
	if (WARN_ON_ONCE(folio_ref_count(folio) <= 0))
		return -ENOMEM;
	if (unlikely(gup_p2pdma_refused(&folio->page, flags)))
		return -EREMOTEIO;
	if (flags & FOLL_GET) {
		folio_ref_add(folio, refs);
	} else if (flags & FOLL_PIN) {
		if (is_zero_folio(folio))
			return 0;
		if (folio_has_pincount(folio)) {
			folio_ref_add(folio, refs);
			atomic_add(refs, folio_pincount_ptr(folio));
		} else {
			folio_ref_add(folio, refs * GUP_PIN_COUNTING_BIAS);
		}
		node_stat_mod_folio(folio, NR_FOLL_PIN_ACQUIRED, refs);
	}
	return 0;
}

/* gup_put_folio(): unpin lowers _pincount first, then the refs. */
static __always_inline void gup_put_folio(struct folio *folio, int refs,
					   unsigned int flags)
{
	if (flags & FOLL_PIN) {
		if (is_zero_folio(folio))
			return;
		node_stat_mod_folio(folio, NR_FOLL_PIN_RELEASED, refs);
		if (folio_has_pincount(folio))
			atomic_sub(refs, folio_pincount_ptr(folio));
		else if (!GUP_MUTANT(BIAS_UNPIN_SUB1))
			refs *= GUP_PIN_COUNTING_BIAS;
	}
	folio_put_refs(folio, refs);
}

/* folio_maybe_dma_pinned(): exact for large folios, fuzzy for small. */
static __always_inline bool folio_maybe_dma_pinned(struct folio *folio)
{
	if (folio_has_pincount(folio))
		return atomic_read(folio_pincount_ptr(folio)) > 0;
	/* unsigned: still "pinned" after overflowing into the sign bit */
	return (unsigned int)folio_ref_count(folio) >= GUP_PIN_COUNTING_BIAS;
}

/*
 * gup_fast_folio_allowed(): after the recheck, with a reference held.
 * Distribution kernels build CONFIG_SECRETMEM, so every small folio has
 * its ->mapping read: NULL (truncated) falls back to the slow path, anon
 * passes. A file folio is then checked for secretmem, a dependent load of
 * mapping->a_ops the model does not make (its ->mapping is the owning mm,
 * not an address_space, and there is no secretmem); a FOLL_PIN |
 * FOLL_LONGTERM | FOLL_WRITE pin of a file folio falls back (the model's
 * shared mappings are dirty-tracked files, not shmem). The slab and
 * hugetlb tests on the same line are not modelled either.
 */
static __always_inline bool gup_fast_folio_allowed(struct folio *folio,
						   unsigned int flags)
{
	const unsigned int longterm_write = FOLL_PIN | FOLL_LONGTERM |
					    FOLL_WRITE;
	bool reject_file_backed = (flags & longterm_write) == longterm_write;

	if (!reject_file_backed && folio_test_large(folio))
		return true;	/* secretmem folios are order 0 */
	if (!READ_ONCE(folio->page.mapping))
		return false;
	if (folio_test_anon(folio))
		return true;
	return !reject_file_backed;
}

/*
 * gup_must_unshare(): a R/O FOLL_PIN of a possibly shared anon page must
 * unshare first (a7f226604170). With vma == NULL (GUP-fast) a non-anon
 * page needs the vma for FOLL_LONGTERM, so the answer is "fall back".
 */
static __always_inline bool gup_must_unshare(const struct vm_area_struct *vma,
					     unsigned int flags,
					     struct page *page)
{
	if ((flags & (FOLL_WRITE | FOLL_PIN)) != FOLL_PIN)
		return false;
	if (!folio_test_anon(page_folio(page))) {
		if (!(flags & FOLL_LONGTERM))
			return false;
		if (!vma)
			return true;
		return !(vma->vm_flags & VM_SHARED);
	}
	/* pairs with smp_mb__after_atomic() in folio_try_share_anon_rmap */
	smp_rmb();
	return !test_bit(PG_anon_exclusive, &page->flags);
}

#endif /* GUPBENCH_GUP_COMMON_H */
