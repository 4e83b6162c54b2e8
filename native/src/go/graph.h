/* graph.h - the reverse index and dominator tree over roots and live objects. */
#ifndef MEMDBG_GO_GRAPH_H
#define MEMDBG_GO_GRAPH_H

#include <string.h>

#include "go/objects.h"

/*
 * Nodes: 0 is the super-root; 1..nroots are the named roots (o->roots grouped
 * by name); then one node per live object, in slot order, so an object's
 * node is its rank among live objects (go_graph_node).  Memory per object:
 * node_id (4 B), rev_off (4), idom (4), retained bytes (8), retained count (4)
 * = 24 B, plus 4 B per 64 slots for the rank directory and 4 B per reverse
 * edge (the forward edges are freed once the reverse index is built, before
 * the semidominators).
 */
struct go_graph {
	uint32_t nnodes, nroots;
	uint64_t nslots;
	const uint8_t *alloc, *live; /* the objects' bitmaps (whole 64-bit words) */
	uint32_t *rank;         /* per 64 slots: live objects in the slots before them */
	uint32_t *node_id;      /* per node >= first_obj: the slot id */
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

struct memdbg_error *go_graph_get(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o,
				  struct memdbg_printer *p, struct go_graph **ret);
void go_graph_destroy(struct go_graph *g);

#endif /* MEMDBG_GO_GRAPH_H */
