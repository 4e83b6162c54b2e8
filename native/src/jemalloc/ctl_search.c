/*
 * ctl_search.c - the last resort for a stripped jemalloc that no table
 * knows: its own mallctl name tree.  The tree's ctl_named_node_t records
 * (in the library's relocated read-only data) lead from names such as
 * "opt.narenas" to handler functions, and each handler's code refers to the
 * global it reports.  Each address found is checked against what that
 * global must hold; the few counts no handler reads are the values
 * malloc_init_narenas gives them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <elf.h>

#include "alloc/alloc.h"
#include "jemalloc/je.h"

#define NODE_SIZE 40        /* ctl_named_node_t: named, name, nchildren, children, ctl */
#define MAX_CHILDREN 128    /* root_node has 13 children, "opt" (the most) 65 in 5.3 */
#define MAX_RELRO (4u << 20)
#define CODE_WINDOW 4096    /* a handler and what the compiler put after it */
#define MAX_REFS 256
#define GLOBALS_SPAN (256ull << 20)
#define TCACHE_MAX_LIMIT (8ull << 20)  /* TCACHE_MAXCLASS_LIMIT */

const char je_ctl_no_root[] = "root node";

struct ctl_tree {
	struct memdbg_target *t;
	const struct je_heap *h;
	uint8_t *relro;           /* the relocated read-only data, read from the target */
	uint64_t lo, hi;
	uint64_t root, nroot;     /* root_node[] */
	const char *missing;      /* what was not found, for the error */
};

struct ctl_node {
	bool named;
	uint64_t name, nchildren, children, fn;  /* fn: ctl handler, or the index function of an indexed node */
};

static bool in_relro(const struct ctl_tree *c, uint64_t addr, uint64_t len)
{
	return addr >= c->lo && addr <= c->hi && len <= c->hi - addr;
}

static bool read_node(const struct ctl_tree *c, uint64_t addr, struct ctl_node *n)
{
	if (!in_relro(c, addr, NODE_SIZE))
		return false;
	const uint8_t *p = c->relro + (addr - c->lo);
	n->named = p[0] != 0;
	if (!n->named) {  /* ctl_indexed_node_t: named, index */
		memcpy(&n->fn, p + 8, 8);
		n->name = n->nchildren = n->children = 0;
		return true;
	}
	memcpy(&n->name, p + 8, 8);
	memcpy(&n->nchildren, p + 16, 8);
	memcpy(&n->children, p + 24, 8);
	memcpy(&n->fn, p + 32, 8);
	return n->nchildren <= MAX_CHILDREN && (!n->nchildren || in_relro(c, n->children, 8));
}

static bool name_is(const struct ctl_tree *c, uint64_t addr, const char *want)
{
	char buf[32];
	size_t len = strlen(want) + 1;
	return len <= sizeof(buf) && alloc_read(c->t, addr, buf, len) && memcmp(buf, want, len) == 0;
}

/*
 * Targets of the RIP-relative operands in the code at addr, in order: lea,
 * mov and movzx loads, cmp and test with an immediate.  A byte scan, not a
 * disassembly, so a stray match is possible; every use checks what it finds.
 */
static size_t code_refs(struct memdbg_target *t, uint64_t addr, uint64_t *refs, size_t max)
{
	uint8_t code[CODE_WINDOW];
	size_t len = 0, n = 0;
	while (len < sizeof(code) && alloc_read(t, addr + len, code + len, 256))
		len += 256;
	for (size_t i = 0; i + 7 <= len && n < max; i++) {
		size_t at = i + ((code[i] & 0xf0) == 0x40), imm = 0;  /* after a REX prefix */
		uint8_t op = code[at];
		if (op == 0x0f && at + 1 < len && (code[at + 1] == 0xb6 || code[at + 1] == 0xb7))
			at++;
		else if (op == 0x80 || op == 0x83 || op == 0xf6)
			imm = 1;
		else if (op != 0x8d && op != 0x8b && op != 0x3b && op != 0x39)
			continue;
		if (at + 6 + imm > len || (code[at + 1] & 0xc7) != 0x05)  /* mod 00, r/m 101: disp32(%rip) */
			continue;
		int32_t disp;
		memcpy(&disp, code + at + 2, 4);
		size_t next = at + 6 + imm;
		refs[n++] = addr + next + (uint64_t)(int64_t)disp;
		i = next - 1;
	}
	return n;
}

/* The child of parent called name; "0" steps through an indexed node (arenas.bin.0). */
static bool child(const struct ctl_tree *c, const struct ctl_node *parent, const char *name, struct ctl_node *out)
{
	struct ctl_node n;
	if (!parent->named || !parent->nchildren || !read_node(c, parent->children, &n))
		return false;
	if (!n.named) {
		/* The index function returns a nameless node whose children are the next level. */
		uint64_t refs[8];
		size_t nrefs = strcmp(name, "0") == 0 ? code_refs(c->t, n.fn, refs, 8) : 0;
		for (size_t i = 0; i < nrefs; i++)
			if (read_node(c, refs[i], out) && out->named && name_is(c, out->name, ""))
				return true;
		return false;
	}
	for (uint64_t i = 0; i < parent->nchildren; i++)
		if (read_node(c, parent->children + i * NODE_SIZE, out) && out->named && name_is(c, out->name, name))
			return true;
	return false;
}

/* The node at a dotted mallctl name, from the root. */
static bool lookup(const struct ctl_tree *c, const char *path, struct ctl_node *out)
{
	struct ctl_node n = { .named = true, .nchildren = c->nroot, .children = c->root };
	char buf[64], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *part = strtok_r(buf, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
		struct ctl_node next;
		if (!child(c, &n, part, &next))
			return false;
		n = next;
	}
	*out = n;
	return n.named && n.fn;
}

/* The root: a nameless node without a handler whose children include "opt" and "arenas". */
static bool find_root(struct ctl_tree *c)
{
	for (uint64_t a = c->lo; a + NODE_SIZE <= c->hi; a += 8) {
		struct ctl_node n, k;
		if (!read_node(c, a, &n) || !n.named || n.fn || n.nchildren < 2 || !name_is(c, n.name, ""))
			continue;
		c->root = n.children;
		c->nroot = n.nchildren;
		if (child(c, &n, "opt", &k) && child(c, &n, "arenas", &k))
			return true;
	}
	return false;
}

/* Globals are in the data after the relocated read-only part, near it. */
static bool plausible_global(const struct ctl_tree *c, uint64_t addr)
{
	return addr >= c->hi && addr - c->hi < GLOBALS_SPAN;
}

typedef bool (*check_fn)(const struct ctl_tree *c, uint64_t addr);

static bool check_count(const struct ctl_tree *c, uint64_t addr)
{
	uint32_t v;
	return alloc_read(c->t, addr, &v, 4) && v >= 1 && v <= c->h->l->arenas_max;
}

static bool check_bool(const struct ctl_tree *c, uint64_t addr)
{
	uint8_t v;
	return alloc_read(c->t, addr, &v, 1) && v <= 1;
}

static bool check_tcache_max(const struct ctl_tree *c, uint64_t addr)
{
	uint64_t v;
	return alloc_read(c->t, addr, &v, 8) && v <= TCACHE_MAX_LIMIT;
}

static bool check_readable(const struct ctl_tree *c, uint64_t addr)
{
	uint64_t v;
	return alloc_read(c->t, addr, &v, 8);
}

/* Arena 0 says it is arena 0 and has a base allocator. */
static bool check_arenas(const struct ctl_tree *c, uint64_t addr)
{
	const struct je_layout *l = c->h->l;
	uint64_t a0, base;
	uint32_t ind;
	return alloc_read(c->t, addr, &a0, 8) && a0 && alloc_read(c->t, a0 + l->arena_ind, &ind, 4) && ind == 0 &&
	       alloc_read(c->t, a0 + l->arena_base, &base, 8) && base;
}

/* The emap's rtree starts with its base allocator, b0: arena 0's. */
static bool check_emap(const struct ctl_tree *c, uint64_t addr)
{
	const struct je_layout *l = c->h->l;
	uint64_t a0, b0, base;
	return alloc_read(c->t, c->h->sym[JE_SYM_ARENAS], &a0, 8) && alloc_read(c->t, a0 + l->arena_base, &b0, 8) &&
	       alloc_read(c->t, addr, &base, 8) && base == b0;
}

/* arena_bin_offsets: the first bin at arena_t.bins, each class's shards after the last one's. */
static bool check_bin_offsets(const struct ctl_tree *c, uint64_t addr)
{
	const struct je_layout *l = c->h->l;
	uint32_t off[JE_MAX_BINS], shards;
	if (l->nbins > JE_MAX_BINS || !alloc_read(c->t, addr, off, l->nbins * 4) || off[0] != l->arena_bins)
		return false;
	for (uint64_t i = 1; i < l->nbins; i++) {
		uint64_t info = c->h->sym[JE_SYM_BIN_INFOS] + (i - 1) * l->bin_info_size + l->bin_info_n_shards;
		if (!alloc_read(c->t, info, &shards, 4) || off[i] != off[i - 1] + shards * l->bin_size)
			return false;
	}
	return true;
}

/*
 * The global a handler reports.  A plain getter's first reference is it
 * (any = false: nothing else is tried); a handler that does more work is
 * searched for a reference that passes check (any = true).
 */
static uint64_t global_of(struct ctl_tree *c, const char *path, bool any, check_fn check)
{
	struct ctl_node n;
	uint64_t refs[MAX_REFS];
	if (!lookup(c, path, &n)) {
		c->missing = path;
		return 0;
	}
	size_t nrefs = code_refs(c->t, n.fn, refs, MAX_REFS);
	for (size_t i = 0; i < nrefs; i++) {
		if (!plausible_global(c, refs[i]))
			continue;
		if (check(c, refs[i]))
			return refs[i];
		if (!any)
			break;
	}
	c->missing = path;
	return 0;
}

/*
 * What malloc_init_narenas makes of opt.narenas: as many automatic arenas
 * (at most MALLOCX_ARENA_LIMIT - 1), the huge arena next when
 * opt.oversize_threshold is on, manual arenas from there.  The total is the
 * highest arena that exists, or that base.
 */
static struct memdbg_error *derive_counts(struct ctl_tree *c, struct je_heap *h, uint64_t oversize)
{
	uint32_t opt;
	uint64_t max = h->l->arenas_max, *arenas = calloc(max, 8);
	struct memdbg_error *err;
	if (!arenas)
		return memdbg_enomem;
	if ((err = memdbg_read_u32(c->t, h->sym[JE_SYM_OPT_NARENAS], &opt)) ||
	    (err = memdbg_read(c->t, h->sym[JE_SYM_ARENAS], arenas, max * 8))) {
		free(arenas);
		return memdbg_error_prefix(err, "reading jemalloc's arenas");
	}
	h->narenas_auto = opt < max ? opt : (uint32_t)max - 1;
	h->huge_arena_ind = oversize ? h->narenas_auto : 0;
	h->manual_arena_base = h->narenas_auto + (oversize != 0);
	h->narenas_total = h->manual_arena_base;
	for (uint64_t i = h->narenas_total; i < max; i++)
		if (arenas[i])
			h->narenas_total = (uint32_t)i + 1;
	free(arenas);
	return NULL;
}

struct memdbg_error *je_ctl_search(struct memdbg_target *t, const struct memdbg_elf *elf, uint64_t base,
				   struct je_heap *h, const char **missing)
{
	struct ctl_tree c = { .t = t, .h = h, .missing = je_ctl_no_root };
	uint64_t addr, size;
	struct memdbg_error *err = NULL;
	*missing = c.missing;
	if (!memdbg_elf_segment(elf, PT_GNU_RELRO, &addr, &size) || !size || size > MAX_RELRO)
		return NULL;
	c.lo = base + addr;
	c.hi = c.lo + size;
	if (!(c.relro = malloc(size)))
		return memdbg_enomem;
	if (!alloc_read(t, c.lo, c.relro, size) || !find_root(&c))
		goto out;
	uint64_t *s = h->sym, oversize_at;
	if (!(s[JE_SYM_OPT_NARENAS] = global_of(&c, "opt.narenas", false, check_count)) ||
	    !(s[JE_SYM_OPT_TCACHE] = global_of(&c, "opt.tcache", false, check_bool)) ||
	    !(s[JE_SYM_OPT_TCACHE_MAX] = global_of(&c, "opt.tcache_max", false, check_tcache_max)) ||
	    !(oversize_at = global_of(&c, "opt.oversize_threshold", false, check_readable)) ||
	    !(s[JE_SYM_NHBINS] = global_of(&c, "arenas.nhbins", false, check_count)) ||
	    !(s[JE_SYM_BIN_INFOS] = global_of(&c, "arenas.bin.0.size", false, check_readable)) ||
	    !(s[JE_SYM_SZ_INDEX2SIZE_TAB] = global_of(&c, "arenas.lextent.0.size", false, check_readable)) ||
	    !(s[JE_SYM_ARENAS] = global_of(&c, "arenas.lookup", true, check_arenas)) ||
	    !(s[JE_SYM_ARENA_EMAP_GLOBAL] = global_of(&c, "arenas.lookup", true, check_emap)) ||
	    !(s[JE_SYM_ARENA_BIN_OFFSETS] = global_of(&c, "stats.mutexes.reset", true, check_bin_offsets)))
		goto out;
	/* A build without profiling has a handler that reads nothing: opt_prof stays false. */
	s[JE_SYM_OPT_PROF] = global_of(&c, "opt.prof", false, check_bool);
	uint64_t oversize;
	if ((err = memdbg_read_u64(t, oversize_at, &oversize)) || (err = derive_counts(&c, h, oversize)))
		goto out;
	c.missing = NULL;
out:
	*missing = c.missing;
	free(c.relro);
	return err;
}
