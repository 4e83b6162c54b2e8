/*
 * heaps.c - every heap memdbg can decode in a target (jemalloc, TCMalloc,
 * the Go heap), and resolving an address to its block in whichever holds it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/heaps.h"
#include "glibc/gl.h"
#include "go/go.h"
#include "jemalloc/je.h"
#include "tcmalloc/tc.h"

/* "no jemalloc in this target" and friends: the heap is simply not there. */
static bool absent(const struct memdbg_error *err)
{
	const char *m = memdbg_error_message(err);
	return strstr(m, "no jemalloc in this target") || strstr(m, "no TCMalloc in this target") ||
	       strstr(m, "no glibc malloc in this target") ||
	       strstr(m, "is not a Go program");
}

static void keep_reason(struct alloc_heaps *h, const char *heap, struct memdbg_error *err)
{
	if (!absent(err) && !h->broken[0])
		snprintf(h->broken, sizeof(h->broken), "%s: %s", heap, memdbg_error_message(err));
	memdbg_error_destroy(err);
}

static int go_span_cmp(const void *a, const void *b)
{
	const struct go_span *x = *(const struct go_span *const *)a, *y = *(const struct go_span *const *)b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* In-use Go spans by start address, for lookups. */
static struct memdbg_error *index_go(struct alloc_heaps *h)
{
	struct memdbg_go *go = h->go;
	h->go_spans = malloc((go->nspans ? go->nspans : 1) * sizeof(*h->go_spans));
	if (!h->go_spans)
		return memdbg_enomem;
	for (size_t i = 0; i < go->nspans; i++)
		if (go->spans[i].state == go->l.span_in_use && go->spans[i].npages)
			h->go_spans[h->ngo_spans++] = &go->spans[i];
	qsort(h->go_spans, h->ngo_spans, sizeof(*h->go_spans), go_span_cmp);
	return NULL;
}

struct memdbg_error *alloc_heaps_open(struct memdbg_target *t, struct memdbg_printer *p, struct alloc_heaps *h)
{
	struct memdbg_error *err;
	memset(h, 0, sizeof(*h));
	if ((err = je_get(t, &h->je))) {
		keep_reason(h, "jemalloc", err);
		h->je = NULL;
	}
	if ((err = tc_get(t, &h->tc))) {
		keep_reason(h, "TCMalloc", err);
		h->tc = NULL;
	}
	if ((err = gl_get(t, &h->gl))) {
		keep_reason(h, "glibc malloc", err);
		h->gl = NULL;
	}
	struct memdbg_go *go;
	if ((err = memdbg_go_get(t, &go)) || (err = memdbg_go_load_spans(t, go, p))) {
		keep_reason(h, "Go", err);
	} else {
		h->go = go;
		if ((err = index_go(h)))
			return err;
	}
	if (!h->je && !h->tc && !h->gl && !h->go)
		return h->broken[0] ? memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "%s", h->broken)
				    : memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
							  "no heap memdbg knows in this target (jemalloc, TCMalloc, "
							  "glibc malloc, Go)");
	return NULL;
}

void alloc_heaps_close(struct alloc_heaps *h)
{
	free(h->go_spans);
	h->go_spans = NULL;
}

static const struct go_span *go_span_at(const struct alloc_heaps *h, uint64_t addr)
{
	size_t lo = 0, hi = h->ngo_spans;
	uint64_t page = h->go->l.page_size;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->go_spans[mid]->start + h->go_spans[mid]->npages * page <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < h->ngo_spans && h->go_spans[lo]->start <= addr ? h->go_spans[lo] : NULL;
}

static struct memdbg_error *go_block_at(struct memdbg_target *t, const struct alloc_heaps *h, uint64_t addr,
					struct alloc_block *b, bool *found)
{
	const struct go_span *s = go_span_at(h, addr);
	*found = s && s->elemsize;
	if (!*found)
		return NULL;
	uint64_t i = (addr - s->start) / s->elemsize;
	if (i >= s->nelems) {
		*found = false;
		return NULL;
	}
	memset(b, 0, sizeof(*b));
	b->heap = "go";
	b->start = s->start + i * s->elemsize;
	b->size = s->elemsize;
	bool allocated = i < s->freeindex;
	if (!allocated) {
		uint8_t byte;
		struct memdbg_error *err = memdbg_read(t, s->alloc_bits + i / 8, &byte, 1);
		if (err)
			return memdbg_error_prefix(err, "allocBits of span 0x%" PRIx64, s->start);
		allocated = byte >> (i % 8) & 1;
	}
	b->state = allocated ? ALLOC_ALLOCATED : ALLOC_FREE;
	snprintf(b->detail, sizeof(b->detail), "Go heap span 0x%" PRIx64 " (%" PRIu64 " pages, class %u%s), object %" PRIu64,
		 s->start, s->npages, go_size_class(s->spanclass), go_noscan(s->spanclass) ? " noscan" : "", i);
	return NULL;
}

struct memdbg_error *alloc_resolve(struct memdbg_target *t, const struct alloc_heaps *h, uint64_t addr,
				   struct alloc_block *b, bool *found)
{
	struct memdbg_error *err;
	*found = false;
	if (h->je && je_extent_at(h->je, addr)) {
		const struct je_extent *e;
		uint32_t region;
		if ((err = je_block_at(t, h->je, addr, b, &e, &region)) == NULL)
			*found = true;
		return err;
	}
	if (h->tc && tc_span_at(h->tc, addr)) {
		const struct tc_span *s;
		if ((err = tc_block_at(t, h->tc, addr, b, &s)) == NULL)
			*found = true;
		return err;
	}
	if (h->go) {
		if ((err = go_block_at(t, h, addr, b, found)) || *found)
			return err;
	}
	if (h->gl && gl_region_at(h->gl, addr)) {
		const struct gl_chunk *c;
		if ((err = gl_block_at(h->gl, addr, b, &c)) == NULL)
			*found = true;
		else if (memdbg_error_code(err) == MEMDBG_ERROR_LOOKUP) {
			memdbg_error_destroy(err);
			err = NULL;
		}
		return err;
	}
	return NULL;
}

const char *alloc_state_name(enum alloc_block_state s)
{
	return s == ALLOC_ALLOCATED ? "allocated" : s == ALLOC_CACHED ? "cached" : "free";
}

bool alloc_block_name(struct memdbg_target *t, const struct alloc_heaps *h, uint64_t addr, char *out, size_t len)
{
	struct alloc_block b;
	bool found = false;
	struct memdbg_error *err = alloc_resolve(t, h, addr, &b, &found);
	memdbg_error_destroy(err);
	if (err || !found)
		return false;
	snprintf(out, len, "%s block 0x%" PRIx64 "+0x%" PRIx64 " (%s)", b.heap, b.start, addr - b.start,
		 alloc_state_name(b.state));
	return true;
}
