/*
 * triage.c - one report of the commands that answer "where did the memory go":
 * go-info, memstats, the top types, the top retainers, pool residue, frag and
 * findings, each run as itself inside one document (an object keyed by the
 * command's name).  --html FILE also writes a self-contained page of the same
 * report with a retention flame graph and a map of span utilization.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "go/graph.h"
#include "go/html.h"
#include "go/triage_html.h"

/* commands.c: run another command inside p, as an object keyed by its name. */
struct memdbg_error *memdbg_run_nested(struct memdbg_target *t, struct memdbg_printer *p, int argc, char **argv);

#define FLAME_MAX_FRAMES 20000  /* frames written to the page; the rest only add to their parents */
#define FLAME_MIN_PERMILLE 1    /* frames under 0.1% of the total are left out */
#define SPAN_MAP_MAX (1u << 21) /* in-use spans in the picture */

static const char *const sections[][4] = {
	{ "go-info" },
	{ "memstats" },
	{ "histogram", "--top", "20" },
	{ "top-retainers", "-n", "20" },
	{ "pool-residue" },
	{ "frag" },
	{ "findings" },
};

/*
 * Each section is one nested command.  One that fails keeps what it printed,
 * gets an "error" and the report goes on; only an interrupt or running out
 * of memory ends it.  Some sections failed: the report is partial.  All of
 * them failed: there is no report, and triage fails with the first error.
 */
static struct memdbg_error *run_sections(struct memdbg_target *t, struct memdbg_printer *p)
{
	size_t failed = 0;
	const char *first_name = NULL;
	struct memdbg_error *first = NULL;
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(sections); i++) {
		char *argv[4];
		int argc = 0, depth = memdbg_printer_depth(p);
		for (; argc < 4 && sections[i][argc]; argc++)
			argv[argc] = (char *)sections[i][argc];
		struct memdbg_error *err = memdbg_run_nested(t, p, argc, argv);
		if (err == memdbg_interrupted || err == memdbg_enomem || (err && memdbg_printer_depth(p) <= depth)) {
			memdbg_error_destroy(first);
			return err;
		}
		if (err) {
			memdbg_printer_unwind(p, depth + 1, memdbg_error_message(err));
			memdbg_end_object(p);
			failed++;
			if (!first) {
				first = err;
				first_name = sections[i][0];
			} else {
				memdbg_error_destroy(err);
			}
		}
	}
	if (failed == MEMDBG_ARRAY_SIZE(sections))
		return memdbg_error_prefix(first, "triage: every section failed, %s", first_name);
	if (failed)
		memdbg_partial(p, "triage: %zu of %zu sections failed, the first %s: %s", failed,
			       MEMDBG_ARRAY_SIZE(sections), first_name, memdbg_error_message(first));
	memdbg_error_destroy(first);
	return NULL;
}

/* ---- the retention flame graph: dominator chains by type, as top-retainers --pprof ---- */

#define NONE UINT32_MAX

enum { FRAME_ALL, FRAME_ROOT, FRAME_SEVERAL, FRAME_TYPE };

struct frame {
	uint32_t parent;  /* NONE for the bottom frame */
	uint32_t node;    /* graph node that named it: a root node, an object node, or 0 */
	uint32_t type;    /* object frames: otype index (0 unknown) */
	uint8_t kind;     /* FRAME_ALL, FRAME_ROOT, FRAME_SEVERAL, FRAME_TYPE */
	uint64_t self, objects, total;
	uint32_t out;     /* index among the written frames, or NONE */
};

struct frames {
	struct frame *f;
	size_t n, cap;
	uint32_t *hash;  /* type frames by (parent, type): open addressing, NONE empty */
	size_t hcap;
};

static size_t frame_hash(uint32_t parent, uint32_t type, size_t mask)
{
	uint64_t k = ((uint64_t)parent << 32 | type) * 0x9e3779b97f4a7c15ull;
	return (size_t)(k >> 29) & mask;
}

static bool frames_rehash(struct frames *fs, size_t hcap)
{
	uint32_t *h = malloc(hcap * sizeof(*h));
	if (!h)
		return false;
	memset(h, 0xff, hcap * sizeof(*h));
	for (size_t i = 0; i < fs->n; i++) {
		if (fs->f[i].kind != FRAME_TYPE)
			continue;
		size_t j = frame_hash(fs->f[i].parent, fs->f[i].type, hcap - 1);
		while (h[j] != NONE)
			j = (j + 1) & (hcap - 1);
		h[j] = (uint32_t)i;
	}
	free(fs->hash);
	fs->hash = h;
	fs->hcap = hcap;
	return true;
}

static uint32_t frame_add(struct frames *fs, const struct frame *f)
{
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 1024;
		struct frame *nf = realloc(fs->f, cap * sizeof(*nf));
		if (!nf)
			return NONE;
		fs->f = nf;
		fs->cap = cap;
	}
	if (fs->n >= NONE)
		return NONE;
	fs->f[fs->n] = *f;
	return (uint32_t)fs->n++;
}

/* The child of parent for type ty (the same type path merges into one frame), made when new. */
static uint32_t type_frame(struct frames *fs, uint32_t parent, uint32_t node, uint32_t ty)
{
	if (2 * (fs->n + 1) > fs->hcap && !frames_rehash(fs, fs->hcap ? 2 * fs->hcap : 4096))
		return NONE;
	size_t mask = fs->hcap - 1, j = frame_hash(parent, ty, mask);
	for (; fs->hash[j] != NONE; j = (j + 1) & mask) {
		const struct frame *f = &fs->f[fs->hash[j]];
		if (f->parent == parent && f->type == ty)
			return fs->hash[j];
	}
	uint32_t i = frame_add(fs, &(struct frame){ .parent = parent, .node = node, .type = ty, .kind = FRAME_TYPE });
	if (i != NONE)
		fs->hash[j] = i;
	return i;
}

/*
 * Frame 0 is everything, frame 1 the objects several roots share (dominated
 * by the super-root itself).  Each root node gets a frame above 0; each
 * object adds its slot to the frame of its dominator chain's type path
 * (root; T1; T2; ...; its type), with runs of one type (linked lists) folded
 * into one frame, as top-retainers --pprof does.  Parents precede children.
 */
static struct memdbg_error *build_frames(const struct go_objects *o, const struct go_graph *g, struct frames *fs)
{
	struct memdbg_error *err = NULL;
	uint32_t *frame_of = malloc((size_t)g->nnodes * sizeof(*frame_of));
	uint32_t *stack = malloc((size_t)g->nnodes * sizeof(*stack));
	if (!frame_of || !stack) {
		err = memdbg_enomem;
		goto out;
	}
	memset(frame_of, 0xff, (size_t)g->nnodes * sizeof(*frame_of));
	if (frame_add(fs, &(struct frame){ .parent = NONE, .kind = FRAME_ALL }) == NONE ||
	    frame_add(fs, &(struct frame){ .parent = 0, .kind = FRAME_SEVERAL }) == NONE) {
		err = memdbg_enomem;
		goto out;
	}
	frame_of[0] = 0;
	uint32_t first = go_graph_first_obj(g);
	for (uint32_t v = 1; v < g->nnodes; v++) {
		if (g->idom[v] >= g->nnodes || frame_of[v] != NONE)
			continue;
		size_t sp = 0;
		uint32_t u = v;
		while (u < g->nnodes && frame_of[u] == NONE && sp < g->nnodes) {
			stack[sp++] = u;
			u = g->idom[u];
		}
		if (u >= g->nnodes || frame_of[u] == NONE)
			continue;  /* a chain that leaves the tree: not in the picture */
		while (sp) {
			u = stack[--sp];
			uint32_t d = g->idom[u], pf = frame_of[d];
			if (u < first) {
				frame_of[u] = frame_add(fs, &(struct frame){ .parent = pf, .node = u, .kind = FRAME_ROOT });
			} else {
				uint64_t id = go_graph_id(g, u);
				uint32_t ty = id < o->nslots ? o->type[id] : 0;
				if (pf == 0)
					pf = 1;
				const struct frame *pfr = &fs->f[pf];
				if (pfr->kind == FRAME_TYPE && pfr->type == ty)
					frame_of[u] = pf;
				else
					frame_of[u] = type_frame(fs, pf, u, ty);
				const struct go_heap_span *h = go_span_of_id(o, id);
				if (frame_of[u] != NONE && h) {
					fs->f[frame_of[u]].self += h->elemsize;
					fs->f[frame_of[u]].objects++;
				}
			}
			if (frame_of[u] == NONE) {
				err = memdbg_enomem;
				goto out;
			}
		}
	}
	/* Totals: children after parents, so one pass backwards. */
	for (size_t i = fs->n; i-- > 0;) {
		fs->f[i].total += fs->f[i].self;
		if (i)
			fs->f[fs->f[i].parent].total += fs->f[i].total;
	}
out:
	free(frame_of);
	free(stack);
	return err;
}

static const char *frame_name(const struct go_objects *o, const struct go_graph *g, const struct frame *f)
{
	switch (f->kind) {
	case FRAME_ALL: return "all";
	case FRAME_SEVERAL: return "(several roots)";
	case FRAME_ROOT: return o->roots[g->root_index[f->node]].name;
	default: break;
	}
	if (f->type && f->type < o->notypes && o->otypes[f->type].name)
		return o->otypes[f->type].name;
	return "(unknown type)";
}

static struct memdbg_error *print_flame(struct memdbg_target *t, struct memdbg_printer *p)
{
	static const char *const kinds[] = { "all", "root", "roots", "type" };
	static const struct memdbg_col cols[] = {
		{ "parent", MEMDBG_COL_I64, 6 },
		{ "name", MEMDBG_COL_STR, -40 },
		{ "kind", MEMDBG_COL_STR, -5 },
		{ "bytes", MEMDBG_COL_U64, 12 },
		{ "self", MEMDBG_COL_U64, 12 },
		{ "objects", MEMDBG_COL_U64, 10 },
	};
	struct memdbg_go *go;
	struct go_objects *o;
	struct go_graph *g;
	struct memdbg_error *err;
	if ((err = memdbg_go_get(t, &go)) || (err = go_objects_get(t, go, p, &o)) || (err = go_graph_get(t, go, o, p, &g)))
		return err;
	struct frames fs = { 0 };
	if ((err = build_frames(o, g, &fs))) {
		free(fs.f);
		free(fs.hash);
		return err;
	}
	uint64_t total = fs.f[0].total, min = total * FLAME_MIN_PERMILLE / 1000, written = 0, dropped = 0;
	memdbg_begin_object(p, "flame", "Retention flame graph");
	memdbg_field_u64(p, "total_bytes", total);
	memdbg_table_begin(p, "frames", cols, MEMDBG_ARRAY_SIZE(cols));
	for (size_t i = 0; i < fs.n; i++) {
		struct frame *f = &fs.f[i];
		bool parent_out = !i || fs.f[f->parent].out != NONE;
		f->out = NONE;
		if (!parent_out || (i && (f->total == 0 || f->total < min)) || written >= FLAME_MAX_FRAMES) {
			dropped++;
			continue;
		}
		f->out = (uint32_t)written++;
		struct memdbg_val v[6] = { { .u = i ? (uint64_t)fs.f[f->parent].out : (uint64_t)-1 },
					   { .s = frame_name(o, g, f) }, { .s = kinds[f->kind] }, { .u = f->total },
					   { .u = f->self }, { .u = f->objects } };
		memdbg_table_row(p, v);
	}
	memdbg_table_end(p);
	memdbg_field_u64(p, "frames_left_out", dropped);
	memdbg_end_object(p);
	free(fs.f);
	free(fs.hash);
	return NULL;
}

/* ---- the span map: one cell per in-use span, its utilization and class ---- */

struct span_cell {
	uint64_t start;
	uint8_t util, cls;  /* util 0..100, 255 when the allocation bits were unreadable */
};

static int cell_cmp(const void *a, const void *b)
{
	const struct span_cell *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static struct memdbg_error *print_span_map(struct memdbg_target *t, struct memdbg_printer *p)
{
	static const char hex[] = "0123456789abcdef";
	struct memdbg_go *go;
	struct memdbg_error *err;
	if ((err = memdbg_go_get(t, &go)) || (err = memdbg_go_load_spans(t, go, p)))
		return err;
	size_t n = 0;
	for (size_t i = 0; i < go->nspans; i++)
		n += go->spans[i].state == go->l.span_in_use;
	size_t shown = n < SPAN_MAP_MAX ? n : SPAN_MAP_MAX;
	struct span_cell *cells = calloc(shown ? shown : 1, sizeof(*cells));
	char *util = malloc(2 * shown + 1), *cls = malloc(2 * shown + 1);
	if (!cells || !util || !cls) {
		free(cells);
		free(util);
		free(cls);
		return memdbg_enomem;
	}
	size_t k = 0;
	for (size_t i = 0; i < go->nspans && k < shown; i++) {
		const struct go_span *s = &go->spans[i];
		if (s->state != go->l.span_in_use)
			continue;
		struct span_cell *c = &cells[k++];
		c->start = s->start;
		c->cls = (uint8_t)go_size_class(s->spanclass);
		if (!s->bits_readable || !s->nelems || s->allocated > s->nelems)
			c->util = 255;
		else
			c->util = (uint8_t)((200u * s->allocated + s->nelems) / (2u * s->nelems));
	}
	qsort(cells, k, sizeof(*cells), cell_cmp);
	for (size_t i = 0; i < k; i++) {
		util[2 * i] = hex[cells[i].util >> 4];
		util[2 * i + 1] = hex[cells[i].util & 15];
		cls[2 * i] = hex[cells[i].cls >> 4];
		cls[2 * i + 1] = hex[cells[i].cls & 15];
	}
	util[2 * k] = cls[2 * k] = '\0';
	memdbg_begin_object(p, "span_map", "Span utilization");
	memdbg_field_u64(p, "inuse_spans", n);
	memdbg_field_u64(p, "shown", k);
	memdbg_field_hex(p, "first", k ? cells[0].start : 0);
	memdbg_field_hex(p, "last", k ? cells[k - 1].start : 0);
	memdbg_field_str(p, "util", util);   /* two hex digits per span, ff: unreadable */
	memdbg_field_str(p, "class", cls);   /* two hex digits per span, 00: large object */
	memdbg_end_object(p);
	free(cells);
	free(util);
	free(cls);
	return NULL;
}

/* ---- the HTML page ---- */

/* The report as one JSON document, plus the flame graph's frames and the span map. */
static struct memdbg_error *page_data(struct memdbg_target *t, struct html_buf *b)
{
	struct memdbg_out out = { .write = html_buf_write, .arg = b, .json = true };
	struct memdbg_printer *bp = memdbg_printer_create(&out);
	if (!bp)
		return memdbg_enomem;
	memdbg_field_str(bp, "command", "triage");
	struct memdbg_error *err = run_sections(t, bp);
	if (!err)
		err = print_flame(t, bp);
	if (!err)
		err = print_span_map(t, bp);
	if (err)
		memdbg_printer_fail(bp, memdbg_error_message(err));
	memdbg_printer_destroy(bp);
	if (!err && b->oom)
		err = memdbg_enomem;
	return err;
}

static struct memdbg_error *write_html(struct memdbg_target *t, const char *path)
{
	struct html_buf b = { 0 };
	struct memdbg_error *err = page_data(t, &b);
	if (!err)
		err = html_write(path, triage_html, b.d, b.len);
	free(b.d);
	return err;
}

static struct memdbg_error *run_triage(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p)
{
	const char *html = memdbg_arg_value(a, "--html");
	if (html && !*html)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "triage: --html wants a file name");
	struct memdbg_error *err = run_sections(t, p);
	if (err || !html)
		return err;
	if ((err = write_html(t, html)))
		return err;
	if (memdbg_printer_json(p))
		memdbg_field_str(p, "html", html);
	else
		memdbg_note(p, "wrote %s (open it in a browser; it needs no network)", html);
	return NULL;
}

static const struct memdbg_opt triage_opts[] = {
	{ "--html", "FILE", "also write a self-contained HTML report with a flame graph and a span map" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_triage = {
	.info = {
		.name = "triage",
		.summary = "one report: go-info, memstats, top types and retainers, pools, frag, findings",
		.usage = "triage [--html FILE] [--json]",
		.help = "Runs go-info, memstats, histogram --top 20, top-retainers -n 20, pool-residue,\n"
			"frag and findings, each exactly as on its own, in one report (with --json one\n"
			"document, each section an object keyed by the command's name).  --html FILE\n"
			"writes the same report as one self-contained page (no network): the headline\n"
			"figures, the tables, a retention flame graph (dominator chains by type from the\n"
			"roots, width = retained bytes) and one cell per in-use span colored by utilization.",
	},
	.opts = triage_opts,
	.needs_target = true,
	.run = run_triage,
};
