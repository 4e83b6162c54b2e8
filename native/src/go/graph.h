/* graph.h - the reverse index and dominator tree over roots and live objects. */
#ifndef MEMDBG_GO_GRAPH_H
#define MEMDBG_GO_GRAPH_H

#include <string.h>

#include "go/objects.h"

/*
 * Nodes: 0 is the super-root; 1..nroots are the named roots (o->roots grouped
 * by name); then one node per live object, in slot order, so an object's
 * node is its rank among live objects (go_graph_node) and a node's slot is
 * a select over the rank directory (go_graph_id).  Memory per object:
 * rev_off (4 B), idom (4), retained bytes (8), retained count (4) = 20 B,
 * plus 4 B per 64 slots for the rank directory, 4 B per 64 objects for the
 * select hints and 4 B per reverse edge (the forward edges are freed once
 * the reverse index is built, before the semidominators).
 */
struct go_graph {
	uint32_t nnodes, nroots;
	uint64_t nslots;
	const uint8_t *alloc, *live; /* the objects' bitmaps (whole 64-bit words) */
	uint32_t *rank;         /* per 64 slots: live objects in the slots before them */
	uint32_t *select_word;  /* per 64 objects, and one past: the 64-slot word holding the first of them */
	uint32_t *root_index;   /* per root node: index of its first entry in o->roots */
	uint32_t *rev_off, *rev; /* predecessors (CSR) */
	uint32_t *idom;         /* immediate dominator; UINT32_MAX for unreachable nodes */
	uint64_t *retained;     /* bytes each node retains */
	uint32_t *retained_count; /* objects each node retains */
	uint64_t edges;
};

static inline uint32_t go_graph_first_obj(const struct go_graph *g)
{
	return g->nroots + 1;
}

static inline uint64_t go_graph_live_word(const struct go_graph *g, uint64_t w)
{
	uint64_t a, l;
	memcpy(&a, g->alloc + 8 * w, 8);
	memcpy(&l, g->live + 8 * w, 8);
	return a & l;
}

/* The node of slot id: 0 unless it is an allocated, live object. */
static inline uint32_t go_graph_node(const struct go_graph *g, uint64_t id)
{
	if (id >= g->nslots)
		return 0;
	uint64_t bits = go_graph_live_word(g, id / 64), below = (1ull << (id % 64)) - 1;
	if (!((bits >> (id % 64)) & 1))
		return 0;
	return go_graph_first_obj(g) + g->rank[id / 64] + (uint32_t)__builtin_popcountll(bits & below);
}

/* The position of set bit j (from 0) of bits, which has more than j set. */
static inline unsigned go_select64(uint64_t bits, unsigned j)
{
	unsigned pos = 0;
	for (unsigned width = 32; width >= 8; width /= 2) {
		unsigned low = (unsigned)__builtin_popcountll(bits & ((1ull << width) - 1));
		if (j >= low) {
			j -= low;
			bits >>= width;
			pos += width;
		}
	}
	for (; j; j--)
		bits &= bits - 1;
	return pos + (unsigned)__builtin_ctzll(bits);
}

/*
 * The slot id of object node v (first_obj <= v < nnodes): the last word whose
 * rank is at most v's, searched between the select hints around it, then the
 * set bit in it.
 */
static inline uint64_t go_graph_id(const struct go_graph *g, uint32_t v)
{
	uint32_t k = v - go_graph_first_obj(g);
	uint64_t lo = g->select_word[k / 64], hi = g->select_word[k / 64 + 1];
	while (lo < hi) {
		uint64_t mid = hi - (hi - lo) / 2;
		if (g->rank[mid] <= k)
			lo = mid;
		else
			hi = mid - 1;
	}
	return 64 * lo + go_select64(go_graph_live_word(g, lo), k - g->rank[lo]);
}

/* The object nodes in order from one of them, without a search per node. */
struct go_graph_cursor {
	uint64_t word, bits;  /* the live word at the next node, its bits below it cleared */
};

/* A cursor at object node v; past the last node, one that must not be advanced. */
static inline struct go_graph_cursor go_graph_cursor_at(const struct go_graph *g, uint32_t v)
{
	if (v < go_graph_first_obj(g) || v >= g->nnodes)
		return (struct go_graph_cursor){ 0, 0 };
	uint64_t id = go_graph_id(g, v);
	return (struct go_graph_cursor){ id / 64, go_graph_live_word(g, id / 64) & ~((1ull << (id % 64)) - 1) };
}

/* The slot id of the cursor's node, and the cursor to the next; only for nodes below nnodes. */
static inline uint64_t go_graph_cursor_next(const struct go_graph *g, struct go_graph_cursor *c)
{
	while (!c->bits)
		c->bits = go_graph_live_word(g, ++c->word);
	uint64_t id = 64 * c->word + (uint64_t)__builtin_ctzll(c->bits);
	c->bits &= c->bits - 1;
	return id;
}

struct memdbg_error *go_graph_get(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o,
				  struct memdbg_printer *p, struct go_graph **ret);
void go_graph_destroy(struct go_graph *g);

#endif /* MEMDBG_GO_GRAPH_H */
