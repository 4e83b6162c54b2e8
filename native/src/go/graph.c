/*
 * graph.c - the object graph as arrays: forward edges (CSR) from the
 * runtime's pointer maps, the reverse index, and the dominator tree by the
 * Semi-NCA algorithm (semidominators with path-compressed eval, then each
 * idom as the nearest common ancestor on the DFS tree), all built once per
 * target and iterative, so deep heaps cannot overflow the C stack.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "go/graph.h"

#define NONE UINT32_MAX

struct edges {
	uint32_t *off, *to;
	uint64_t n, cap;
};

static struct memdbg_error *edge_add(struct edges *e, uint32_t to)
{
	if (e->n == e->cap) {
		uint64_t cap = e->cap ? 2 * e->cap : 1 << 16;
		if (cap > UINT32_MAX)
			return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "more than 2^32 pointers in the heap");
		uint32_t *n = realloc(e->to, cap * sizeof(*n));
		if (!n)
			return memdbg_enomem;
		e->to = n;
		e->cap = cap;
	}
	e->to[e->n++] = to;
	return NULL;
}

struct build {
	struct memdbg_target *t;
	struct memdbg_go *go;
	struct go_objects *o;
	struct go_graph *g;
	struct edges fwd;
};

static int root_name_cmp(const void *a, const void *b, void *arg)
{
	const struct go_root *roots = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = strcmp(roots[x].name, roots[y].name);
	return c ? c : (x > y) - (x < y);
}

/* The edges of one chunk of object nodes, found on any thread (pool.c). */
struct edge_chunk {
	uint32_t *to;
	uint64_t n, cap;
	uint32_t last;  /* the previous slot's target in this object */
	bool enomem;
};

struct edge_pass {
	struct build *b;
	struct edge_chunk *chunks;
};

struct edge_visit {
	const struct build *b;
	struct edge_chunk *c;
};

static void add_pointer_edge(void *arg, uint64_t slot, uint64_t value)
{
	struct edge_visit *v = arg;
	struct edge_chunk *c = v->c;
	uint64_t id;
	if (c->enomem || !value || !go_object_at(v->b->o, value, &id))
		return;
	uint32_t to = go_graph_node(v->b->g, id);
	/* Several slots pointing to one object make one edge. */
	if (!to || to == c->last)
		return;
	if (c->n == c->cap) {
		uint64_t cap = c->cap ? 2 * c->cap : 4096;
		uint32_t *n = realloc(c->to, cap * sizeof(*n));
		if (!n) {
			c->enomem = true;
			return;
		}
		c->to = n;
		c->cap = cap;
	}
	c->to[c->n++] = to;
	c->last = to;
}

/* Nodes first_obj + [begin, end): fwd.off[n] holds each node's edge count until the merge. */
static void object_edges(void *arg, size_t chunk, size_t begin, size_t end)
{
	struct edge_pass *ep = arg;
	struct build *b = ep->b;
	struct edge_visit v = { b, &ep->chunks[chunk] };
	uint32_t first = go_graph_first_obj(b->g);
	struct go_graph_cursor cur = go_graph_cursor_at(b->g, first + (uint32_t)begin);
	for (size_t i = begin; i < end && !v.c->enomem; i++) {
		uint64_t before = v.c->n;
		v.c->last = 0;
		go_object_pointers(b->t, b->go, b->o, go_graph_cursor_next(b->g, &cur), add_pointer_edge, &v);
		b->fwd.off[first + i] = (uint32_t)(v.c->n - before);
	}
	/* Keep only what the chunk holds until the merge. */
	uint32_t *fit = v.c->n ? realloc(v.c->to, v.c->n * sizeof(*fit)) : NULL;
	if (fit)
		v.c->to = fit;
}

#define EDGE_CHUNK 16384  /* objects per chunk of the parallel pass */

/* Objects to objects, from the pointer maps, in parallel; appended to b->fwd in node order. */
static struct memdbg_error *build_object_edges(struct build *b, struct memdbg_printer *p)
{
	struct go_graph *g = b->g;
	size_t nobj = g->nnodes - go_graph_first_obj(g), nchunks = nobj / EDGE_CHUNK + 1;
	struct edge_pass ep = { b, calloc(nchunks, sizeof(*ep.chunks)) };
	if (!ep.chunks)
		return memdbg_enomem;
	struct memdbg_error *err = memdbg_parallel(b->t, p, "indexing pointers", nobj, EDGE_CHUNK, object_edges, &ep);
	uint64_t total = b->fwd.n;
	for (size_t c = 0; c < nchunks && !err; c++) {
		if (ep.chunks[c].enomem)
			err = memdbg_enomem;
		total += ep.chunks[c].n;
	}
	if (!err && total >= UINT32_MAX)
		err = memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "more than 2^32 pointers in the heap");
	uint32_t *to = err ? NULL : realloc(b->fwd.to, (total ? total : 1) * sizeof(*to));
	if (!err && !to)
		err = memdbg_enomem;
	if (!err) {
		b->fwd.to = to;
		b->fwd.cap = total;
		for (size_t c = 0; c < nchunks; c++) {
			if (ep.chunks[c].n)
				memcpy(b->fwd.to + b->fwd.n, ep.chunks[c].to, ep.chunks[c].n * sizeof(*to));
			b->fwd.n += ep.chunks[c].n;
			free(ep.chunks[c].to);
			ep.chunks[c].to = NULL;
		}
		/* Counts to offsets, from the end. */
		uint64_t off = b->fwd.n;
		for (uint32_t n = g->nnodes; n-- > go_graph_first_obj(g);) {
			off -= b->fwd.off[n];
			b->fwd.off[n] = (uint32_t)off;
		}
	}
	for (size_t c = 0; c < nchunks; c++)
		free(ep.chunks[c].to);
	free(ep.chunks);
	malloc_trim(0);  /* the chunks' buffers sit in malloc's heap: give their pages back before the DFS */
	return err;
}

/* Each 64th object's word, so that go_graph_id searches the rank directory between two hints. */
static void select_hints(struct go_graph *g, uint64_t nwords, uint64_t nobj)
{
	for (uint64_t j = 0; j < nobj / 64 + 2; j++)
		g->select_word[j] = (uint32_t)(nwords - 1);
	for (uint64_t w = 0; w < nwords; w++) {
		uint64_t end = (uint64_t)g->rank[w] + (uint64_t)__builtin_popcountll(go_graph_live_word(g, w));
		for (uint64_t j = ((uint64_t)g->rank[w] + 63) / 64; 64 * j < end; j++)
			g->select_word[j] = (uint32_t)w;
	}
}

static struct memdbg_error *build_edges(struct build *b, struct memdbg_printer *p)
{
	struct go_graph *g = b->g;
	struct go_objects *o = b->o;
	/* Root nodes: one per distinct root name, in name order. */
	uint32_t *order = malloc((o->nroots ? o->nroots : 1) * sizeof(*order));
	if (!order)
		return memdbg_enomem;
	for (uint32_t i = 0; i < o->nroots; i++)
		order[i] = i;
	qsort_r(order, o->nroots, sizeof(*order), root_name_cmp, o->roots);
	uint32_t nroots = 0;
	for (uint32_t i = 0; i < o->nroots; i++)
		nroots += !i || strcmp(o->roots[order[i]].name, o->roots[order[i - 1]].name) != 0;
	g->nroots = nroots;
	g->nslots = o->nslots;
	g->alloc = o->alloc;
	g->live = o->live;
	uint64_t nwords = o->nslots / 64 + 1, nobj = 0;
	g->rank = malloc(nwords * sizeof(*g->rank));
	if (!g->rank) {
		free(order);
		return memdbg_enomem;
	}
	for (uint64_t w = 0; w < nwords; w++) {
		g->rank[w] = (uint32_t)(nobj < NONE ? nobj : NONE);
		nobj += (uint64_t)__builtin_popcountll(go_graph_live_word(g, w));
	}
	if (nobj + nroots + 1 >= NONE || nwords > NONE) {
		free(order);
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED, "too many objects for the graph");
	}
	g->nnodes = (uint32_t)(nobj + nroots + 1);
	g->select_word = malloc((nobj / 64 + 2) * sizeof(*g->select_word));
	g->root_index = calloc(nroots + 1, sizeof(*g->root_index));
	b->fwd.off = calloc((size_t)g->nnodes + 1, sizeof(*b->fwd.off));
	if (!g->select_word || !g->root_index || !b->fwd.off) {
		free(order);
		return memdbg_enomem;
	}
	select_hints(g, nwords, nobj);
	struct memdbg_error *err = NULL;
	/* Super-root to every root node. */
	b->fwd.off[0] = 0;
	for (uint32_t r = 1; r <= nroots && !err; r++)
		err = edge_add(&b->fwd, r);
	/* Root nodes to the objects their entries point to. */
	uint32_t r = 0;
	for (uint32_t i = 0; i < o->nroots && !err; i++) {
		const struct go_root *root = &o->roots[order[i]];
		if (!i || strcmp(root->name, o->roots[order[i - 1]].name) != 0) {
			b->fwd.off[++r] = (uint32_t)b->fwd.n;
			g->root_index[r] = order[i];
		}
		uint32_t to = root->weak ? 0 : go_graph_node(g, root->object);
		if (to)
			err = edge_add(&b->fwd, to);
	}
	free(order);
	if (!err)
		err = build_object_edges(b, p);
	b->fwd.off[g->nnodes] = (uint32_t)b->fwd.n;
	g->edges = b->fwd.n;
	return err;
}

/*
 * The reverse index from the forward edges, which are freed.  Each
 * predecessor is written as its preorder number (pre is a bijection), so the
 * semidominator pass needs no node -> preorder array; dominators() maps the
 * numbers back.  Runs are filled backwards from their ends, which leaves each
 * offset at its run's start and the sources in node order, with no fill array.
 */
static struct memdbg_error *build_reverse(struct build *b, const uint32_t *pre)
{
	struct go_graph *g = b->g;
	g->rev_off = calloc((size_t)g->nnodes + 1, sizeof(*g->rev_off));
	g->rev = malloc((b->fwd.n ? b->fwd.n : 1) * sizeof(*g->rev));
	if (!g->rev_off || !g->rev)
		return memdbg_enomem;
	for (uint64_t i = 0; i < b->fwd.n; i++)
		g->rev_off[b->fwd.to[i]]++;
	uint32_t end = 0;
	for (uint32_t n = 0; n <= g->nnodes; n++) {
		end += g->rev_off[n];
		g->rev_off[n] = end;
	}
	for (uint32_t v = g->nnodes; v-- > 0;)
		for (uint32_t k = b->fwd.off[v + 1]; k-- > b->fwd.off[v];)
			g->rev[--g->rev_off[b->fwd.to[k]]] = pre[v];
	free(b->fwd.off);
	free(b->fwd.to);
	b->fwd.off = b->fwd.to = NULL;
	return NULL;
}

/* Retained sizes: every node's own slot, then children before parents, in reverse preorder. */
static struct memdbg_error *retained_sizes(struct build *b, const uint32_t *vertex, uint32_t count)
{
	struct go_graph *g = b->g;
	g->retained = calloc(g->nnodes, sizeof(*g->retained));
	g->retained_count = calloc(g->nnodes, sizeof(*g->retained_count));
	if (!g->retained || !g->retained_count)
		return memdbg_enomem;
	struct go_graph_cursor cur = go_graph_cursor_at(g, go_graph_first_obj(g));
	for (uint32_t v = go_graph_first_obj(g); v < g->nnodes; v++) {
		g->retained[v] = go_span_of_id(b->o, go_graph_cursor_next(g, &cur))->elemsize;
		g->retained_count[v] = 1;
	}
	for (uint32_t i = count; i-- > 1;) {
		uint32_t v = vertex[i], d = g->idom[v];
		g->retained[d] += g->retained[v];
		g->retained_count[d] += g->retained_count[v];
	}
	return NULL;
}

/* A node on the DFS stack and the next of its forward edges to follow. */
struct dfs_frame {
	uint32_t node, next;
};

/*
 * Semi-NCA over preorder numbers; all work arrays are indexed by preorder
 * number.  The order keeps few arrays alive at once (the peak is the
 * largest phase, not their sum): the DFS over the forward edges (16 B per
 * node + 4 B per edge, and 8 B per node on the DFS stack at its deepest),
 * the reverse index made from them (20 B + 8 B per edge), then without the
 * forward edges and pre the semidominators (24 B + 4 B per edge) and the
 * retained sizes (the same), which is 4 B per node above what the graph keeps.
 */
static struct memdbg_error *dominators(struct build *b, struct memdbg_printer *p)
{
	struct go_graph *g = b->g;
	uint32_t n = g->nnodes;
	uint32_t *pre = malloc((size_t)n * sizeof(*pre));       /* node -> preorder, NONE unreached */
	uint32_t *vertex = malloc((size_t)n * sizeof(*vertex)); /* preorder -> node */
	uint32_t *parent = malloc((size_t)n * sizeof(*parent));
	struct dfs_frame *dfs = malloc((size_t)n * sizeof(*dfs)); /* touched only as deep as the DFS goes */
	uint32_t *semi = NULL, *label = NULL, *ancestor = NULL, *stack = NULL;
	struct memdbg_error *err = NULL;
	if (!pre || !vertex || !parent || !dfs) {
		err = memdbg_enomem;
		goto out;
	}
	memset(pre, 0xff, (size_t)n * sizeof(*pre));
	/* Iterative DFS from the super-root. */
	uint32_t count = 0, sp = 0;
	pre[0] = count;
	vertex[count] = 0;
	parent[count++] = NONE;
	dfs[sp++] = (struct dfs_frame){ 0, b->fwd.off[0] };
	while (sp) {
		struct dfs_frame *f = &dfs[sp - 1];
		if (f->next == b->fwd.off[f->node + 1]) {
			sp--;
			continue;
		}
		uint32_t w = b->fwd.to[f->next++];
		if (pre[w] != NONE)
			continue;
		pre[w] = count;
		vertex[count] = w;
		parent[count++] = pre[f->node];
		dfs[sp++] = (struct dfs_frame){ w, b->fwd.off[w] };
	}
	free(dfs);
	dfs = NULL;
	/* Unreached nodes numbered after the reached ones, so that every predecessor has a number. */
	for (uint32_t v = 0, i = count; v < n; v++)
		if (pre[v] == NONE) {
			pre[v] = i;
			vertex[i++] = v;
		}
	if ((err = build_reverse(b, pre)))
		goto out;
	free(pre);
	pre = NULL;
	semi = malloc((size_t)n * sizeof(*semi));
	label = malloc((size_t)n * sizeof(*label));
	ancestor = malloc((size_t)n * sizeof(*ancestor));
	stack = malloc((size_t)n * sizeof(*stack)); /* eval's path, touched only as long as the longest */
	if (!semi || !label || !ancestor || !stack) {
		err = memdbg_enomem;
		goto out;
	}
	for (uint32_t i = 0; i < count; i++) {
		semi[i] = i;
		label[i] = i;
		ancestor[i] = NONE;
	}
	/* Semidominators, in reverse preorder. */
	for (uint32_t i = count; i-- > 1;) {
		if ((i & 0xffff) == 0) {
			memdbg_progress(p, "building the dominator tree", count - i, count);
			if ((err = memdbg_check_interrupt(p)))
				goto out;
		}
		uint32_t w = vertex[i];
		for (uint32_t k = g->rev_off[w]; k < g->rev_off[w + 1]; k++) {
			uint32_t v = g->rev[k];
			if (v >= count)
				continue;
			/* eval(v): the label with the smallest semi on v's compressed path. */
			uint32_t u = v;
			if (ancestor[v] != NONE) {
				uint32_t top = 0;
				for (uint32_t x = v; ancestor[ancestor[x]] != NONE; x = ancestor[x])
					stack[top++] = x;
				while (top--) {
					uint32_t x = stack[top];
					if (semi[label[ancestor[x]]] < semi[label[x]])
						label[x] = label[ancestor[x]];
					ancestor[x] = ancestor[ancestor[x]];
				}
				u = label[v];
			}
			if (semi[u] < semi[i])
				semi[i] = semi[u];
		}
		ancestor[i] = parent[i];  /* link */
	}
	memdbg_progress(p, "building the dominator tree", 1, 1);
	free(ancestor);
	free(stack);
	ancestor = stack = NULL;
	/* idom as the nearest ancestor at or above the semidominator. */
	uint32_t *idom = label;  /* reuse: preorder -> preorder idom */
	idom[0] = 0;
	for (uint32_t i = 1; i < count; i++) {
		uint32_t d = parent[i];
		while (d > semi[i])
			d = idom[d];
		idom[i] = d;
	}
	free(semi);
	free(parent);
	semi = parent = NULL;
	if (!(g->idom = malloc((size_t)n * sizeof(*g->idom)))) {
		err = memdbg_enomem;
		goto out;
	}
	memset(g->idom, 0xff, (size_t)n * sizeof(*g->idom));
	for (uint32_t i = 0; i < count; i++)
		g->idom[vertex[i]] = vertex[idom[i]];
	free(label);
	label = NULL;
	/* The reverse index back to node numbers. */
	for (uint64_t k = 0; k < g->edges; k++)
		g->rev[k] = vertex[g->rev[k]];
	err = retained_sizes(b, vertex, count);
out:
	free(pre);
	free(vertex);
	free(parent);
	free(dfs);
	free(semi);
	free(label);
	free(ancestor);
	free(stack);
	return err;
}

struct memdbg_error *go_graph_get(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o,
				  struct memdbg_printer *p, struct go_graph **ret)
{
	if (go->graph) {
		*ret = go->graph;
		return NULL;
	}
	struct build b = { .t = t, .go = go, .o = o };
	if (!(b.g = calloc(1, sizeof(*b.g))))
		return memdbg_enomem;
	struct memdbg_error *err;
	if (!(err = build_edges(&b, p)))
		err = dominators(&b, p);
	free(b.fwd.off);
	free(b.fwd.to);
	if (err) {
		go_graph_destroy(b.g);
		return err;
	}
	go->graph = b.g;
	*ret = b.g;
	return NULL;
}

void go_graph_destroy(struct go_graph *g)
{
	if (!g)
		return;
	free(g->rank);
	free(g->select_word);
	free(g->root_index);
	free(g->rev_off);
	free(g->rev);
	free(g->idom);
	free(g->retained);
	free(g->retained_count);
	free(g);
}
