// SPDX-License-Identifier: GPL-2.0
/*
 * The page lock, as mm/filemap.c: PG_locked and PG_waiters in
 * folio->flags, a global table of 256 hashed wait queues, exclusive
 * waiters with the "fair handoff" after sysctl_page_lock_unfairness
 * failed attempts, and futex sleeps where the kernel calls io_schedule().
 */
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mm.h"

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
static atomic_long_t stale_waits;

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

static void wq_add_tail(struct wait_queue_head *q, struct wait_page_queue *w)
{
	w->prev = q->head.prev;
	w->next = &q->head;
	q->head.prev->next = w;
	q->head.prev = w;
}

static void wq_add_head(struct wait_queue_head *q, struct wait_page_queue *w)
{
	w->next = q->head.next;
	w->prev = &q->head;
	q->head.next->prev = w;
	q->head.next = w;
}

static void wq_del_init(struct wait_page_queue *w)
{
	w->prev->next = w->next;
	w->next->prev = w->prev;
	w->next = w;
	w->prev = w;
}

static bool wq_linked(struct wait_page_queue *w)
{
	return __atomic_load_n(&w->next, __ATOMIC_ACQUIRE) != w;
}

static void futex_wait(unsigned int *uaddr, unsigned int val,
		       const struct timespec *timeout)
{
	syscall(SYS_futex, uaddr, FUTEX_WAIT_PRIVATE, val, timeout, NULL, 0);
}

static void futex_wake(unsigned int *uaddr)
{
	syscall(SYS_futex, uaddr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
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

	wait.next = wait.prev = &wait;
repeat:
	wait.flags &= ~WQ_FLAG_WOKEN;
	if (exclusive && --unfairness < 0)
		wait.flags |= WQ_FLAG_CUSTOM;

	spin_lock(&q->lock);
	set_bit(PG_waiters, folio_flags(folio));
	/* folio_trylock_flag(): maybe we can take it right now */
	if (exclusive ? !test_and_set_bit(bit_nr, folio_flags(folio)) :
			!test_bit(bit_nr, folio_flags(folio))) {
		spin_unlock(&q->lock);
		return;
	}
	if (exclusive)
		wq_add_tail(q, &wait);
	else
		wq_add_head(q, &wait);
	spin_unlock(&q->lock);

	lock_sleeps++;
	for (;;) {
		/* pairs with smp_store_release() in wake_page_function() */
		unsigned int flags = smp_load_acquire(&wait.flags);

		if (!(flags & WQ_FLAG_WOKEN)) {
			/*
			 * Non-exclusive waits (migration entries) sleep at
			 * most 1 ms and give up if the bit is clear: a
			 * missed wake-up seen under migration stress, not yet
			 * explained, would otherwise hang the run. Counted.
			 */
			static const struct timespec ms = { 0, 1000000 };

			futex_wait(&wait.flags, flags, exclusive ? NULL : &ms);
			if (!exclusive &&
			    !(smp_load_acquire(&wait.flags) & WQ_FLAG_WOKEN) &&
			    !test_bit(bit_nr, folio_flags(folio))) {
				atomic_long_add(1, &stale_waits);
				break;
			}
			continue;
		}
		if (!exclusive)
			break;
		if (flags & WQ_FLAG_DONE)
			break;		/* handed over: we hold the lock */
		if (test_and_set_bit(bit_nr, folio_flags(folio)))
			goto repeat;
		break;
	}
	/* finish_wait(): the waker unlinked us before setting WOKEN */
	if (wq_linked(&wait)) {
		spin_lock(&q->lock);
		if (wq_linked(&wait))
			wq_del_init(&wait);
		spin_unlock(&q->lock);
	}
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

unsigned long folio_lock_sleeps(void)
{
	return lock_sleeps;
}

long folio_wait_stale(void)
{
	return atomic_long_read(&stale_waits);
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
	wq_del_init(w);
	/* pairs with smp_load_acquire() in folio_wait_bit_common() */
	smp_store_release(&w->flags, flags | WQ_FLAG_WOKEN);
	futex_wake(&w->flags);
	return (flags & WQ_FLAG_EXCLUSIVE) != 0;
}

/* folio_wake_bit(): wake waiters for (folio, bit); clear PG_waiters. */
void folio_wake_bit(struct folio *folio, int bit_nr)
{
	struct wait_queue_head *q = folio_waitqueue(folio);
	struct wait_page_queue *w, *next;
	bool more = false;

	spin_lock(&q->lock);
	for (w = q->head.next; w != &q->head; w = next) {
		int r;

		next = w->next;
		if (w->folio != folio || w->bit_nr != bit_nr)
			continue;
		r = wake_page_function(w, folio, bit_nr);
		if (r < 0 || r > 0) {
			more = true;
			break;
		}
	}
	/* Any waiter left for this folio? */
	if (more) {
		more = false;
		for (w = q->head.next; w != &q->head; w = w->next)
			if (w->folio == folio)
				more = true;
	}
	if (!more)
		clear_bit(PG_waiters, folio_flags(folio));
	spin_unlock(&q->lock);
}
