// SPDX-License-Identifier: GPL-2.0
/*
 * The page lock, as mm/filemap.c: PG_locked and PG_waiters in
 * folio->flags, a global table of 256 hashed wait queues, exclusive
 * waiters with the "fair handoff" after sysctl_page_lock_unfairness
 * failed attempts, and futex sleeps where the kernel calls io_schedule().
 * PG_writeback's waiters sleep on the same queues.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mm.h"
#include "scheme.h"

#define PAGE_WAIT_TABLE_BITS	8
#define PAGE_WAIT_TABLE_SIZE	(1 << PAGE_WAIT_TABLE_BITS)

#define WQ_FLAG_EXCLUSIVE	0x01
#define WQ_FLAG_WOKEN		0x02
#define WQ_FLAG_CUSTOM		0x04	/* handoff requested */
#define WQ_FLAG_DONE		0x08	/* waker took the lock for us */

static const int sysctl_page_lock_unfairness = 5;

/* One sleeper: lives on the sleeper's stack, linked under the queue lock. */
struct wait_page_queue {
	struct wait_page_queue *next, *prev;
	struct folio *folio;
	int bit_nr;
	unsigned int flags;	/* WQ_FLAG_*; futex word */
};

/* A hashed wait queue head, alone on its cache line. */
struct wait_queue_head {
	spinlock_t lock;
	struct wait_page_queue head;	/* circular list sentinel */
} ____cacheline_aligned;

static struct wait_queue_head page_wait_table[PAGE_WAIT_TABLE_SIZE];
static pthread_once_t page_wait_once = PTHREAD_ONCE_INIT;
static __thread unsigned long lock_sleeps;
static atomic_long_t lost_wakeups;

static void page_wait_table_init(void)
{
	int i;

	for (i = 0; i < PAGE_WAIT_TABLE_SIZE; i++) {
		spin_lock_init(&page_wait_table[i].lock);
		page_wait_table[i].head.next = &page_wait_table[i].head;
		page_wait_table[i].head.prev = &page_wait_table[i].head;
	}
}

/* hash_ptr(folio, 8) */
static struct wait_queue_head *folio_waitqueue(struct folio *folio)
{
	uint64_t h = (uint64_t)(uintptr_t)folio * 0x61c8864680b583ebULL;

	pthread_once(&page_wait_once, page_wait_table_init);
	return &page_wait_table[h >> (64 - PAGE_WAIT_TABLE_BITS)];
}

/*
 * ->next is read outside the queue lock by its owner (wq_linked()), so
 * every store to it is atomic, even to a neighbour's entry.
 */
static void wq_set_next(struct wait_page_queue *w, struct wait_page_queue *n)
{
	__atomic_store_n(&w->next, n, __ATOMIC_RELAXED);
}

static void wq_add_tail(struct wait_queue_head *q, struct wait_page_queue *w)
{
	w->prev = q->head.prev;
	wq_set_next(w, &q->head);
	wq_set_next(q->head.prev, w);
	q->head.prev = w;
}

/*
 * list_del_init_careful(): unlink @w; the release of its ->next pairs
 * with wq_linked() in finish_wait(), after which the waiter may return:
 * for a waker this is the last touch of a waiter's entry (on its stack).
 */
static void wq_del_init(struct wait_page_queue *w)
{
	wq_set_next(w->prev, w->next);
	w->next->prev = w->prev;
	w->prev = w;
	smp_store_release(&w->next, w);
}

static bool wq_linked(struct wait_page_queue *w)
{
	return __atomic_load_n(&w->next, __ATOMIC_ACQUIRE) != w;
}

/* Returns true if the sleep ended on @timeout. */
static bool futex_wait(unsigned int *uaddr, unsigned int val,
		       const struct timespec *timeout)
{
	return syscall(SYS_futex, uaddr, FUTEX_WAIT_PRIVATE, val, timeout,
		       NULL, 0) < 0 && errno == ETIMEDOUT;
}

static void futex_wake(unsigned int *uaddr)
{
	syscall(SYS_futex, uaddr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/*
 * A linked waiter whose folio has both PG_locked and PG_waiters clear,
 * seen under the queue lock, can never be woken: the waker clears
 * PG_waiters under that lock only after it has woken every waiter of the
 * folio, and a new waiter sets it under that lock before it links. So
 * this check has no false positives; it turns a hang into a count.
 */
static bool wait_lost(struct wait_queue_head *q, struct wait_page_queue *w)
{
	unsigned long flags;
	bool lost;

	spin_lock(&q->lock);
	flags = READ_ONCE(*folio_flags(w->folio));
	lost = wq_linked(w) &&
	       !(smp_load_acquire(&w->flags) & WQ_FLAG_WOKEN) &&
	       !(flags & (BIT(w->bit_nr) | BIT(PG_waiters)));
	if (lost)
		wq_del_init(w);
	spin_unlock(&q->lock);
	if (lost)
		atomic_long_add(1, &lost_wakeups);
	return lost;
}

/*
 * Sleep until the waker sets WQ_FLAG_WOKEN. Every 10 ms the sleeper
 * checks for a lost wake-up (see wait_lost()); returns false if it found
 * one and unlinked itself, true once woken.
 */
static bool wait_woken(struct wait_queue_head *q, struct wait_page_queue *w,
		       unsigned int *flagsp)
{
	static const struct timespec tick = { 0, 10 * 1000 * 1000 };

	lock_sleeps++;
	for (;;) {
		/* pairs with smp_store_release() in wake_page_function() */
		unsigned int flags = smp_load_acquire(&w->flags);

		if (flags & WQ_FLAG_WOKEN) {
			*flagsp = flags;
			return true;
		}
		if (futex_wait(&w->flags, flags, &tick) && wait_lost(q, w))
			return false;
	}
}

/* finish_wait(): the waker unlinked us before setting WOKEN */
static void finish_wait(struct wait_queue_head *q, struct wait_page_queue *w)
{
	if (wq_linked(w)) {
		spin_lock(&q->lock);
		if (wq_linked(w))
			wq_del_init(w);
		spin_unlock(&q->lock);
	}
}

/*
 * Under the queue lock: set PG_waiters, then take the bit (exclusive) or
 * see it clear (folio_trylock_flag()), else queue @w. Returns true if
 * queued, false if there is nothing to wait for.
 */
static bool wait_enqueue(struct wait_queue_head *q, struct wait_page_queue *w,
			 bool exclusive)
{
	struct folio *folio = w->folio;
	int bit_nr = w->bit_nr;

	spin_lock(&q->lock);
	set_bit(PG_waiters, folio_flags(folio));
	if (exclusive ? !test_and_set_bit(bit_nr, folio_flags(folio)) :
			!test_bit(bit_nr, folio_flags(folio))) {
		spin_unlock(&q->lock);
		return false;
	}
	wq_add_tail(q, w);	/* every waiter at the tail (5.9+) */
	spin_unlock(&q->lock);
	return true;
}

/*
 * folio_wait_bit_common(): sleep until @bit_nr clears; exclusive
 * waiters (folio_lock) also take the bit, or get it handed over.
 */
static void folio_wait_bit_common(struct folio *folio, int bit_nr,
				  bool exclusive)
{
	struct wait_queue_head *q = folio_waitqueue(folio);
	struct wait_page_queue wait = {
		.folio = folio,
		.bit_nr = bit_nr,
		.flags = exclusive ? WQ_FLAG_EXCLUSIVE : 0,
	};
	int unfairness = sysctl_page_lock_unfairness;
	unsigned int flags;

	wait.next = wait.prev = &wait;
repeat:
	wait.flags &= ~WQ_FLAG_WOKEN;
	if (exclusive && --unfairness < 0)
		wait.flags |= WQ_FLAG_CUSTOM;

	if (!wait_enqueue(q, &wait, exclusive))
		return;
	if (!wait_woken(q, &wait, &flags)) {
		if (exclusive)
			goto repeat;
		return;
	}
	if (exclusive && !(flags & WQ_FLAG_DONE) &&
	    test_and_set_bit(bit_nr, folio_flags(folio)))
		goto repeat;		/* woken, but someone took it first */
	finish_wait(q, &wait);
}

void __folio_lock(struct folio *folio)
{
	folio_wait_bit_common(folio, PG_locked, true);
}

void folio_wait_locked(struct folio *folio)
{
	if (folio_test_locked(folio))
		folio_wait_bit_common(folio, PG_locked, false);
}

/*
 * folio_wait_writeback(): sleep until PG_writeback clears, as often as it
 * is found set (a new writeback may start once the folio is unlocked;
 * callers that hold the page lock see it clear for good).
 */
void folio_wait_writeback(struct folio *folio)
{
	while (test_bit(PG_writeback, folio_flags(folio)))
		folio_wait_bit_common(folio, PG_writeback, false);
}

/* The xa_lock of a file folio's page cache (its ->mapping is its mm). */
static spinlock_t *folio_i_pages_lock(struct folio *folio)
{
	struct mm_struct *mm = READ_ONCE(folio->page.mapping);

	return &mm->i_pages_lock;
}

/*
 * folio_mark_dirty(), under the folio lock or the PT lock of a PTE that
 * maps it. An anon folio has no mapping, and a ZONE_DEVICE page's
 * (fsdax, device-dax) ->dirty_folio() is noop_dirty_folio(): PG_dirty,
 * set only if clear (DAX keeps its writeback state in its own entries,
 * not here). A file folio's is filemap_dirty_folio(): PG_dirty, and if
 * it was clean __folio_mark_dirty() under the file's i_pages lock (the
 * dirty tag and the dirty accounting, which the model does not keep:
 * its writeback finds dirty folios by PG_dirty; then the inode, already
 * dirty). Returns true if the folio became dirty.
 */
bool folio_mark_dirty(struct folio *folio)
{
	spinlock_t *xa_lock;

	if (test_bit(PG_anon, folio_flags(folio)) ||
	    test_bit(PG_device, folio_flags(folio)) ||
	    !READ_ONCE(folio->page.mapping)) {
		if (folio_test_dirty(folio))
			return false;
		return !test_and_set_bit(PG_dirty, folio_flags(folio));
	}
	if (test_and_set_bit(PG_dirty, folio_flags(folio)))
		return false;
	xa_lock = folio_i_pages_lock(folio);
	spin_lock(xa_lock);
	spin_unlock(xa_lock);
	/*
	 * __mark_inode_dirty(I_DIRTY_PAGES): smp_mb() before its lockless
	 * i_state test (pairs with __writeback_single_inode()'s), which
	 * finds the inode dirty already
	 */
	smp_mb();
	return true;
}

/*
 * __folio_start_writeback(), the caller holding the folio lock: under
 * the file's i_pages lock, PG_writeback and the tags (writeback on,
 * dirty off).
 */
void folio_start_writeback(struct folio *folio)
{
	spinlock_t *xa_lock = folio_i_pages_lock(folio);

	spin_lock(xa_lock);
	set_bit(PG_writeback, folio_flags(folio));
	spin_unlock(xa_lock);
}

/*
 * folio_end_writeback(): the I/O is done. It takes a reference of its own
 * ("Writeback does not hold a folio reference of its own, relying on
 * truncation to wait for the clearing of PG_writeback"), then
 * __folio_end_writeback() clears PG_writeback with the RMW that also
 * reports PG_waiters (folio_xor_flags_has_waiters(): PG_writeback is in
 * the low byte too), the waiters are woken and that reference goes;
 * then the lookup's reference the model's writeback held (the kernel's
 * folio_batch_release(), done at submission there).
 */
void folio_end_writeback(struct folio *folio)
{
	spinlock_t *xa_lock = folio_i_pages_lock(folio);
	bool waiters;

	WARN_ON_ONCE(!test_bit(PG_writeback, folio_flags(folio)));
	folio_get(folio);
	/* under the i_pages lock, which also clears the writeback tag */
	spin_lock(xa_lock);
	waiters = xor_unlock_is_negative_byte(BIT(PG_writeback),
					      folio_flags(folio));
	spin_unlock(xa_lock);
	if (waiters)
		folio_wake_bit(folio, PG_writeback);
	folio_put(folio);
	folio_put(folio);
}

/*
 * migration_entry_wait_on_locked(): the caller found a migration entry
 * under @ptl and holds it. The waiter is queued before @ptl is dropped:
 * migration must take @ptl to remove its entries before it unlocks (and
 * may free) the folio, so the folio is valid until then and the unlock
 * cannot be missed. Sleeping on it after dropping @ptl, as this model
 * once did, let the folio be freed and reused under a queued waiter and
 * lost its wake-up. Returns with @ptl unlocked.
 */
void migration_entry_wait_on_locked(struct folio *folio, spinlock_t *ptl)
{
	struct wait_queue_head *q = folio_waitqueue(folio);
	struct wait_page_queue wait = {
		.folio = folio,
		.bit_nr = PG_locked,
	};
	unsigned int flags;
	bool queued;

	wait.next = wait.prev = &wait;
	queued = wait_enqueue(q, &wait, false);
	spin_unlock(ptl);

	if (queued && wait_woken(q, &wait, &flags))
		finish_wait(q, &wait);
}

/* ---- owner tracking (torture) ---- */

bool folio_lock_debug;
static long *lock_owner;		/* pfn -> owner token, 0 if unlocked */
static void (*lock_violation)(struct folio *folio, long owner, bool lock);
static __thread char lock_token;	/* its address names this thread */

/*
 * Track page-lock owners in @owner (max_pfn entries) and call @bad for
 * a second holder or a release by a thread that does not hold the lock.
 * NULL turns tracking off. Only for quiescent callers (no lock held).
 */
void folio_lock_tracking(long *owner,
			 void (*bad)(struct folio *folio, long owner, bool lock))
{
	WRITE_ONCE(folio_lock_debug, false);
	lock_owner = owner;
	lock_violation = bad;
	WRITE_ONCE(folio_lock_debug, owner != NULL);
}

long folio_lock_token(void)
{
	return (long)&lock_token;
}

void folio_lock_track(struct folio *folio, bool lock)
{
	long *slot = &lock_owner[page_to_pfn(&folio->page)];
	long me = (long)&lock_token, old;

	if (lock) {
		old = __atomic_exchange_n(slot, me, __ATOMIC_RELAXED);
		if (old && lock_violation)
			lock_violation(folio, old, true);
	} else {
		old = me;
		if (!__atomic_compare_exchange_n(slot, &old, 0, false,
						 __ATOMIC_RELAXED,
						 __ATOMIC_RELAXED) &&
		    lock_violation)
			lock_violation(folio, old, false);
	}
}

#ifdef GUP_MUTANTS
int gup_mutant;
#endif

unsigned long folio_lock_sleeps(void)
{
	return lock_sleeps;
}

long folio_wait_lost(void)
{
	return atomic_long_read(&lost_wakeups);
}

/*
 * wake_page_function() for one waiter: returns -1 to stop the walk,
 * 1 if an exclusive waiter was woken, 0 otherwise.
 */
static int wake_page_function(struct wait_page_queue *w, struct folio *folio,
			      int bit_nr)
{
	unsigned int flags = w->flags;

	if (flags & WQ_FLAG_EXCLUSIVE) {
		if (test_bit(bit_nr, folio_flags(folio)))
			return -1;
		if (flags & WQ_FLAG_CUSTOM) {
			if (test_and_set_bit(bit_nr, folio_flags(folio)))
				return -1;
			flags |= WQ_FLAG_DONE;
		}
	}
	/* pairs with smp_load_acquire() in wait_woken() */
	smp_store_release(&w->flags, flags | WQ_FLAG_WOKEN);
	futex_wake(&w->flags);
	/*
	 * "has to be the absolute last thing we do": a woken waiter
	 * returns through finish_wait(), which waits for this (or for the
	 * queue lock), so the entry is still there for the wake above
	 */
	wq_del_init(w);
	return (flags & WQ_FLAG_EXCLUSIVE) != 0;
}

/*
 * folio_wake_bit(): wake waiters for (folio, bit), up to the first
 * exclusive one woken or one that finds the bit taken again; then clear
 * PG_waiters if the queue is empty or the walk met no waiter of this
 * folio (wake_page_match()'s page_match). As in the kernel a waiter of
 * this folio met and woken, beside waiters of other folios hashed to
 * the same queue, leaves a stale PG_waiters: the next unlock takes the
 * queue lock once for nothing.
 */
void folio_wake_bit(struct folio *folio, int bit_nr)
{
	struct wait_queue_head *q = folio_waitqueue(folio);
	struct wait_page_queue *w, *next;
	bool page_match = false;

	spin_lock(&q->lock);
	for (w = q->head.next; w != &q->head; w = next) {
		next = w->next;
		if (w->folio != folio)
			continue;
		page_match = true;
		if (w->bit_nr != bit_nr)
			continue;
		if (wake_page_function(w, folio, bit_nr))
			break;		/* -1: stop; 1: the exclusive one */
	}
	if (q->head.next == &q->head || !page_match)
		clear_bit(PG_waiters, folio_flags(folio));
	spin_unlock(&q->lock);
}
