// SPDX-License-Identifier: GPL-2.0
/*
 * The mm operations that compete with a pin, each a real code path over
 * the same page tables: fork (copy_page_range/copy_present_pte with the
 * try-dup rule and write_protect_seq), migration (migration entries,
 * folio_try_share_anon_rmap_pte(), the expected-refs compare, the
 * passes of migrate_pages()),
 * page_mkclean-style writeback, zap_pte_range(), mprotect and
 * khugepaged's collapse.
 */
#include <stdlib.h>
#include <string.h>

#include "gup_common.h"

static bool mm_maybe_pinned(struct mm_struct *mm, struct folio *folio)
{
	if (mm->scheme && mm->scheme->maybe_pinned)
		return mm->scheme->maybe_pinned(folio);
	return folio_maybe_dma_pinned(folio);
}

/* ---- fork ---- */

/*
 * Whether a FOLL_PIN ever happened on @mm, as fork's copy_page_range()
 * asks: MMF_HAS_PINNED today, 5.9-5.12's mm->has_pinned for a scheme of
 * that era (SF_HAS_PINNED_STORE).
 */
bool mm_has_pinned(struct mm_struct *mm)
{
	if (mm_scheme_has(mm, SF_HAS_PINNED_STORE))
		return atomic_read(&mm->has_pinned);
	return test_bit(MMF_HAS_PINNED, &mm->flags);
}

/*
 * folio_try_dup_anon_rmap_pte(): share the page with the child, unless
 * it may be pinned and is exclusive: then the child needs its own copy.
 */
static int folio_try_dup_anon_rmap(struct mm_struct *src_mm,
				   struct folio *folio, struct page *page)
{
	bool pinned = mm_has_pinned(src_mm) &&
		      mm_maybe_pinned(src_mm, folio) &&
		      !GUP_MUTANT(FORK_SHARES_PINNED);

	if (mm_scheme_has(src_mm, SF_ANON_EXCL)) {
		if (test_bit(PG_anon_exclusive, &page->flags)) {
			if (pinned)
				return -EBUSY;
			clear_bit(PG_anon_exclusive, &page->flags);
		}
	} else if (pinned) {
		/* page_needs_cow_for_dma(): 70e806e4e645, 5.9-5.18 */
		return -EBUSY;
	}
	atomic_inc(folio_mapcount_ptr(folio));
	return 0;
}

/*
 * copy_present_page(): the child gets a private copy in @new (the folio
 * copy_pte_range() preallocated without the locks), dirty, and writable
 * only where the VMA is (maybe_mkwrite()).
 */
static void copy_present_page(struct mm_struct *dst_mm, pte_t *dst_ptep,
			      struct vm_area_struct *vma, struct folio *new,
			      struct page *page, unsigned long addr)
{
	copy_highpage(&new->page, page);
	WRITE_ONCE(new->page.mapping, (void *)dst_mm);
	new->page.index = addr >> PAGE_SHIFT;
	set_bit(PG_anon, folio_flags(new));
	mm_set_anon_exclusive(dst_mm, &new->page);
	__folio_mark_uptodate(new);
	folio_add_lru(new);		/* folio_add_lru_vma() */
	atomic_inc(&new->page._mapcount);
	set_pte(dst_ptep, pfn_pte(page_to_pfn(&new->page),
				  _PAGE_PRESENT | _PAGE_DIRTY |
				  ((vma->vm_flags & VM_WRITE) ? _PAGE_RW : 0)));
}

/* ptep_set_wrprotect(): an atomic clear of the write bit. */
static void ptep_set_wrprotect(pte_t *ptep)
{
	__atomic_fetch_and(&ptep->pte, ~_PAGE_RW, __ATOMIC_RELAXED);
}

/* pmdp_set_wrprotect(): the same on a PMD leaf. */
static void pmdp_set_wrprotect(pmd_t *pmdp)
{
	__atomic_fetch_and(&pmdp->pmd, ~_PAGE_RW, __ATOMIC_RELAXED);
}

/*
 * copy_pte_range(): one PTE table at a time under both tables' locks,
 * taken once per table as the kernel takes them. A pinned page needs a
 * copy: without a preallocated folio the locks are dropped, one is
 * allocated and the table is taken again from that entry (-EAGAIN,
 * folio_prealloc(), "goto again"). A migration entry is copied
 * (anonexcl), or waited out (the other schemes, see below), then the
 * table is taken again from that entry.
 */
static int copy_pte_range(struct mm_struct *dst_mm, struct mm_struct *src_mm,
			  struct vm_area_struct *vma, unsigned long addr,
			  unsigned long end, unsigned long *copied,
			  unsigned long *shared)
{
	struct folio *prealloc = NULL;
	int ret = 0;

	while (addr < end && !ret) {
		unsigned long tend = pmd_addr_end(addr, end);
		spinlock_t *src_ptl, *dst_ptl;
		pte_t *src_ptep, *dst_ptep;
		bool need_alloc = false;

		src_ptep = mm_find_pte(src_mm, addr, false, &src_ptl);
		if (!src_ptep) {
			addr = tend;	/* no table here: the next one */
			continue;
		}
		dst_ptep = mm_find_pte(dst_mm, addr, true, &dst_ptl);
		if (!dst_ptep) {
			ret = -ENOMEM;
			break;
		}
		spin_lock(src_ptl);
		spin_lock(dst_ptl);
		for (; addr < tend; addr += PAGE_SIZE, src_ptep++, dst_ptep++) {
			pte_t pte = ptep_get(src_ptep);
			struct folio *folio;
			struct page *page;

			if (pte_none(pte))
				continue;
			if (is_migration_entry(pte)) {
				/*
				 * Before PG_anon_exclusive, migration
				 * unmapped a pinned page too and learnt of
				 * the pin only at the refs compare; a fork
				 * that copied its entry made both readable, the
				 * failed migration put them back so, and
				 * the parent's next write COWed away from
				 * the pin (the fork_copies_mig_entry
				 * mutant). The model waits the entry out
				 * for those schemes (drops src_ptl; then
				 * this table again). The kernel never
				 * sleeps in the write section, so the wait
				 * is out of it: GUP-fast in this mm keeps
				 * its fast path meanwhile. The PTEs done
				 * so far are as fork leaves them, and a
				 * pin taken on one still to come is seen
				 * by its pinned check.
				 */
				if (!mm_scheme_has(src_mm, SF_ANON_EXCL) &&
				    !GUP_MUTANT(FORK_COPIES_MIG_ENTRY)) {
					spin_unlock(dst_ptl);
					raw_write_seqcount_end(
						&src_mm->write_protect_seq);
					migration_entry_wait_on_locked(
						page_folio(pte_page(pte)),
						src_ptl);
					raw_write_seqcount_begin(
						&src_mm->write_protect_seq);
					smp_mb();	/* as in mm_fork() */
					goto next_table;
				}
				/*
				 * copy_nonpresent_pte(): the child gets the
				 * entry (no reference: the entry holds none);
				 * in a COW mapping a writable or exclusive
				 * one becomes readable in both, as the
				 * present PTE would be write-protected (a
				 * pinned exclusive page never got an entry:
				 * folio_try_share_anon_rmap_pte() refused).
				 * remove_migration_ptes() finds the child's
				 * through the anon_vma chain.
				 */
				if (pte_val(pte) & (_SWP_MIG_WRITE |
						    _SWP_MIG_EXCL)) {
					pte = __pte(pte_val(pte) &
						    ~(_SWP_MIG_WRITE |
						      _SWP_MIG_EXCL));
					set_pte(src_ptep, pte);
				}
				set_pte(dst_ptep, pte);
				continue;
			}
			if (!pte_present(pte) || pte_special(pte))
				continue;
			page = pte_page(pte);
			folio = page_folio(page);
			folio_get(folio);
			if (folio_try_dup_anon_rmap(src_mm, folio, page)) {
				folio_put(folio);
				if (!prealloc) {
					need_alloc = true;	/* -EAGAIN */
					break;
				}
				copy_present_page(dst_mm, dst_ptep, vma,
						  prealloc, page, addr);
				prealloc = NULL;
				(*copied)++;
				continue;
			}
			mm_debug(src_mm, GUP_DP_FORK_CHECKED, addr);
			/*
			 * A copy allocated for this entry, which no longer
			 * needs one: freed, not kept for a later entry
			 * ("pre-alloc page cannot be reused by next time")
			 */
			if (prealloc) {
				folio_put(prealloc);
				prealloc = NULL;
			}
			/* COW mapping: write-protect parent and child */
			if (pte_write(pte)) {
				ptep_set_wrprotect(src_ptep);
				pte = pte_wrprotect(pte);
			}
			set_pte(dst_ptep, pte);
			(*shared)++;
		}
		spin_unlock(dst_ptl);
		spin_unlock(src_ptl);
		if (need_alloc) {
			prealloc = folio_alloc();
			if (!prealloc)
				ret = -ENOMEM;
		}
next_table:
		;
	}
	if (prealloc)
		folio_put(prealloc);
	return ret;
}

/*
 * copy_huge_pmd(): share the THP with the child, write-protected in
 * both, with a PTE table deposited for the child's leaf. A maybe-pinned
 * THP is not shared: the parent's PMD is split and -EAGAIN sends the
 * caller to copy_pte_range(), which copies the pinned subpages one by
 * one (5.9+: "split and retry the fault on PTEs").
 */
static int copy_huge_pmd(struct mm_struct *dst_mm, struct mm_struct *src_mm,
			 pmd_t *src_pmdp, unsigned long addr,
			 unsigned long *shared)
{
	pmd_t *dst_pmdp = mm_find_pmd(dst_mm, addr, true);
	spinlock_t *ptl = pmd_lockptr(src_pmdp);
	struct pt_table *pgtable;
	struct folio *folio;
	pmd_t pmd;

	if (!dst_pmdp)
		return -ENOMEM;
	pgtable = pte_alloc_one(dst_mm);
	if (!pgtable)
		return -ENOMEM;
	spin_lock(ptl);
	pmd = pmdp_get(src_pmdp);
	if (!pmd_leaf(pmd) || !pmd_present(pmd)) {
		spin_unlock(ptl);
		pte_free(dst_mm, pgtable);
		return pmd_leaf(pmd) ? 0 : -EAGAIN;
	}
	folio = page_folio(pmd_page(pmd));
	folio_get(folio);
	if (folio_try_dup_anon_rmap(src_mm, folio, &folio->page)) {
		folio_put(folio);
		spin_unlock(ptl);
		pte_free(dst_mm, pgtable);
		split_huge_pmd(src_mm, src_pmdp);
		return -EAGAIN;
	}
	pmdp_set_wrprotect(src_pmdp);
	pgtable_trans_huge_deposit(dst_pmdp, pgtable);
	set_pmd(dst_pmdp, __pmd(pmd_val(pmd) & ~_PAGE_RW));
	spin_unlock(ptl);
	(*shared) += HPAGE_PMD_NR;
	return 0;
}

/*
 * fork(): dup_mmap() under the parent's mmap_lock for write; every COW
 * VMA is copied inside write_protect_seq's write section so a
 * concurrent GUP-fast pin either sees the section or is seen by
 * folio_try_dup_anon_rmap (57efa1fe5957). Shared VMAs are not copied:
 * the child faults them in.
 */
struct mm_struct *mm_fork(struct mm_struct *parent, unsigned long *copied,
			  unsigned long *shared)
{
	struct mm_struct *child = mm_alloc(parent->scheme), *root, **pp;
	unsigned long c = 0, s = 0;
	int i, err = 0;

	if (!child)
		return NULL;
	mmap_write_lock(parent);
	/*
	 * anon_vma_fork(), before any PTE is copied: from here migration's
	 * rmap walks visit the child too. At the tail, in the order the
	 * anon_vma's interval tree visits VMAs of one range: older first
	 * (a walk holds the lock for read throughout, so none is under
	 * way while a child is added)
	 */
	root = anon_vma_root(parent);
	anon_vma_lock_write(root);
	child->anon_parent = root;
	child->anon_sibling = NULL;
	for (pp = &root->anon_children; *pp; pp = &(*pp)->anon_sibling)
		;
	*pp = child;
	anon_vma_unlock_write(root);
	child->nr_vmas = parent->nr_vmas;
	memcpy(child->vmas, parent->vmas,
	       parent->nr_vmas * sizeof(*parent->vmas));
	for (i = 0; i < parent->nr_vmas && !err; i++) {
		struct vm_area_struct *vma = &parent->vmas[i];
		unsigned long addr, next;

		if (vma->vm_flags & (VM_SHARED | VM_DEVMAP))
			continue;
		raw_write_seqcount_begin(&parent->write_protect_seq);
		/*
		 * Order the odd count before the pinned checks below: pairs
		 * with smp_mb__after_atomic() after GUP-fast's pin. The
		 * kernel gets this from the PT lock's atomic on x86.
		 */
		smp_mb();
		for (addr = vma->vm_start; addr < vma->vm_end && !err;
		     addr = next) {
			pmd_t *pmdp = mm_find_pmd(parent, addr, false);

			next = pmd_addr_end(addr, vma->vm_end);
			if (!pmdp || pmd_none(pmdp_get(pmdp)))
				continue;
			if (pmd_leaf(pmdp_get(pmdp))) {
				err = copy_huge_pmd(child, parent, pmdp, addr,
						    &s);
				if (err != -EAGAIN)
					continue;
			}
			err = copy_pte_range(child, parent, vma, addr, next,
					     &c, &s);
		}
		mm_debug(parent, GUP_DP_FORK_COPIED, vma->vm_start);
		raw_write_seqcount_end(&parent->write_protect_seq);
	}
	flush_tlb_mm(parent);	/* dup_mmap(): write-protected PTEs */
	mmap_write_unlock(parent);
	if (copied)
		*copied = c;
	if (shared)
		*shared = s;
	if (err) {
		mm_free(child);
		return NULL;
	}
	return child;
}

/* ---- migration ---- */

/*
 * folio_try_share_anon_rmap_pte(): before a PTE to an exclusive page is
 * replaced by a migration entry, make sure it is not pinned.
 */
static int folio_try_share_anon_rmap(struct mm_struct *mm, struct folio *folio,
				     struct page *page)
{
	/* pairs with smp_mb__after_atomic() in try_grab_folio_fast() */
	smp_mb();
	if (unlikely(mm_maybe_pinned(mm, folio)))
		return -EBUSY;
	clear_bit(PG_anon_exclusive, &page->flags);
	/* pairs with smp_rmb() in gup_must_unshare() */
	smp_mb__after_atomic();
	return 0;
}

/*
 * remove_migration_pte(): in @mm, where a migration entry to @from still
 * is, install @to with the entry's own bits (fork may have made a
 * writable entry readable). The new mapping's reference is taken before
 * the PTE is visible, under the PT lock, as mm/migrate.c does: once the
 * PTE is there a zap or a COW may drop that reference at any moment.
 */
static void remove_migration_pte(struct mm_struct *mm, unsigned long addr,
				 struct folio *from, struct folio *to)
{
	unsigned long prot = _PAGE_PRESENT;
	spinlock_t *ptl;
	pte_t *ptep;
	pte_t entry;

	ptep = mm_find_pte(mm, addr, false, &ptl);
	if (!ptep)
		return;
	spin_lock(ptl);
	entry = ptep_get(ptep);
	if (is_migration_entry(entry) && pte_page(entry) == &from->page) {
		if (pte_val(entry) & _SWP_MIG_WRITE)
			prot |= _PAGE_RW | _PAGE_DIRTY;
		if (pte_val(entry) & _SWP_MIG_EXCL)
			set_bit(PG_anon_exclusive, &to->page.flags);
		folio_get(to);
		atomic_inc(&to->page._mapcount);
		set_pte(ptep, pfn_pte(page_to_pfn(&to->page), prot));
	}
	spin_unlock(ptl);
}

/* remove_migration_ptes(): the rmap walk over @mm's anon_vma chain */
static void remove_migration_ptes(struct mm_struct *mm, unsigned long addr,
				  struct folio *from, struct folio *to)
{
	struct mm_struct *m;

	anon_vma_lock_read(mm);
	for_each_rmap_mm(m, anon_vma_root(mm))
		remove_migration_pte(m, addr, from, to);
	anon_vma_unlock_read(mm);
}

/*
 * try_to_migrate_one() in @mm: replace a PTE that maps @page with a
 * migration entry, moving its dirt to the folio and dropping its
 * mapcount and reference (1). An exclusive page that may be pinned keeps
 * its PTE (-EBUSY); a PTE that maps something else, or none, is left
 * alone (0). With @batch (MIGRATE_ASYNC's TTU_BATCH_FLUSH) the flush is
 * deferred: should_defer_flush() defers it when other CPUs run the mm,
 * and *@flush says one is owed (try_to_unmap_flush()). The exclusive
 * page's pin check needs no flush first: folio_try_share_anon_rmap()'s
 * barriers order it against GUP-fast's grab and recheck.
 */
static int try_to_migrate_one(struct mm_struct *mm, unsigned long addr,
			      struct folio *folio, struct page *page,
			      bool batch, bool *flush)
{
	bool excl = false;
	spinlock_t *ptl;
	pte_t *ptep;
	pte_t pte;

	ptep = mm_find_pte(mm, addr, false, &ptl);
	if (!ptep)
		return 0;
	spin_lock(ptl);
	pte = ptep_get(ptep);
	if (!pte_present(pte) || pte_page(pte) != page) {
		spin_unlock(ptl);
		return 0;
	}
	ptep_get_and_clear(ptep);
	if (!batch)
		flush_tlb_mm(mm);	/* ptep_clear_flush() */
	else if (READ_ONCE(mm->ipi_flush))
		*flush = true;		/* set_tlb_ubc_flush_pending() */
	/* the folio takes the PTE's dirt, and folio_migrate_flags() copies it */
	if (pte_dirty(pte))
		folio_mark_dirty(folio);
	if (mm_scheme_has(mm, SF_ANON_EXCL)) {
		excl = test_bit(PG_anon_exclusive, &page->flags);
		if (excl && folio_try_share_anon_rmap(mm, folio, page)) {
			set_pte(ptep, pte);
			spin_unlock(ptl);
			return -EBUSY;
		}
	}
	set_pte(ptep, __pte((page_to_pfn(page) << PTE_PFN_SHIFT) |
			    _SWP_MIGRATION |
			    (pte_write(pte) ? _SWP_MIG_WRITE : 0) |
			    (excl ? _SWP_MIG_EXCL : 0)));
	atomic_dec(&page->_mapcount);	/* folio_remove_rmap_pte() */
	folio_put(folio);		/* the mapping's reference */
	spin_unlock(ptl);
	return 1;
}

/*
 * try_to_migrate(): the rmap walk, @mm first, then the other mms of its
 * anon_vma chain that still share the page; it stops at the first PTE
 * that must stay (an exclusive page that may be pinned). True if @mm's
 * own PTE at @addr became a migration entry.
 */
static bool try_to_migrate(struct mm_struct *mm, unsigned long addr,
			   struct folio *folio, struct page *page, bool batch,
			   bool *flush)
{
	struct mm_struct *m;
	int here;

	anon_vma_lock_read(mm);
	here = try_to_migrate_one(mm, addr, folio, page, batch, flush);
	if (here >= 0) {
		for_each_rmap_mm(m, anon_vma_root(mm))
			if (m != mm && try_to_migrate_one(m, addr, folio, page,
							  batch, flush) < 0)
				break;
	}
	anon_vma_unlock_read(mm);
	return here > 0;
}

/* migrate_pages()' retry passes of one folio (mm/migrate.c) */
#define NR_MAX_MIGRATE_PAGES_RETRY	10
#define NR_MAX_MIGRATE_ASYNC_RETRY	3
#define NR_MAX_MIGRATE_SYNC_RETRY	\
	(NR_MAX_MIGRATE_PAGES_RETRY - NR_MAX_MIGRATE_ASYNC_RETRY)
#define MIGRATEPAGE_UNMAP		1

static bool folio_mapped(struct folio *folio)
{
	return atomic_read(folio_mapcount_ptr(folio)) >= 0;
}

/*
 * migrate_folio_unmap(): 0 if only the isolation's reference is left
 * (the folio was freed under us: done), MIGRATEPAGE_UNMAP with *@dst
 * allocated and locked and the folio locked and mapped nowhere, or
 * -EAGAIN with everything put back (a lock not got with @trylock, a PTE
 * that stayed). Each attempt allocates its own destination, as
 * get_new_folio() does.
 */
static int migrate_folio_unmap(struct mm_struct *mm, unsigned long addr,
			       struct folio *folio, struct page *page,
			       bool trylock, bool batch, struct folio **dstp,
			       bool *was_mapped, bool *flush)
{
	struct folio *dst;

	if (folio_ref_count(folio) == 1)
		return 0;
	dst = folio_alloc();
	if (!dst)
		return -ENOMEM;
	if (!folio_trylock(folio)) {
		if (trylock)
			goto out_put_dst;
		folio_lock(folio);
	}
	/*
	 * Lock the destination before it can be mapped: the remap installs
	 * PTEs to a locked folio and only the end of the move unlocks it, so
	 * a page-lock pinner that finds the new PTE in between backs off to
	 * the slow path.
	 */
	if (unlikely(!folio_trylock(dst)))
		goto out_unlock;
	*was_mapped = folio_mapped(folio);
	if (*was_mapped &&
	    try_to_migrate(mm, addr, folio, page, batch, flush))
		mm_debug(mm, GUP_DP_MIGRATE_UNMAPPED, addr);
	if (!folio_mapped(folio)) {
		*dstp = dst;
		return MIGRATEPAGE_UNMAP;
	}
	/* migrate_folio_undo_src(): a PTE stayed (maybe pinned, exclusive) */
	remove_migration_ptes(mm, addr, folio, folio);
	folio_unlock(dst);
out_unlock:
	folio_unlock(folio);
out_put_dst:
	folio_put(dst);
	return -EAGAIN;
}

/*
 * migrate_folio_move(): folio_migrate_mapping() wants only the isolation's
 * reference (-EAGAIN otherwise, the folio left unmapped for the next
 * pass), then the copy and the remap of every mm that mapped it. An
 * order-0 anon folio has no mapping to freeze it under: its count is
 * only compared. Every PTE is a migration entry by now, written by a
 * fully ordered xchg (ptep_get_and_clear()), and GUP-fast's grab is
 * fully ordered before its PTE recheck: either the recheck sees the
 * entry and the grab is undone, or the compare sees the grab. That holds
 * with no flush at all (mm->ipi_flush false: the tests, torture); the
 * flush, where there is one, only makes the grab finish first. A pin
 * has no other way in: the slow path waits on the entry.
 */
static int migrate_folio_move(struct mm_struct *mm, unsigned long addr,
			      struct folio *folio, struct page *page,
			      struct folio *dst, bool was_mapped)
{
	if (!GUP_MUTANT(MIGRATE_IGNORES_REFS) && folio_ref_count(folio) != 1)
		return -EAGAIN;
	mm_debug(mm, GUP_DP_MIGRATE_CHECKED, addr);
	copy_highpage(&dst->page, page);	/* folio_migrate_copy() */
	WRITE_ONCE(dst->page.mapping, READ_ONCE(page->mapping));
	dst->page.index = page->index;
	set_bit(PG_anon, folio_flags(dst));
	clear_bit(PG_anon_exclusive, &dst->page.flags);
	if (test_bit(PG_dirty, &page->flags))
		set_bit(PG_dirty, folio_flags(dst));
	if (folio_test_referenced(folio))
		folio_set_referenced(dst);
	if (test_bit(PG_active, folio_flags(folio)))
		set_bit(PG_active, folio_flags(dst));
	__folio_mark_uptodate(dst);		/* folio_migrate_flags() */
	folio_add_lru(dst);
	if (was_mapped) {
		remove_migration_ptes(mm, addr, folio, dst);
		mm_debug(mm, GUP_DP_MIGRATE_REMAPPED, addr);
	}
	folio_unlock(dst);
	folio_put(dst);		/* the allocation's ref (putback) */
	folio_unlock(folio);
	return 0;
}

/*
 * migrate_pages_batch() of one folio: up to @nr_pass unmap attempts
 * (@trylock: MIGRATE_ASYNC's folio_trylock(); @batch: its deferred
 * flush), the deferred flush, then up to @nr_pass moves, each pass
 * straight after the one before (cond_resched()); the folio stays
 * unmapped between moves. A folio still not moved gets its PTEs back.
 * With @nr_pass 1 and no @batch it is one pass of unmap_and_move()
 * before 6.3: unmap, flush, one compare, remap.
 */
static int migrate_pages_batch(struct mm_struct *mm, unsigned long addr,
			       struct folio *folio, struct page *page,
			       bool trylock, bool batch, int nr_pass)
{
	bool was_mapped = false, flush = false;
	struct folio *dst = NULL;
	int pass, rc = -EAGAIN;

	for (pass = 0; pass < nr_pass && rc == -EAGAIN; pass++) {
		rc = migrate_folio_unmap(mm, addr, folio, page, trylock,
					 batch, &dst, &was_mapped, &flush);
		if (rc == -EAGAIN)
			mm_debug(mm, GUP_DP_MIGRATE_RETRY, addr);
	}
	if (flush)
		tlb_remove_table_sync_one();	/* try_to_unmap_flush() */
	if (rc != MIGRATEPAGE_UNMAP)
		return rc;
	for (pass = 0; pass < nr_pass; pass++) {
		rc = migrate_folio_move(mm, addr, folio, page, dst,
					was_mapped);
		if (rc != -EAGAIN)
			return rc;
		mm_debug(mm, GUP_DP_MIGRATE_RETRY, addr);
	}
	/* migrate_folio_undo_src()/_dst(): the PTEs map the old folio again */
	if (was_mapped) {
		remove_migration_ptes(mm, addr, folio, folio);
		mm_debug(mm, GUP_DP_MIGRATE_RESTORED, addr);
	}
	folio_unlock(dst);
	folio_put(dst);
	folio_unlock(folio);
	return -EAGAIN;
}

/*
 * migrate_pages(MIGRATE_SYNC) for the order-0 anon folio mapped at
 * @addr: isolate under mmap_lock (queue_pages_range()), then, with
 * mmap_lock dropped as migrate_to_node() (6.7+) and compaction do, the
 * passes of the scheme's era. anonexcl (6.3+, migrate_pages_sync()):
 * NR_MAX_MIGRATE_ASYNC_RETRY passes in MIGRATE_ASYNC mode (the source
 * only trylocked, the unmap's TLB flush batched), then, if the folio is
 * still there, NR_MAX_MIGRATE_SYNC_RETRY passes in MIGRATE_SYNC
 * (folio_lock(), a flush per PTE), the folio unmapped from the first
 * move of a batch to the last; a maybe-pinned exclusive page fails each
 * unmap (folio_try_share_anon_rmap()). The schemes before the exclusive
 * bit (unmap_and_move() before 6.3): NR_MAX_MIGRATE_PAGES_RETRY passes
 * of one unmap, flush, compare and remap each, the first three only
 * trylocking; a pinned page is unmapped and remapped at each (6.3's
 * batching keeps a page unmapped across its failed moves, which only
 * the exclusive bit's pin check before the unmap makes bearable). A
 * pinned folio fails (-EAGAIN) after every pass with its PTEs back.
 * Without
 * mmap_lock the PTE is found again, under the anon_vma lock, for each
 * unmap and remap, as the kernel's rmap walks find it: a collapse may
 * have taken the table away meanwhile. The walks visit the mms forked
 * from @mm too (their PTEs that still share the page are unmapped and
 * remapped with @mm's), and a fork while the entry is in place copies
 * it. Returns 0 when the folio was moved, or freed under us; -EFAULT
 * for an address in no VMA or in one that cannot migrate (DAX); -EBUSY
 * when it is not an order-0 anon page mapped at @addr, or another
 * migration holds it isolated; -EAGAIN when every pass failed; -ENOMEM.
 */
int mm_migrate_page(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;
	struct folio *folio;
	struct page *page;
	spinlock_t *ptl;
	pte_t *ptep;
	pte_t pte;
	int pass, rc;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	/*
	 * move_pages(2)' add_page_for_migration() and migrate_pages(2)' walk
	 * skip a VMA that vma_migratable() refuses (a DAX one among them)
	 * before they look at a PTE
	 */
	if (!vma || (vma->vm_flags & VM_DEVMAP)) {
		mmap_read_unlock(mm);
		return -EFAULT;
	}
	ptep = mm_find_pte(mm, addr, false, &ptl);
	if (!ptep) {
		mmap_read_unlock(mm);
		return -EBUSY;	/* not mapped, or a THP: not modelled */
	}
	spin_lock(ptl);
	pte = ptep_get(ptep);
	/* a PTE-mapped THP: large folio migration is not modelled */
	if (!pte_present(pte) || pte_special(pte) ||
	    !folio_test_anon(page_folio(pte_page(pte))) ||
	    folio_test_large(page_folio(pte_page(pte))))
		goto busy;
	page = pte_page(pte);
	folio = page_folio(page);
	/*
	 * another migration has it isolated: move_pages(2) reports -EBUSY
	 * for the page (migrate_pages(2) counts it as not migrated)
	 */
	if (!folio_isolate_lru(folio))
		goto busy;
	spin_unlock(ptl);
	mmap_read_unlock(mm);

	if (mm_scheme_has(mm, SF_ANON_EXCL)) {
		/* migrate_pages_sync() (6.3+) */
		rc = migrate_pages_batch(mm, addr, folio, page, true, true,
					 NR_MAX_MIGRATE_ASYNC_RETRY);
		if (rc == -EAGAIN)
			rc = migrate_pages_batch(mm, addr, folio, page, false,
						 false,
						 NR_MAX_MIGRATE_SYNC_RETRY);
	} else {
		/*
		 * before 6.3: NR_MAX_MIGRATE_PAGES_RETRY passes of
		 * unmap_and_move(), the first three without force (the
		 * source only trylocked); each unmaps, flushes, compares
		 * once and remaps, so a pinned page is mapped again
		 * between passes
		 */
		rc = -EAGAIN;
		for (pass = 0; pass < NR_MAX_MIGRATE_PAGES_RETRY &&
		     rc == -EAGAIN; pass++)
			rc = migrate_pages_batch(mm, addr, folio, page,
						 pass <= 2, false, 1);
	}
	if (rc)
		folio_putback_lru(folio);	/* putback_movable_pages() */
	else
		folio_put(folio);	/* the isolation ref: frees it */
	return rc;

busy:
	spin_unlock(ptl);
	mmap_read_unlock(mm);
	return -EBUSY;
}

/* ---- writeback ---- */

/*
 * Writeback of the page at @addr of a shared mapping, as
 * write_cache_pages() does it for one folio in the background
 * (WB_SYNC_NONE): lock it; skip it if it is still under writeback
 * (folio_prepare_writeback()); folio_clear_dirty_for_io(), whose
 * folio_mkclean() write-protects and cleans the PTE; then
 * __folio_start_writeback() and unlock. Returns 1 if the folio was
 * (maybe) pinned when its writeback started, 0 if not (always 0 with
 * mm->wb_no_pin_query), or -errno:
 * -ENODATA for a clean folio, which writeback's dirty-tag lookup would
 * not have found (nothing is locked or counted), or which another
 * writeback cleaned before this one got the page lock (nothing written);
 * -EBUSY for a folio still under writeback (skipped). Pins are not
 * consulted: that is the unsolved race of §3.11. PTE-mapped pages only:
 * page_vma_mkclean_one()'s PMD branch is not modelled. No mmap_lock:
 * writeback reaches the VMA through the file's rmap (i_mmap_rwsem), not
 * through the mm; here vmas[] is fixed before any walker starts and
 * VM_SHARED, the one flag read, never changes (madvise refuses shared).
 *
 * On success the folio stays under PG_writeback with the reference taken
 * here until folio_end_writeback(): the I/O's time. With @wb NULL it
 * ends at once (mm_mkclean_page()). A device (fsdax) page has no I/O:
 * *@wb is NULL.
 */
int mm_writeback_start(struct mm_struct *mm, unsigned long addr,
		       struct folio **wb, void (*poll)(void *arg), void *arg)
{
	struct vm_area_struct *vma = vma_lookup(mm, addr);
	struct folio *folio;
	struct page *page;
	spinlock_t *ptl;
	pte_t *ptep;
	pte_t pte;
	bool dax, tagged = false;
	int pinned;

	if (!vma || !(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	/*
	 * filemap_get_folios_tag(PAGECACHE_TAG_DIRTY): dirty folios only
	 * (PG_dirty, or a dirty PTE that folio_mkclean() will move to it).
	 * A device (fsdax) page's entry is tagged by its write fault and
	 * cleaned by dax_writeback_one(), neither of which looks at
	 * PG_dirty: its dirty PTE stands for the tag here (so a zap, which
	 * keeps the kernel's tag, drops the model's).
	 */
	page = mm_lookup_page(mm, addr, &pte);
	if (page && !pte_dirty(pte) &&
	    (test_bit(PG_device, folio_flags(page_folio(page))) ||
	     !folio_test_dirty(page_folio(page))))
		return -ENODATA;
	folio = spec_get_folio(mm, addr);	/* the page cache's ref */
	if (!folio)
		return -EAGAIN;
	dax = test_bit(PG_device, folio_flags(folio));
	if (poll) {
		/*
		 * A page-lock holder may be waiting for an I/O of the
		 * caller's (pagelock's slow path, a stable-page write
		 * fault): complete them while waiting, as the interrupt
		 * would.
		 */
		while (!folio_trylock(folio)) {
			/* reading the lock word, not taking it, between tries */
			do {
				poll(arg);
				cpu_relax();
			} while (test_bit(PG_locked, folio_flags(folio)));
		}
	} else {
		folio_lock(folio);
	}
	mm_debug(mm, GUP_DP_MKCLEAN_LOCKED, addr);
	if (test_bit(PG_writeback, folio_flags(folio))) {
		/* WB_SYNC_NONE: not waited for; the next pass takes it */
		folio_unlock(folio);
		folio_put(folio);
		return -EBUSY;
	}

	ptep = mm_find_pte(mm, addr, false, &ptl);
	if (ptep) {
		spin_lock(ptl);
		pte = ptep_get(ptep);
		if (pte_present(pte) && pte_page(pte) == &folio->page &&
		    (pte_write(pte) || pte_dirty(pte))) {
			ptep_get_and_clear(ptep);	/* ptep_clear_flush() */
			flush_tlb_mm(mm);
			set_pte(ptep, pte_mkclean(pte_wrprotect(pte)));
			/*
			 * folio_mkclean() counts a dirty or writable PTE;
			 * DAX: the tag, written by a dirtying write fault
			 */
			tagged = !dax || pte_dirty(pte);
		}
		spin_unlock(ptl);
	}
	/*
	 * folio_clear_dirty_for_io(): if (folio_mkclean()) folio_mark_dirty(),
	 * then test and clear PG_dirty; DAX: the tag alone
	 */
	if (!dax && tagged)
		folio_mark_dirty(folio);
	if (dax ? !tagged : !test_and_clear_bit(PG_dirty, folio_flags(folio))) {
		/* folio_clear_dirty_for_io() false: another writeback won */
		folio_unlock(folio);
		folio_put(folio);
		return -ENODATA;
	}
	/*
	 * fsdax: dax_writeback_one() flushes the CPU caches (under the DAX
	 * entry lock, here the page lock): no PG_writeback, no I/O to wait
	 * for
	 */
	if (!dax)
		folio_start_writeback(folio);
	else
		pmem_flush_cost();
	/* the caller's question (tests, torture): writeback never asks */
	pinned = mm->wb_no_pin_query ? 0 : mm_maybe_pinned(mm, folio);
	folio_unlock(folio);
	if (dax) {
		folio_put(folio);
		if (wb)
			*wb = NULL;
		return pinned;
	}
	/*
	 * The writeback keeps the lookup's reference until it ends, where
	 * the kernel's folio_batch_release() drops it once the batch is
	 * submitted and the I/O holds none (truncation waits for
	 * PG_writeback instead): the same RMWs on _refcount, the put later.
	 * Nothing that counts references looks at shared pages here
	 * (migration, collapse and COW reuse are anon-only); a model of
	 * file-page migration must not read this one as a pin.
	 */
	if (wb)
		*wb = folio;			/* the I/O is in flight */
	else
		folio_end_writeback(folio);	/* and done */
	return pinned;
}

/* Writeback whose I/O completes at once. */
int mm_mkclean_page(struct mm_struct *mm, unsigned long addr)
{
	return mm_writeback_start(mm, addr, NULL, NULL, NULL);
}

/* ---- zap ---- */

/*
 * tlb_finish_mmu()/tlb_flush_mmu(): flush (unless the caller did, under
 * the PT lock), then free what was gathered
 */
static void zap_flush(struct mm_struct *mm, struct folio **batch,
		      unsigned int *nr, bool flushed)
{
	unsigned int i;

	if (!*nr)
		return;		/* nothing was mapped: nothing to flush */
	if (!flushed)
		flush_tlb_mm(mm);
	for (i = 0; i < *nr; i++)
		folio_put(batch[i]);
	*nr = 0;
}

/* a table's worth (the kernel's mmu_gather holds thousands) */
#define ZAP_BATCH	PTRS_PER_TABLE

/*
 * zap_pte_range()/zap_huge_pmd(): clear each entry and drop its rmap
 * under the table's (or the PMD's) lock, taken once per table, gather
 * the folios, and drop the mappings' references after the TLB flush
 * (mmu_gather). A gather that fills mid-table flushes before the lock
 * goes, then frees (force_flush). A pin keeps the folio allocated; it is
 * simply no longer mapped.
 */
void mm_zap_range(struct mm_struct *mm, unsigned long addr, unsigned long len)
{
	unsigned long end = addr + len;
	struct folio *batch[ZAP_BATCH];
	unsigned int nr = 0;
	bool flushed;

	mmap_read_lock(mm);
	while (addr < end) {
		pmd_t *pmdp = mm_find_pmd(mm, addr, false);
		struct folio *folio = NULL;
		spinlock_t *ptl;
		pte_t *ptep;
		pte_t pte;

		if (!pmdp) {
			addr = (addr + PMD_SIZE) & ~(PMD_SIZE - 1);
			continue;
		}
		if (pmd_leaf(pmdp_get(pmdp))) {
			struct pt_table *pgtable;

			/* zap_pmd_range(): part of a THP: split it first */
			if ((addr & (PMD_SIZE - 1)) || end - addr < PMD_SIZE) {
				split_huge_pmd(mm, pmdp);
				continue;	/* now a PTE table */
			}
			/* zap_huge_pmd(): still a leaf under the lock? */
			ptl = pmd_lockptr(pmdp);
			spin_lock(ptl);
			if (!pmd_leaf(pmdp_get(pmdp))) {
				spin_unlock(ptl);
				continue;	/* zapped, maybe a PTE table now */
			}
			pte = __pte(xchg(&pmdp->pmd, 0UL));
			if (pte_present(pte)) {
				folio = page_folio(pte_page(pte));
				/* folio_remove_rmap_pmd() */
				atomic_dec(folio_mapcount_ptr(folio));
			}
			/* zap_deposited_table() */
			pgtable = pgtable_trans_huge_withdraw(pmdp);
			spin_unlock(ptl);
			if (pgtable)
				pte_free(mm, pgtable);
			addr = (addr + PMD_SIZE) & ~(PMD_SIZE - 1);
		} else {
			unsigned long tend = pmd_addr_end(addr, end);

			ptep = mm_find_pte(mm, addr, false, &ptl);
			if (!ptep) {
				addr = tend;
				continue;
			}
			/*
			 * zap_pte_range(): the table's lock once, every
			 * entry of the range under it, until the gather is
			 * full (force_flush: flush, unlock, free, go on)
			 */
			spin_lock(ptl);
			for (; addr < tend && nr < ZAP_BATCH;
			     addr += PAGE_SIZE, ptep++) {
				if (pte_none(ptep_get(ptep)))
					continue;
				pte = ptep_get_and_clear(ptep);
				if (!pte_present(pte))
					continue;	/* a migration entry */
				folio = page_folio(pte_page(pte));
				atomic_dec(folio_mapcount_ptr(folio));
				batch[nr++] = folio;
			}
			flushed = nr == ZAP_BATCH;
			if (flushed)
				flush_tlb_mm(mm);
			spin_unlock(ptl);
			if (flushed)
				zap_flush(mm, batch, &nr, true);
			continue;
		}
		if (folio) {
			batch[nr++] = folio;
			if (nr == ZAP_BATCH)
				zap_flush(mm, batch, &nr, false);
		}
	}
	zap_flush(mm, batch, &nr, false);
	mmap_read_unlock(mm);
}

/* ---- khugepaged: collapse of an anon PMD range into a new THP ---- */

static atomic_long_t thp_collapse_count;

unsigned long thp_collapse_events(void)
{
	return (unsigned long)atomic_long_read(&thp_collapse_count);
}

/* is_refcount_suitable() for an anon folio: a reference per mapping. */
static bool is_refcount_suitable(struct folio *folio)
{
	return folio_ref_count(folio) ==
	       atomic_read(folio_mapcount_ptr(folio)) + 1;
}

/* How many entries of @table map a subpage of the large @folio. */
static int table_maps_folio(struct pt_table *table, struct folio *folio)
{
	int i, n = 0;

	for (i = 0; i < PTRS_PER_TABLE; i++) {
		pte_t pte = ptep_get((pte_t *)&table->e[i]);

		n += pte_present(pte) && page_folio(pte_page(pte)) == folio;
	}
	return n;
}

struct collapse_large {
	struct folio *folio;	/* the last large folio seen */
	int maps;		/* its entries in the table */
};

/*
 * The checks hpage_collapse_scan_pmd() and __collapse_huge_page_isolate()
 * share, for the page one PTE maps (none: 0 and *foliop NULL): present,
 * a normal anon page, not mapped by another mm (the model's one-mm rmap
 * cannot move another mm's mapping; MADV_COLLAPSE would collapse it).
 * The lock and the reference count are checked by each caller in its
 * own way. Returns 0 or MADV_COLLAPSE's errno for the SCAN_*.
 */
static int collapse_check_pte(struct pt_table *table, pte_t pte,
			      struct folio **foliop,
			      struct collapse_large *large)
{
	struct folio *folio;
	int maps = 1;

	*foliop = NULL;
	if (pte_none(pte))
		return 0;
	if (!pte_present(pte))
		return -EINVAL;		/* SCAN_PTE_NON_PRESENT */
	if (pte_special(pte) || pte_devmap(pte))
		return -EINVAL;		/* SCAN_PAGE_NULL */
	folio = page_folio(pte_page(pte));
	if (!folio_test_anon(folio))
		return -EINVAL;		/* SCAN_PAGE_ANON */
	if (folio_test_large(folio)) {
		if (large->folio != folio) {
			large->folio = folio;
			large->maps = table_maps_folio(table, folio);
		}
		maps = large->maps;
	}
	if (atomic_read(folio_mapcount_ptr(folio)) + 1 != maps)
		return -EINVAL;		/* mapped shared */
	*foliop = folio;
	return 0;
}

/* hugepage_vma_revalidate() + find_pmd_or_thp_or_none(), mmap_lock held. */
static int collapse_find_pmd(struct mm_struct *mm, unsigned long haddr,
			     pmd_t **pmdpp)
{
	struct vm_area_struct *vma = vma_lookup(mm, haddr);
	pmd_t pmd;

	if (!vma || (vma->vm_flags & (VM_SHARED | VM_DEVMAP)) ||
	    !(vma->vm_flags & VM_HUGEPAGE) || vma->vm_start > haddr ||
	    vma->vm_end < haddr + PMD_SIZE)
		return -EINVAL;		/* SCAN_VMA_CHECK */
	*pmdpp = mm_find_pmd(mm, haddr, false);
	if (!*pmdpp)
		return -EINVAL;		/* SCAN_PMD_NULL */
	pmd = pmdp_get(*pmdpp);
	if (pmd_leaf(pmd))
		return 1;		/* SCAN_PMD_MAPPED: done already */
	if (!entry_is_table(pmd_val(pmd)))
		return -EINVAL;		/* SCAN_PMD_NONE */
	return 0;
}

/* hpage_collapse_scan_pmd(), mmap_lock held for read. */
static int collapse_scan(struct mm_struct *mm, unsigned long haddr)
{
	struct collapse_large large = { NULL, 0 };
	struct pt_table *table;
	bool writable = false;
	spinlock_t *ptl;
	pmd_t *pmdp;
	int i, rc;

	rc = collapse_find_pmd(mm, haddr, &pmdp);
	if (rc)
		return rc;
	table = entry_table(pmd_val(pmdp_get(pmdp)));
	ptl = &table->ptl;
	spin_lock(ptl);
	for (i = 0; i < PTRS_PER_TABLE && !rc; i++) {
		pte_t pte = ptep_get((pte_t *)&table->e[i]);
		struct folio *folio;

		rc = collapse_check_pte(table, pte, &folio, &large);
		if (!folio)
			continue;
		writable |= pte_write(pte);
		/* no pin, no GUP or speculative ref (a racy first look) */
		if (!test_bit(PG_lru, folio_flags(folio)))
			rc = -EAGAIN;	/* SCAN_PAGE_LRU: isolated */
		else if (folio_test_locked(folio))
			rc = -EAGAIN;	/* SCAN_PAGE_LOCK */
		else if (!is_refcount_suitable(folio))
			rc = -EAGAIN;	/* SCAN_PAGE_COUNT */
	}
	spin_unlock(ptl);
	if (!rc && !writable)
		rc = -EINVAL;		/* SCAN_PAGE_RO */
	return rc;
}

/* release_pte_pages(): unlock and put back what the isolation took. */
static void release_pte_folios(struct folio **isolated, int n)
{
	while (n--) {
		folio_unlock(isolated[n]);
		folio_putback_lru(isolated[n]);
	}
}

/*
 * __collapse_huge_page_isolate(), on the table collapse took out of the
 * page tables, its PT lock held: each folio once, locked
 * (folio_trylock()), its references checked again, and one reference
 * taken for the LRU isolation. This check is what keeps a pinned page
 * from being collapsed, and it is sound only because no GUP-fast can
 * still be taking a reference through the old PMD. *nr is set to the
 * folios isolated; @old_pfn (if not NULL) gets each PTE's pfn.
 */
static int collapse_isolate(struct pt_table *table, struct folio **isolated,
			    int *nr, unsigned long *old_pfn)
{
	struct collapse_large large = { NULL, 0 };
	bool writable = false;
	int i, j, rc = 0;

	*nr = 0;
	for (i = 0; i < PTRS_PER_TABLE; i++) {
		pte_t pte = ptep_get((pte_t *)&table->e[i]);
		struct folio *folio;

		if (old_pfn)
			old_pfn[i] = pte_present(pte) ? pte_pfn(pte) : 0;
		folio = pte_present(pte) && !pte_special(pte) ?
			page_folio(pte_page(pte)) : NULL;
		if (folio && folio_test_large(folio)) {
			for (j = *nr - 1; j >= 0 && isolated[j] != folio; j--)
				;
			if (j >= 0) {	/* a large folio isolated already */
				writable |= pte_write(pte);
				continue;
			}
		}
		rc = collapse_check_pte(table, pte, &folio, &large);
		if (rc)
			break;
		if (!folio)
			continue;
		writable |= pte_write(pte);
		if (!folio_trylock(folio)) {
			rc = -EAGAIN;	/* SCAN_PAGE_LOCK */
			break;
		}
		if (!is_refcount_suitable(folio)) {
			folio_unlock(folio);
			rc = -EAGAIN;	/* SCAN_PAGE_COUNT */
			break;
		}
		if (!folio_isolate_lru(folio)) {
			folio_unlock(folio);
			rc = -EAGAIN;	/* SCAN_DEL_PAGE_LRU */
			break;
		}
		isolated[(*nr)++] = folio;
	}
	if (!rc && !writable)
		rc = -EINVAL;		/* SCAN_PAGE_RO */
	if (rc) {
		release_pte_folios(isolated, *nr);
		*nr = 0;
	}
	return rc;
}

/*
 * __collapse_huge_page_copy() and _copy_succeeded(): copy each page into
 * the new THP (a none PTE leaves its subpage zeroed), then drop the old
 * pages: a small folio is unlocked and put back first, then its PTE is
 * cleared and its mapping's reference dropped; a large one is unlocked
 * and put back after all its PTEs are gone.
 */
static void collapse_copy(struct mm_struct *mm, unsigned long haddr,
			  struct pt_table *table, struct folio *folio,
			  struct folio **isolated, int nr)
{
	int i;

	for (i = 0; i < PTRS_PER_TABLE; i++) {
		pte_t pte = ptep_get((pte_t *)&table->e[i]);

		if (!pte_none(pte))
			copy_highpage(folio_page(folio, i), pte_page(pte));
	}
	mm_debug(mm, GUP_DP_COLLAPSE_COPIED, haddr);
	for (i = 0; i < PTRS_PER_TABLE; i++) {
		pte_t pte = ptep_get((pte_t *)&table->e[i]);
		struct folio *src;

		if (pte_none(pte))
			continue;
		src = page_folio(pte_page(pte));
		if (!folio_test_large(src)) {
			folio_unlock(src);	/* release_pte_folio() */
			folio_putback_lru(src);
		}
		spin_lock(&table->ptl);
		ptep_get_and_clear((pte_t *)&table->e[i]);
		atomic_dec(folio_mapcount_ptr(src)); /* folio_remove_rmap_pte() */
		spin_unlock(&table->ptl);
		folio_put(src);		/* free_page_and_swap_cache() */
	}
	for (i = 0; i < nr; i++)
		if (folio_test_large(isolated[i])) {
			folio_unlock(isolated[i]);
			folio_putback_lru(isolated[i]);
		}
}

/*
 * madvise(MADV_COLLAPSE) of the PMD range around @addr, anon and
 * VM_HUGEPAGE (mm/khugepaged.c: hpage_collapse_scan_pmd(), then
 * collapse_huge_page()). Scan under mmap_lock for read, allocate the THP
 * without it, then under mmap_lock for write and the anon_vma lock:
 * pmdp_collapse_flush() clears the PMD, tlb_remove_table_sync_one() waits
 * for every GUP-fast walk that may still be reading through it
 * (2ba99c5e0881), the pages are isolated; a failure puts the PMD back.
 * Then the pages are copied, their PTEs cleared in the old table, and the
 * new THP is mapped by a PMD leaf with the old table deposited for a
 * later split. A walker already past its PMD read backs off by the PMD
 * recheck (70cbc3cc78a9). Returns 0 (also if a PMD maps the range
 * already), -EAGAIN (a page is pinned, referenced or locked), -ENOMEM
 * (no THP) or -EINVAL (the range cannot be collapsed). @old_pfn, if not
 * NULL, gets the pfn each PTE mapped (HPAGE_PMD_NR entries).
 */
int mm_collapse_huge_page(struct mm_struct *mm, unsigned long addr,
			  unsigned long *old_pfn)
{
	unsigned long haddr = addr & ~(PMD_SIZE - 1);
	struct folio *isolated[HPAGE_PMD_NR];
	struct vm_area_struct *vma;
	struct pt_table *table;
	struct folio *folio;
	spinlock_t *pmd_ptl;
	pmd_t *pmdp;
	pmd_t _pmd;
	int rc, nr;

	mmap_read_lock(mm);
	rc = collapse_scan(mm, haddr);
	mmap_read_unlock(mm);
	if (rc)
		return rc < 0 ? rc : 0;
	folio = folio_alloc_thp();	/* alloc_charge_folio() */
	if (!folio)
		return -ENOMEM;

	mmap_write_lock(mm);
	rc = collapse_find_pmd(mm, haddr, &pmdp);
	if (rc)
		goto out_up_write;
	anon_vma_lock_write(mm);
	pmd_ptl = pmd_lockptr(pmdp);
	spin_lock(pmd_ptl);
	_pmd = __pmd(xchg(&pmdp->pmd, 0UL));	/* pmdp_collapse_flush() */
	flush_tlb_mm(mm);		/* its flush_tlb_range() */
	spin_unlock(pmd_ptl);
	if (!GUP_MUTANT(NO_PMD_RECHECK))
		tlb_remove_table_sync_one();
	mm_debug(mm, GUP_DP_COLLAPSE_CLEARED, haddr);

	table = entry_table(pmd_val(_pmd));
	spin_lock(&table->ptl);
	rc = collapse_isolate(table, isolated, &nr, old_pfn);
	spin_unlock(&table->ptl);
	if (rc) {
		spin_lock(pmd_ptl);
		WARN_ON_ONCE(!pmd_none(pmdp_get(pmdp)));
		/* pmd_populate(): the old table, as it was */
		smp_store_release(&pmdp->pmd, pmd_val(_pmd));
		spin_unlock(pmd_ptl);
		anon_vma_unlock_write(mm);
		goto out_up_write;
	}
	/* all pages isolated and locked: the rmap cannot reach them */
	anon_vma_unlock_write(mm);

	collapse_copy(mm, haddr, table, folio, isolated, nr);
	WRITE_ONCE(folio->page.mapping, (void *)mm);
	folio->page.index = haddr >> PAGE_SHIFT;
	set_bit(PG_anon, folio_flags(folio));
	mm_set_anon_exclusive(mm, &folio->page);	/* RMAP_EXCLUSIVE */
	__folio_mark_uptodate(folio);	/* the copy before the PMD */
	folio_add_lru(folio);		/* folio_add_lru_vma() */
	vma = vma_lookup(mm, haddr);
	spin_lock(pmd_ptl);
	WARN_ON_ONCE(!pmd_none(pmdp_get(pmdp)));
	atomic_inc(folio_mapcount_ptr(folio));	/* folio_add_new_anon_rmap() */
	pgtable_trans_huge_deposit(pmdp, table);
	set_pmd(pmdp, __pmd((page_to_pfn(&folio->page) << PTE_PFN_SHIFT) |
			    _PAGE_PRESENT | _PAGE_PSE | _PAGE_DIRTY |
			    ((vma->vm_flags & VM_WRITE) ? _PAGE_RW : 0)));
	spin_unlock(pmd_ptl);
	folio = NULL;		/* its reference is the PMD's */
	atomic_long_add(1, &thp_collapse_count);
out_up_write:
	mmap_write_unlock(mm);
	if (folio)
		folio_put(folio);
	return rc < 0 ? rc : 0;
}

/* ---- mprotect ---- */

/*
 * mprotect(PROT_READ) of the whole VMA [addr, addr + len) (no VMA split
 * is modelled): VM_WRITE goes, and change_protection() write-protects
 * every present PTE and PMD leaf under its lock. Anon pages keep
 * PG_anon_exclusive: a R/O pin of them passes gup_must_unshare() in
 * GUP-fast, which now runs, since the PTEs are read-only.
 */
int mm_mprotect_ro(struct mm_struct *mm, unsigned long addr,
		   unsigned long len)
{
	struct vm_area_struct *vma;
	unsigned long end = addr + len;

	mmap_write_lock(mm);
	vma = vma_lookup(mm, addr);
	if (!vma || vma->vm_start != addr || vma->vm_end != end) {
		mmap_write_unlock(mm);
		return -EINVAL;
	}
	vma->vm_flags &= ~VM_WRITE;
	while (addr < end) {
		unsigned long next = pmd_addr_end(addr, end);
		pmd_t *pmdp = mm_find_pmd(mm, addr, false);
		spinlock_t *ptl;
		pte_t *ptep;

		if (pmdp && pmd_leaf(pmdp_get(pmdp))) {
			/* change_huge_pmd() */
			ptl = pmd_lockptr(pmdp);
			spin_lock(ptl);
			if (pmd_leaf(pmdp_get(pmdp)))
				pmdp_set_wrprotect(pmdp);
			spin_unlock(ptl);
			addr = next;
			continue;
		}
		ptep = mm_find_pte(mm, addr, false, &ptl);
		if (!ptep) {
			addr = next;
			continue;
		}
		/* change_pte_range(): the table's lock once */
		spin_lock(ptl);
		for (; addr < next; addr += PAGE_SIZE, ptep++) {
			pte_t pte = ptep_get(ptep);

			if (pte_present(pte) && pte_write(pte))
				ptep_set_wrprotect(ptep);
			/* an in-flight migration must not restore it RW */
			else if (is_migration_entry(pte) &&
				 (pte_val(pte) & _SWP_MIG_WRITE))
				set_pte(ptep, __pte(pte_val(pte) &
						    ~_SWP_MIG_WRITE));
		}
		spin_unlock(ptl);
	}
	flush_tlb_mm(mm);	/* change_protection()'s flush_tlb_range() */
	mmap_write_unlock(mm);
	return 0;
}
