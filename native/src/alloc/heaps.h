/* heaps.h - the heaps of a target, whichever allocators it uses. */
#ifndef MEMDBG_ALLOC_HEAPS_H
#define MEMDBG_ALLOC_HEAPS_H

#include "alloc/alloc.h"

struct je_heap;
struct tc_heap;
struct gl_heap;
struct memdbg_go;
struct go_span;

struct alloc_heaps {
	struct je_heap *je;  /* NULL when absent; owned by the per-target caches */
	struct tc_heap *tc;
	struct gl_heap *gl;
	struct memdbg_go *go;
	const struct go_span **go_spans;  /* in-use Go spans by start */
	size_t ngo_spans;
	char broken[512];  /* the first heap that is there but could not be decoded */
};

/* Every heap of the target; an error only when none could be decoded. */
struct memdbg_error *alloc_heaps_open(struct memdbg_target *t, struct memdbg_printer *p, struct alloc_heaps *h);
void alloc_heaps_close(struct alloc_heaps *h);
/* The block holding addr in any heap; *found false when no heap holds it. */
struct memdbg_error *alloc_resolve(struct memdbg_target *t, const struct alloc_heaps *h, uint64_t addr,
				   struct alloc_block *b, bool *found);
const char *alloc_state_name(enum alloc_block_state s);
/* "glibc block 0xSTART+0xOFF (allocated)": the heap block holding addr; false when none does. */
bool alloc_block_name(struct memdbg_target *t, const struct alloc_heaps *h, uint64_t addr, char *out, size_t len);

#endif /* MEMDBG_ALLOC_HEAPS_H */
