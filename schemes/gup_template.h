/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One instantiation of mm/gup.c per scheme. A scheme file defines
 *   S_NAME        its prefix (bias, pincount, ...)
 *   S_FEATURES    SF_* flags
 *   S_DEVMAP_MODE optional: GUP_DEVMAP_WALK (default), _PERGET or _NONE
 * and the static inline hooks
 *   S(try_grab_fast)(page, refs, flags) -> folio or NULL   GUP-fast grab
 *   S(try_grab_slow)(folio, refs, flags) -> 0/-errno        under PT lock
 *   S(put_folio)(folio, refs, flags)                        gup_put_folio
 *   S(maybe_pinned)(folio) -> bool                   folio_maybe_dma_pinned
 * and optionally S_AFTER_SLOW_GRAB with S(after_slow_grab)(folio, refs,
 * flags, st), run after the PT lock is dropped (pagelock sleeps there; it
 * cannot fail: the refs are taken; S(try_grab_slow) then takes plain
 * refs), and S_UNPIN_PER_PAGE (unpin each page, no folio batching), then
 * includes this file. The walk
 * below calls the hooks directly, so they are inlined: no indirect call
 * per page.
 *
 * Steps follow gup_fast_fallback(): lockless walk (gup_fast_pgd_range ->
 * gup_fast_pmd_leaf / gup_fast_pte_range), write_protect_seq check, then
 * the slow path __get_user_pages() under mmap_lock for the rest.
 */
#ifndef S_NAME
#error "define S_NAME before including gup_template.h"
#endif

#include "gup_common.h"

#define GUP_DEVMAP_WALK		0	/* one cached pgmap ref per walk */
#define GUP_DEVMAP_PERGET	1	/* 4.5: pgmap ref per page ref */
#define GUP_DEVMAP_NONE		2	/* pages hold the pgmap ref */

#ifndef S_DEVMAP_MODE
#define S_DEVMAP_MODE	GUP_DEVMAP_WALK
#endif

#ifdef S_UNPIN_PER_PAGE
#undef S_UNPIN_PER_PAGE
#define S_UNPIN_PER_PAGE	1
#else
#define S_UNPIN_PER_PAGE	0
#endif

/* What S(try_grab_slow) takes for a call with @flags. */
#ifdef S_AFTER_SLOW_GRAB
#define S_SLOW_GRAB_FLAGS(flags)	(((flags) & ~FOLL_PIN) | FOLL_GET)
#else
#define S_SLOW_GRAB_FLAGS(flags)	(flags)
#endif

#define S(x)	CONCAT(CONCAT(S_NAME, _), x)

/*
 * GUP-fast's back-off put after a failed recheck: the unpin's, unless
 * the scheme's era had its own (S_FAST_UNDO_FOLIO: bias1's 5.7-5.10
 * put_compound_head()).
 */
#ifdef S_FAST_UNDO_FOLIO
#define S_FAST_UNDO(folio, refs, flags)	S_FAST_UNDO_FOLIO(folio, refs, flags)
#else
#define S_FAST_UNDO(folio, refs, flags)	S(put_folio)(folio, refs, flags)
#endif

/* Does this call take pins (as opposed to plain FOLL_GET refs)? */
static __always_inline bool S(wants_seq)(unsigned int flags)
{
	if ((S_FEATURES & SF_ANON_EXCL) && GUP_MUTANT(ANONEXCL_NO_SEQ))
		return false;
	return (S_FEATURES & SF_WP_SEQ) && (flags & FOLL_PIN);
}

static __always_inline bool S(must_unshare)(const struct vm_area_struct *vma,
					    unsigned int flags,
					    struct page *page)
{
	if (!(S_FEATURES & SF_ANON_EXCL))
		return false;	/* before 5.19 R/O pins did not unshare */
	return gup_must_unshare(vma, flags, page);
}

/*
 * unpin_user_pages(): batch consecutive entries of one folio into one
 * gup_put_folio() (5.12+); FOLL_GET callers put each page, and so does a
 * scheme that defines S_UNPIN_PER_PAGE (before 5.12 unpin_user_pages()
 * called unpin_user_page() per entry: a THP's 512 pins are 512 puts).
 *
 * @make_dirty (a constant at every call): unpin_user_pages_dirty_lock(
 * pages, npages, true), how vfio and RDMA release write pins: a folio
 * found clean is locked, marked dirty and unlocked before its put (the
 * unlocked test may race with folio_clear_dirty_for_io(); the kernel's
 * comment explains why either order is fine). The FOLL_GET era did the
 * same per page: if (!PageDirty) set_page_dirty_lock(), then put_page().
 */
static __always_inline void S(release)(struct page **pages,
				       unsigned long npages,
				       unsigned int flags,
				       const bool make_dirty)
{
	unsigned long i, nr;

	if (!(S_FEATURES & SF_PIN) && (flags & FOLL_PIN))
		flags = (flags & ~FOLL_PIN) | FOLL_GET;
	for (i = 0; i < npages; i += nr) {
		struct folio *folio = page_folio(pages[i]);

		nr = 1;
		if ((flags & FOLL_PIN) && !S_UNPIN_PER_PAGE)
			while (i + nr < npages &&
			       page_folio(pages[i + nr]) == folio)
				nr++;
		if (make_dirty && !folio_test_dirty(folio)) {
			folio_lock(folio);
			folio_mark_dirty(folio);
			folio_unlock(folio);
		}
		S(put_folio)(folio, (int)nr, flags);
	}
}

/*
 * gup_fast_unpin_user_pages(): undo a walk that raced with fork, one
 * gup_put_folio() per folio as unpin_user_pages() does.
 */
static __always_inline void S(gup_fast_unpin)(struct page **pages, long nr,
					      unsigned int flags)
{
	S(release)(pages, (unsigned long)nr, flags, false);
}

/*
 * The walk's own RMW on each folio it returns: folio_set_referenced().
 * The calibration scheme (empty) is the walk without any atomic.
 */
static __always_inline void S(set_referenced)(struct folio *folio)
{
	if (!(S_FEATURES & SF_CALIBRATION))
		folio_set_referenced(folio);
}

/*
 * gup_fast_undo_dev_pagemap(): drop what this PTE range grabbed, newest
 * first, clearing the referenced bit the walk set.
 */
static __always_inline void S(undo_dev_pagemap)(long *nr, long nr_start,
						unsigned int flags,
						struct page **pages)
{
	while (*nr - nr_start) {
		struct folio *folio = page_folio(pages[--(*nr)]);

		if (!(S_FEATURES & SF_CALIBRATION))
			folio_clear_referenced(folio);
		S(put_folio)(folio, 1, flags);
	}
}

/* gup_fast_pte_range(): returns false if the walk must stop here. */
static __always_inline bool S(gup_fast_pte_range)(struct mm_struct *mm,
						  pmd_t pmd, pmd_t *pmdp,
						  unsigned long addr,
						  unsigned long end,
						  unsigned int flags,
						  struct page **pages, long *nr,
						  struct gup_stats *st,
						  const bool dbg)
{
	struct dev_pagemap *pgmap = NULL;
	long nr_start = *nr;
	bool ret = false;
	pte_t *ptep;

	ptep = (pte_t *)&entry_table(pmd_val(pmd))->e[pte_index(addr)];
	do {
		pte_t pte = ptep_get(ptep);
		struct page *page;
		struct folio *folio;

		gup_debug(dbg, mm, GUP_DP_FAST_AFTER_READ, addr);
		if (pte_protnone(pte))
			goto out;
		if (!pte_access_permitted(pte, flags & FOLL_WRITE))
			goto out;
		if (pte_devmap(pte)) {
			if (unlikely(flags & FOLL_LONGTERM))
				goto out;
			if (S_DEVMAP_MODE == GUP_DEVMAP_WALK)
				pgmap = get_dev_pagemap(pte_pfn(pte), pgmap);
			else if (S_DEVMAP_MODE == GUP_DEVMAP_PERGET)
				pgmap = get_dev_pagemap_v45(pte_pfn(pte),
							    pgmap);
			if (S_DEVMAP_MODE != GUP_DEVMAP_NONE &&
			    unlikely(!pgmap)) {
				S(undo_dev_pagemap)(nr, nr_start, flags, pages);
				st->fast_undo++;
				goto out;
			}
		} else if (pte_special(pte)) {
			goto out;
		}

		page = pte_page(pte);
		folio = S(try_grab_fast)(page, 1, flags);
		/*
		 * 4.5: get_page() took the page's own pgmap reference, so
		 * the walk's is dropped at once; the pointer stays cached
		 * for the next page's blind get.
		 */
		if (S_DEVMAP_MODE == GUP_DEVMAP_PERGET && pte_devmap(pte))
			put_dev_pagemap_v45(pgmap);
		if (!folio)
			goto out;
		gup_debug(dbg, mm, GUP_DP_FAST_AFTER_GRAB, addr);

		/*
		 * The PTE changed, or the table under it was taken away
		 * (collapse, 70cbc3cc78a9): back off.
		 */
		if (!GUP_MUTANT(NO_PTE_RECHECK) &&
		    ((!GUP_MUTANT(NO_PMD_RECHECK) &&
		      unlikely(pmd_val(pmd) != pmd_val(pmdp_get(pmdp)))) ||
		     unlikely(pte_val(pte) != pte_val(ptep_get(ptep))))) {
			S_FAST_UNDO(folio, 1, flags);
			st->fast_undo++;
			goto out;
		}

		if (!gup_fast_folio_allowed(folio, flags) ||
		    (!pte_write(pte) && S(must_unshare)(NULL, flags, page))) {
			S_FAST_UNDO(folio, 1, flags);
			st->fast_undo++;
			goto out;
		}

		S(set_referenced)(folio);
		pages[*nr] = page;
		(*nr)++;
	} while (ptep++, addr += PAGE_SIZE, addr != end);
	ret = true;
out:
	if (S_DEVMAP_MODE == GUP_DEVMAP_WALK && pgmap)
		put_dev_pagemap(pgmap);
	return ret;
}

/* gup_fast_pmd_leaf(): a PMD-mapped THP costs one grab of all refs. */
static __always_inline bool S(gup_fast_pmd_leaf)(struct mm_struct *mm,
						 pmd_t orig, pmd_t *pmdp,
						 unsigned long addr,
						 unsigned long end,
						 unsigned int flags,
						 struct page **pages, long *nr,
						 struct gup_stats *st,
						 const bool dbg)
{
	struct page *page;
	struct folio *folio;
	int refs = 0;

	if (!pmd_access_permitted(orig, flags & FOLL_WRITE))
		return false;
	if (pmd_val(orig) & (_PAGE_SPECIAL | _PAGE_DEVMAP))
		return false;

	page = pmd_page(orig) + ((addr & (PMD_SIZE - 1)) >> PAGE_SHIFT);
	/* record_subpages() */
	do {
		pages[*nr + refs] = page + refs;
		refs++;
	} while (addr += PAGE_SIZE, addr != end);

	folio = S(try_grab_fast)(page, refs, flags);
	if (!folio)
		return false;
	gup_debug(dbg, mm, GUP_DP_FAST_AFTER_GRAB, addr - PAGE_SIZE);

	if (unlikely(pmd_val(orig) != pmd_val(pmdp_get(pmdp)))) {
		S_FAST_UNDO(folio, refs, flags);
		st->fast_undo++;
		return false;
	}
	if (!gup_fast_folio_allowed(folio, flags) ||
	    (!pmd_write(orig) && S(must_unshare)(NULL, flags, &folio->page))) {
		S_FAST_UNDO(folio, refs, flags);
		st->fast_undo++;
		return false;
	}
	*nr += refs;
	S(set_referenced)(folio);
	return true;
}

/* gup_fast_pgd_range() with the PUD and PMD levels folded in. */
static __always_inline void S(gup_fast_walk)(struct mm_struct *mm,
					     unsigned long addr,
					     unsigned long end,
					     unsigned int flags,
					     struct page **pages, long *nr,
					     struct gup_stats *st,
					     const bool dbg)
{
	do {
		unsigned long pgd = table_entry_get(&mm->pgd->e[pgd_index(addr)]);
		unsigned long pud, next;
		pmd_t *pmdp;
		pmd_t pmd;

		if (!entry_is_table(pgd))
			return;
		pud = table_entry_get(&entry_table(pgd)->e[pud_index(addr)]);
		if (!entry_is_table(pud))
			return;
		pmdp = (pmd_t *)&entry_table(pud)->e[pmd_index(addr)];
		pmd = pmdp_get(pmdp);
		next = (addr + PMD_SIZE) & ~(PMD_SIZE - 1);
		if (next > end || next == 0)
			next = end;

		if (!pmd_present(pmd))
			return;
		if (unlikely(pmd_leaf(pmd))) {
			/* NUMA hinting faults need the slow path */
			if (pmd_protnone(pmd))
				return;
			if (!S(gup_fast_pmd_leaf)(mm, pmd, pmdp, addr, next,
						  flags, pages, nr, st, dbg))
				return;
		} else if (!S(gup_fast_pte_range)(mm, pmd, pmdp, addr, next,
						   flags, pages, nr, st,
						   dbg)) {
			return;
		}
		addr = next;
	} while (addr != end);
}

/* gup_fast(): the lockless part. Returns pages taken. */
static __always_inline long S(gup_fast_part)(struct mm_struct *mm,
					     unsigned long start,
					     unsigned long end,
					     unsigned int flags,
					     struct page **pages,
					     struct gup_stats *st,
					     const bool dbg)
{
	unsigned long irqflags;
	unsigned int seq = 0;
	long nr = 0;

	if (S(wants_seq)(flags) &&
	    !raw_seqcount_try_begin(&mm->write_protect_seq, &seq))
		return 0;	/* fork in progress: the slow path waits */

	/*
	 * No page table we walk can be freed or reused (collapse deposits
	 * the old PTE table) until we are out: see local_irq_save().
	 */
	local_irq_save(irqflags);
	S(gup_fast_walk)(mm, start, end, flags, pages, &nr, st, dbg);
	gup_debug(dbg, mm, GUP_DP_FAST_END, start);
	local_irq_restore(irqflags);

	/*
	 * fork() may have write-protected and shared a page after we
	 * pinned it through the old writable PTE: give everything back
	 * (57efa1fe5957).
	 */
	if (S(wants_seq)(flags) &&
	    read_seqcount_retry(&mm->write_protect_seq, seq)) {
		S(gup_fast_unpin)(pages, nr, flags);
		st->seq_retry++;
		return 0;
	}
	return nr;
}

/*
 * follow_page_pte() for one address: under the PT lock, take the page
 * if the PTE allows it. Returns the page, or NULL with *why = 0 (fault
 * it in / write fault), -EMLINK (unshare first), -EREMOTEIO (a P2PDMA
 * page without FOLL_PCI_P2PDMA) or -EFAULT.
 */
static struct page *S(follow_page)(struct mm_struct *mm,
				   struct vm_area_struct *vma,
				   unsigned long addr, unsigned int flags,
				   int *why, long *refs_out,
				   struct dev_pagemap **pgmap,
				   struct page **pages, long room)
{
	struct dev_pagemap *dev = NULL;
	struct page *page = NULL;
	struct folio *folio;
	spinlock_t *ptl;
	pmd_t *pmdp;
	pte_t *ptep;
	pte_t pte;
	pmd_t pmd;
	long refs = 1, i;
	int err;

	*why = 0;
	pmdp = mm_find_pmd(mm, addr, false);
	if (!pmdp)
		return NULL;
	pmd = pmdp_get(pmdp);
	if (pmd_leaf(pmd)) {
		/* follow_huge_pmd(): one grab under the PMD lock */
		ptl = pmd_lockptr(pmdp);
		spin_lock(ptl);
		pmd = pmdp_get(pmdp);
		if (!pmd_leaf(pmd) && pmd_present(pmd)) {
			/* split under us: follow_page_pte(), no fault */
			spin_unlock(ptl);
			goto follow_pte;
		}
		if (!pmd_leaf(pmd) || !pmd_present(pmd) ||
		    ((flags & FOLL_WRITE) && !pmd_write(pmd))) {
			spin_unlock(ptl);
			return NULL;
		}
		/* a PMD-mapped THP keeps PG_anon_exclusive on its head */
		if (!pmd_write(pmd) &&
		    S(must_unshare)(vma, flags, pmd_page(pmd))) {
			spin_unlock(ptl);
			*why = -EMLINK;
			return NULL;
		}
		page = pmd_page(pmd) + ((addr & (PMD_SIZE - 1)) >> PAGE_SHIFT);
		refs = min((long)(HPAGE_PMD_NR - ((addr & (PMD_SIZE - 1)) >>
						  PAGE_SHIFT)), room);
		folio = page_folio(page);
		if (S(try_grab_slow)(folio, 1, flags)) {
			spin_unlock(ptl);
			*why = -EFAULT;
			return NULL;
		}
		spin_unlock(ptl);
		/*
		 * __get_user_pages(): the rest of the subpages it will
		 * return (page_increm - 1) in a second try_grab_folio(),
		 * safe without the PT lock now that it holds one
		 */
		if (refs > 1 && S(try_grab_slow)(folio, (int)refs - 1, flags)) {
			/* what the first grab took: a plain ref for pagelock */
			S(put_folio)(folio, 1, S_SLOW_GRAB_FLAGS(flags));
			*why = -EFAULT;
			return NULL;
		}
		for (i = 0; i < refs; i++)
			pages[i] = page + i;
		*refs_out = refs;
		return page;
	}

follow_pte:
	ptep = mm_find_pte(mm, addr, false, &ptl);
	if (!ptep)
		return NULL;
	spin_lock(ptl);
	pte = ptep_get(ptep);
	if (!pte_present(pte) || pte_protnone(pte))
		goto out_unlock;	/* none, migration entry: fault */
	if ((flags & FOLL_WRITE) && !pte_write(pte))
		goto out_unlock;	/* can_follow_write_pte(): COW first */
	if (pte_special(pte) && !pte_devmap(pte)) {
		*why = -EFAULT;
		goto out_unlock;
	}
	if (pte_devmap(pte) && S_DEVMAP_MODE == GUP_DEVMAP_WALK) {
		*pgmap = get_dev_pagemap(pte_pfn(pte), *pgmap);
		if (!*pgmap) {
			*why = -EFAULT;
			goto out_unlock;
		}
	}
	page = pte_page(pte);
	if (!pte_write(pte) && S(must_unshare)(vma, flags, page)) {
		*why = -EMLINK;
		page = NULL;
		goto out_unlock;
	}
	folio = page_folio(page);
	/* 4.5's follow_page_pte(): an uncached get_dev_pagemap() */
	if (S_DEVMAP_MODE == GUP_DEVMAP_PERGET && pte_devmap(pte)) {
		dev = get_dev_pagemap_v45(pte_pfn(pte), NULL);
		if (!dev)
			goto out_efault;
	}
	err = S(try_grab_slow)(folio, 1, flags);
	put_dev_pagemap_v45(dev);	/* NULL, or the page holds its own now */
	if (err) {
		/* -EREMOTEIO (a P2PDMA page) is the call's error, as is */
		*why = err == -EREMOTEIO ? err : -EFAULT;
		page = NULL;
		goto out_unlock;
	}
	/*
	 * FOLL_TOUCH (every slow-path call): a FOLL_WRITE lookup has a
	 * writable PTE here, which the model always makes dirty, so
	 * folio_mark_dirty() has nothing to do; the access is recorded.
	 * The PMD-leaf path above does not: the kernel's touch_pmd() sets
	 * the PMD's young bit, which the model does not have.
	 */
	if (flags & FOLL_TOUCH)
		folio_mark_accessed(folio);
	pages[0] = page;
	*refs_out = 1;
out_unlock:
	spin_unlock(ptl);
	return page;
out_efault:
	*why = -EFAULT;
	page = NULL;
	goto out_unlock;
}

/*
 * __get_user_pages() under mmap_lock: look each page up under its PT
 * lock, fault it in (or unshare it) when the lookup says so, retry.
 */
static noinline long S(gup_slow)(struct mm_struct *mm, unsigned long start,
				 unsigned long nr_pages, unsigned int flags,
				 struct page **pages, struct gup_stats *st)
{
	struct dev_pagemap *pgmap = NULL;
	unsigned long i = 0;
	long ret = 0;

	st->slow_calls++;
	flags |= FOLL_TOUCH;
	mmap_read_lock(mm);
	while (i < nr_pages) {
		unsigned long addr = start + i * PAGE_SIZE;
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		struct page *page;
		long refs = 0;
		int why, err;

		if (!vma || ((flags & FOLL_WRITE) &&
			     !(vma->vm_flags & VM_WRITE))) {
			ret = -EFAULT;
			break;
		}
		/* check_vma_flags(): fsdax cannot be pinned long-term */
		if ((flags & FOLL_LONGTERM) && (vma->vm_flags & VM_DEVMAP)) {
			ret = -EOPNOTSUPP;
			break;
		}
		/*
		 * writable_file_mapping_allowed(): no long-term writable pin
		 * of a dirty-tracked file (FOLL_GET refs are not refused,
		 * as gup_fast_folio_allowed() does not refuse them)
		 */
		if ((flags & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) ==
		    (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE) &&
		    (vma->vm_flags & VM_SHARED)) {
			ret = -EFAULT;
			break;
		}
		page = S(follow_page)(mm, vma, addr, flags, &why, &refs,
				      &pgmap, pages + i, nr_pages - i);
		if (!page) {
			unsigned int ff;

			if (why == -EFAULT || why == -EREMOTEIO) {
				ret = why;
				break;
			}
			ff = why == -EMLINK ? FAULT_FLAG_UNSHARE :
			     (flags & FOLL_WRITE) ? FAULT_FLAG_WRITE : 0;
			err = handle_mm_fault(mm, addr, ff, st);
			if (err && err != -EAGAIN) {
				ret = err;
				break;
			}
			st->retries++;
			continue;
		}
#ifdef S_AFTER_SLOW_GRAB
		S(after_slow_grab)(page_folio(page), (int)refs, flags, st);
#endif
		i += refs;
	}
	mmap_read_unlock(mm);
	if (pgmap)
		put_dev_pagemap(pgmap);
	st->slow_pages += i;
	if (i)
		return (long)i;
	return ret ? ret : -EFAULT;
}

/*
 * gup_fast_fallback(): pin_user_pages_fast() / get_user_pages_fast().
 * Returns the number of pages taken or -errno.
 */
/*
 * A FOLL_PIN call marks the mm for fork (mm_has_pinned()): today
 * MMF_HAS_PINNED, set only if clear; 5.9-5.12 stored mm->has_pinned
 * every time.
 */
static __always_inline void S(set_has_pinned)(struct mm_struct *mm)
{
	if (S_FEATURES & SF_HAS_PINNED_STORE)
		mm_store_has_pinned(mm);
	else
		mm_set_has_pinned_flag(mm);
}

static __always_inline long S(gup_fast_fallback)(struct mm_struct *mm,
						 unsigned long start,
						 unsigned long nr_pages,
						 unsigned int flags,
						 struct page **pages,
						 struct gup_stats *st,
						 const bool dbg)
{
	unsigned long end = start + nr_pages * PAGE_SIZE;
	long nr_pinned, ret;

	if (!(S_FEATURES & SF_PIN) && (flags & FOLL_PIN))
		flags = (flags & ~FOLL_PIN) | FOLL_GET; /* no pin notion */
	if (unlikely(end <= start))
		return nr_pages ? -EOVERFLOW : 0;
	if (flags & FOLL_PIN)
		S(set_has_pinned)(mm);

	nr_pinned = S(gup_fast_part)(mm, start, end, flags, pages, st, dbg);
	st->fast_pages += nr_pinned;
	if (likely((unsigned long)nr_pinned == nr_pages) ||
	    (flags & FOLL_FAST_ONLY))
		return nr_pinned;
	/* 5.9-5.12's __get_user_pages_locked() stored it again */
	if ((S_FEATURES & SF_HAS_PINNED_STORE) && (flags & FOLL_PIN))
		mm_store_has_pinned(mm);

	ret = S(gup_slow)(mm, start + nr_pinned * PAGE_SIZE,
			  nr_pages - nr_pinned, flags, pages + nr_pinned, st);
	if (ret < 0)
		return nr_pinned ? nr_pinned : ret;
	return ret + nr_pinned;
}

/*
 * pin_user_pages_unlocked()/get_user_pages_unlocked(): no GUP-fast; the
 * slow path takes mmap_lock itself and adds FOLL_TOUCH.
 */
long S(gup)(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
	    unsigned int flags, struct page **pages, struct gup_stats *st)
{
	if (!(S_FEATURES & SF_PIN) && (flags & FOLL_PIN))
		flags = (flags & ~FOLL_PIN) | FOLL_GET; /* no pin notion */
	if (flags & FOLL_PIN)
		S(set_has_pinned)(mm);
	return S(gup_slow)(mm, start, nr_pages, flags, pages, st);
}

long S(gup_fast)(struct mm_struct *mm, unsigned long start,
		 unsigned long nr_pages, unsigned int flags,
		 struct page **pages, struct gup_stats *st)
{
	return S(gup_fast_fallback)(mm, start, nr_pages, flags, pages, st,
				    true);
}

void S(release_pages)(struct page **pages, unsigned long npages,
		      unsigned int flags)
{
	S(release)(pages, npages, flags, false);
}

void S(release_pages_dirty)(struct page **pages, unsigned long npages,
			    unsigned int flags)
{
	S(release)(pages, npages, flags, true);
}

/* The timed loop: gup + release, nloops times, hooks all inlined. */
static __always_inline unsigned long S(pin_loop)(struct pin_loop *l,
						 unsigned long nloops,
						 const bool make_dirty)
{
	/*
	 * The loop's own state lives in registers: the hooks' atomics are
	 * compiler barriers, and reloading *l around each of them would
	 * charge the harness's loads to the walk.
	 */
	struct mm_struct *const mm = l->mm;
	const unsigned long *const addrs = l->addrs;
	const unsigned int naddr = l->naddr;
	const unsigned long nr_pages = l->nr_pages;
	const unsigned int flags = l->gup_flags;
	struct page **const pages = l->pages;
	struct gup_stats *const st = l->st;
	unsigned int next = l->next;
	unsigned long ok = 0;

	while (nloops--) {
		unsigned long addr = addrs[next];
		long got;

		if (++next == naddr)
			next = 0;
		got = S(gup_fast_fallback)(mm, addr, nr_pages, flags, pages,
					   st, false);
		if (likely((unsigned long)got == nr_pages))
			ok++;
		else
			st->errors++;
		if (got > 0)
			S(release)(pages, (unsigned long)got, flags,
				   make_dirty);
	}
	l->next = next;
	return ok;
}

/* One loop for each release, chosen once per call, not per op. */
unsigned long S(pin_section)(struct pin_loop *l, unsigned long nloops)
{
	if (l->make_dirty)
		return S(pin_loop)(l, nloops, true);
	return S(pin_loop)(l, nloops, false);
}

/*
 * The bare grab + put on one struct page: what the walk adds is pin/raw.
 * Cache-line aligned, so that its short loop (raw/empty: nine
 * instructions) does not straddle a 64-byte fetch block in one build and
 * not in the next: that alone moved raw/empty between 0.40 and 0.55 ns.
 */
__aligned(64)
unsigned long S(raw_section)(struct page *page, unsigned long nloops,
			     unsigned int flags)
{
	unsigned long ok = 0;

	if (!(S_FEATURES & SF_PIN) && (flags & FOLL_PIN))
		flags = (flags & ~FOLL_PIN) | FOLL_GET;
	while (nloops--) {
		struct folio *folio = S(try_grab_fast)(page, 1, flags);

		if (likely(folio)) {
			S(put_folio)(folio, 1, flags);
			ok++;
		}
	}
	return ok;
}

static bool S(maybe_pinned_fn)(struct folio *folio)
{
	return S(maybe_pinned)(folio);
}

/* The slow path's whole grab: with S_AFTER_SLOW_GRAB, what follows too. */
static int S(try_grab_folio_fn)(struct folio *folio, int refs,
				unsigned int flags)
{
	int ret;

	if (!(S_FEATURES & SF_PIN) && (flags & FOLL_PIN))
		flags = (flags & ~FOLL_PIN) | FOLL_GET;
	ret = S(try_grab_slow)(folio, refs, flags);
#ifdef S_AFTER_SLOW_GRAB
	if (!ret) {
		struct gup_stats st = { 0 };

		S(after_slow_grab)(folio, refs, flags, &st);
	}
#endif
	return ret;
}

static void S(put_folio_fn)(struct folio *folio, int refs, unsigned int flags)
{
	if (!(S_FEATURES & SF_PIN) && (flags & FOLL_PIN))
		flags = (flags & ~FOLL_PIN) | FOLL_GET;
	S(put_folio)(folio, refs, flags);
}

/* The ops a scheme's table gets from its instantiation. */
#define GUP_TEMPLATE_OPS					\
	.features = S_FEATURES,					\
	.gup_fast = S(gup_fast),				\
	.gup = S(gup),						\
	.release_pages = S(release_pages),			\
	.release_pages_dirty = S(release_pages_dirty),		\
	.pin_section = S(pin_section),				\
	.raw_section = S(raw_section),				\
	.maybe_pinned = S(maybe_pinned_fn),			\
	.try_grab_folio = S(try_grab_folio_fn),			\
	.put_folio = S(put_folio_fn)
