/* graph.h - the reverse index and dominator tree over roots and live objects. */
#ifndef MEMDBG_GO_GRAPH_H
#define MEMDBG_GO_GRAPH_H

#include "go/objects.h"

/*
 * Nodes: 0 is the super-root; 1..nroots are the named roots (o->roots grouped
 * by name); then one node per live object.  Memory per object: obj_node is
 * per slot (4 B), node_id (4), rev_off (4), idom (4), retained bytes (8),
 * retained count (4) = 28 B per object, plus 4 B per reverse edge (forward
 * edges are dropped once the dominator tree is built).
 */
struct go_graph {
	uint32_t nnodes, nroots;
	uint32_t *obj_node;     /* per slot id: its node, 0 when not a live object */
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

struct memdbg_error *go_graph_get(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o,
				  struct memdbg_printer *p, struct go_graph **ret);
void go_graph_destroy(struct go_graph *g);

#endif /* MEMDBG_GO_GRAPH_H */
