/*
 * leaks.h - which blocked goroutines can never be woken: those waiting on a
 * channel, mutex, WaitGroup or cond that no other live goroutine and no
 * global can reach (go_leaks).
 */
#ifndef MEMDBG_GO_LEAKS_H
#define MEMDBG_GO_LEAKS_H

#include "go/graph.h"
#include "go/stack.h"

enum go_block_kind {
	GO_BLOCK_NONE,      /* not blocked on an object: running, IO wait, sleep, syscall, select {}, ... */
	GO_BLOCK_CHAN,      /* chan send or receive, select: its channels (g.waiting) */
	GO_BLOCK_NIL_CHAN,  /* send or receive on a nil channel: nothing can wake it */
	GO_BLOCK_SEMA,      /* sync.Mutex, RWMutex, WaitGroup, semacquire: the semaphore's word */
	GO_BLOCK_COND,      /* sync.Cond.Wait: its sudog in the cond's notify list */
};

/* One thing a blocked goroutine waits on. */
struct go_blocker {
	uint64_t addr;    /* the hchan, the semaphore word, or the cond waiter's sudog */
	uint64_t object;  /* dense id of the heap object holding addr; UINT64_MAX: not in the heap */
};

struct go_wait {
	const struct go_goroutine *g;
	enum go_block_kind kind;
	bool leaked;      /* nothing that can still run, and no global, reaches what it waits on */
	struct go_blocker *on;
	size_t non, on_cap;
};

/*
 * For every goroutine of s (as go_goroutines lists them), what it is blocked
 * on and whether it leaked.  Reachability is the object graph's, from every
 * root but the stacks of goroutines that are themselves stuck, without
 * passing through a stuck goroutine's g or out of a sudog (a wait record
 * leads only to its queue neighbours); it is repeated until no goroutine
 * becomes wakeable.  Whatever cannot be decided counts as wakeable.
 */
struct memdbg_error *go_leaks(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o,
			      const struct go_graph *graph, struct go_stack *s, struct memdbg_printer *p,
			      struct go_wait **ret, size_t *n);
void go_leaks_free(struct go_wait *w, size_t n);

#endif /* MEMDBG_GO_LEAKS_H */
