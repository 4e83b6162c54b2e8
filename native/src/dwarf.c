/*
 * dwarf.c - type layouts, constants and globals from the executable's DWARF.
 *
 * Go puts every named type, constant and global at the top level of a
 * compile unit, so one pass over the CU children builds a name index; member
 * lookups then walk a single struct DIE.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct dwarf_entry {
	const char *name;
	Dwarf_Off offset;
	int tag;
};

struct dwarf_func {
	uint64_t lo, hi;
	Dwarf_Off offset;
};

struct memdbg_dwarf {
	Dwarf *dw;
	const struct memdbg_dwarf_ops *ops;  /* a stand-in answers instead of dw */
	void *ops_arg;
	FILE *audit;  /* MEMDBG_DWARF_AUDIT: every layout lookup and its answer */
	struct dwarf_entry *entries;
	size_t n;
	struct dwarf_func *funcs;  /* subprograms by address, built on first use */
	size_t nfuncs;
	bool funcs_done;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct dwarf_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->tag - y->tag;
}

static bool indexed_tag(int tag)
{
	switch (tag) {
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_typedef:
	case DW_TAG_base_type:
	case DW_TAG_pointer_type:
	case DW_TAG_array_type:
	case DW_TAG_constant:
	case DW_TAG_variable:
		return true;
	default:
		return false;
	}
}

struct memdbg_error *memdbg_dwarf_create(Dwarf *dw, struct memdbg_dwarf **ret)
{
	struct memdbg_dwarf *d = calloc(1, sizeof(*d));
	if (!d)
		return memdbg_enomem;
	d->dw = dw;
	size_t cap = 0;
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, child;
		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &child) == 0) {
			do {
				int tag = dwarf_tag(&child);
				if (!indexed_tag(tag))
					continue;
				const char *name = dwarf_diename(&child);
				if (!name)
					continue;
				if (d->n == cap) {
					cap = cap ? 2 * cap : 4096;
					struct dwarf_entry *e = realloc(d->entries, cap * sizeof(*e));
					if (!e) {
						memdbg_dwarf_destroy(d);
						return memdbg_enomem;
					}
					d->entries = e;
				}
				d->entries[d->n++] = (struct dwarf_entry){ name, dwarf_dieoffset(&child), tag };
			} while (dwarf_siblingof(&child, &child) == 0);
		}
		off = next;
	}
	qsort(d->entries, d->n, sizeof(*d->entries), entry_cmp);
	/* The layout tables of stripped Go builds are checked against the lookups DWARF answered. */
	const char *audit = getenv("MEMDBG_DWARF_AUDIT");
	if (audit && *audit)
		d->audit = fopen(audit, "a");
	*ret = d;
	return NULL;
}

struct memdbg_error *memdbg_dwarf_create_ops(const struct memdbg_dwarf_ops *ops, void *arg, struct memdbg_dwarf **ret)
{
	struct memdbg_dwarf *d = calloc(1, sizeof(*d));
	if (!d)
		return memdbg_enomem;
	d->ops = ops;
	d->ops_arg = arg;
	*ret = d;
	return NULL;
}

void *memdbg_dwarf_ops_arg(const struct memdbg_dwarf *d, const struct memdbg_dwarf_ops *ops)
{
	return d && d->ops == ops ? d->ops_arg : NULL;
}

bool memdbg_dwarf_is_debug_info(const struct memdbg_dwarf *d)
{
	return d && d->dw;
}

const char *memdbg_dwarf_name_at(struct memdbg_dwarf *d, uint64_t addr, uint64_t *offset, char *buf, size_t len)
{
	return d && d->ops && d->ops->name_at ? d->ops->name_at(d->ops_arg, addr, offset, buf, len) : NULL;
}

void memdbg_dwarf_destroy(struct memdbg_dwarf *d)
{
	if (!d)
		return;
	if (d->ops && d->ops->destroy)
		d->ops->destroy(d->ops_arg);
	if (d->audit)
		fclose(d->audit);
	free(d->entries);
	free(d->funcs);
	free(d);
}

/* The index of the first entry whose name is not below name. */
static size_t first_entry(const struct memdbg_dwarf *d, const char *name)
{
	size_t lo = 0, hi = d->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(d->entries[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* First DIE named `name` whose tag satisfies want (NULL: any type tag). */
static bool dwarf_find(struct memdbg_dwarf *d, const char *name, bool (*want)(int tag), Dwarf_Die *die)
{
	size_t lo = first_entry(d, name);
	/* C repeats a struct in every unit that includes it, some only declared: take a definition. */
	for (; lo < d->n && strcmp(d->entries[lo].name, name) == 0; lo++)
		if (want(d->entries[lo].tag) && dwarf_offdie(d->dw, d->entries[lo].offset, die) &&
		    !dwarf_hasattr(die, DW_AT_declaration))
			return true;
	return false;
}

static bool is_type_tag(int tag)
{
	return tag != DW_TAG_constant && tag != DW_TAG_variable;
}

static bool is_constant_tag(int tag)
{
	return tag == DW_TAG_constant;
}

static bool is_variable_tag(int tag)
{
	return tag == DW_TAG_variable;
}

static bool is_aggregate_tag(int tag)
{
	return tag == DW_TAG_structure_type || tag == DW_TAG_union_type;
}

/* Follow typedefs and qualifiers. */
static bool peel(Dwarf_Die *die)
{
	for (int i = 0; i < 16; i++) {
		int tag = dwarf_tag(die);
		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type)
			return true;
		Dwarf_Attribute at;
		if (!dwarf_attr(die, DW_AT_type, &at) || !dwarf_formref_die(&at, die))
			return false;
	}
	return false;
}

static bool die_size(Dwarf_Die *type, uint64_t *size)
{
	Dwarf_Die t = *type;
	if (!peel(&t))
		return false;
	/* Go pointer DIEs carry no byte size. */
	if (dwarf_tag(&t) == DW_TAG_pointer_type) {
		*size = 8;
		return true;
	}
	Dwarf_Word w;
	if (dwarf_aggregate_size(&t, &w) != 0)
		return false;
	*size = w;
	return true;
}

/* A struct or union as peel() left it, replaced by its definition when this unit only declares it. */
static bool aggregate(struct memdbg_dwarf *d, Dwarf_Die *die)
{
	if (!peel(die) || !is_aggregate_tag(dwarf_tag(die)))
		return false;
	if (!dwarf_hasattr(die, DW_AT_declaration))
		return true;
	const char *name = dwarf_diename(die);
	return name && dwarf_find(d, name, is_aggregate_tag, die);
}

static bool dwarf_type_size(struct memdbg_dwarf *d, const char *type, uint64_t *size)
{
	Dwarf_Die die;
	if (!dwarf_find(d, type, is_type_tag, &die))
		return false;
	Dwarf_Die agg = die;
	return aggregate(d, &agg) ? die_size(&agg, size) : die_size(&die, size);
}

bool memdbg_dwarf_type_size(struct memdbg_dwarf *d, const char *type, uint64_t *size)
{
	if (!d)
		return false;
	if (d->ops)
		return d->ops->type_size(d->ops_arg, type, size);
	bool ok = dwarf_type_size(d, type, size);
	if (d->audit)
		fprintf(d->audit, "s\t%s\t\t%d\t%" PRIu64 "\n", type, ok, ok ? *size : 0);
	return ok;
}

/* A member by name; C's anonymous struct and union members are searched through. */
static bool find_member(Dwarf_Die *st, const char *name, size_t name_len, uint64_t *offset, Dwarf_Die *type,
			int depth)
{
	Dwarf_Die child;
	if (depth > 8 || dwarf_child(st, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) != DW_TAG_member)
			continue;
		const char *n = dwarf_diename(&child);
		Dwarf_Attribute at;
		Dwarf_Word off = 0;
		Dwarf_Die t;
		if (n && (strlen(n) != name_len || memcmp(n, name, name_len) != 0))
			continue;
		if (dwarf_attr(&child, DW_AT_data_member_location, &at) && dwarf_formudata(&at, &off) != 0)
			return false;
		if (!dwarf_attr(&child, DW_AT_type, &at) || !dwarf_formref_die(&at, &t))
			return false;
		if (!n) {
			uint64_t inner;
			if (!peel(&t) || !is_aggregate_tag(dwarf_tag(&t)) ||
			    !find_member(&t, name, name_len, &inner, type, depth + 1))
				continue;
			*offset = off + inner;
			return true;
		}
		*type = t;
		*offset = off;
		return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

static bool dwarf_member(struct memdbg_dwarf *d, const char *type, const char *path, uint64_t *offset,
			 uint64_t *size)
{
	Dwarf_Die die;
	if (!dwarf_find(d, type, is_type_tag, &die))
		return false;
	uint64_t total = 0;
	const char *p = path;
	for (;;) {
		if (!aggregate(d, &die))
			return false;
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		uint64_t off;
		if (!find_member(&die, p, len, &off, &die, 0))
			return false;
		total += off;
		if (!dot)
			break;
		p = dot + 1;
	}
	if (size && !die_size(&die, size))
		return false;
	*offset = total;
	return true;
}

bool memdbg_dwarf_member(struct memdbg_dwarf *d, const char *type, const char *path, uint64_t *offset,
			 uint64_t *size)
{
	if (!d)
		return false;
	if (d->ops)
		return d->ops->member(d->ops_arg, type, path, offset, size);
	bool ok = dwarf_member(d, type, path, offset, size);
	uint64_t off = 0, sz = 0;
	if (d->audit) {
		bool has = dwarf_member(d, type, path, &off, NULL), sized = has && dwarf_member(d, type, path, &off, &sz);
		fprintf(d->audit, "m\t%s\t%s\t%d\t%" PRIu64 "\t", type, path, has, off);
		fprintf(d->audit, sized ? "%" PRIu64 "\n" : "-\n", sz);
	}
	return ok;
}

static bool dwarf_const(struct memdbg_dwarf *d, const char *name, int64_t *value)
{
	Dwarf_Die die;
	Dwarf_Attribute at;
	if (!dwarf_find(d, name, is_constant_tag, &die) || !dwarf_attr(&die, DW_AT_const_value, &at))
		return false;
	Dwarf_Sword v;
	if (dwarf_formsdata(&at, &v) != 0)
		return false;
	*value = v;
	return true;
}

bool memdbg_dwarf_const(struct memdbg_dwarf *d, const char *name, int64_t *value)
{
	if (!d)
		return false;
	if (d->ops)
		return d->ops->constant(d->ops_arg, name, value);
	bool ok = dwarf_const(d, name, value);
	if (d->audit)
		fprintf(d->audit, "c\t%s\t\t%d\t%" PRId64 "\n", name, ok, ok ? *value : 0);
	return ok;
}

static bool is_variable_or_constant_tag(int tag)
{
	return tag == DW_TAG_constant || tag == DW_TAG_variable;
}

size_t memdbg_dwarf_const_block(struct memdbg_dwarf *d, const char *name, void *buf, size_t cap)
{
	Dwarf_Die die;
	Dwarf_Attribute at;
	Dwarf_Block block;
	if (!d || d->ops || !dwarf_find(d, name, is_variable_or_constant_tag, &die) ||
	    !dwarf_attr(&die, DW_AT_const_value, &at) || dwarf_formblock(&at, &block) != 0 || block.length > cap)
		return 0;
	memcpy(buf, block.data, block.length);
	return block.length;
}

#define DW_AT_go_runtime_type 0x2904

static bool die_runtime_type_here(Dwarf_Die *die, uint64_t *off);

/* DW_AT_go_runtime_type: the type's runtime descriptor, as an offset from runtime.types.
 * A named type's typedef has none; the type it names does. */
static bool die_runtime_type(Dwarf_Die *die, uint64_t *off)
{
	Dwarf_Die t = *die;
	for (int i = 0; i < 8; i++) {
		if (die_runtime_type_here(&t, off))
			return true;
		Dwarf_Attribute at;
		if (dwarf_tag(&t) != DW_TAG_typedef || !dwarf_attr(&t, DW_AT_type, &at) || !dwarf_formref_die(&at, &t))
			return false;
	}
	return false;
}

static bool die_runtime_type_here(Dwarf_Die *die, uint64_t *off)
{
	Dwarf_Attribute at;
	Dwarf_Word w;
	Dwarf_Addr a;
	if (!dwarf_attr(die, DW_AT_go_runtime_type, &at))
		return false;
	/* The linker writes it as an address-sized value (DW_FORM_addr). */
	if (dwarf_whatform(&at) == DW_FORM_addr) {
		if (dwarf_formaddr(&at, &a) != 0)
			return false;
		w = a;
	} else if (dwarf_formudata(&at, &w) != 0) {
		return false;
	}
	*off = w;
	return w != 0;
}

bool memdbg_dwarf_runtime_type(struct memdbg_dwarf *d, const char *type, uint64_t *off)
{
	Dwarf_Die die;
	if (d && d->ops)
		return d->ops->runtime_type(d->ops_arg, type, off);
	return d && dwarf_find(d, type, is_type_tag, &die) && die_runtime_type(&die, off);
}

const char *memdbg_dwarf_type_with_runtime_type(struct memdbg_dwarf *d, const char *prefix, uint64_t off)
{
	size_t lo = d ? first_entry(d, prefix) : 0, len = strlen(prefix);
	for (; d && lo < d->n && strncmp(d->entries[lo].name, prefix, len) == 0; lo++) {
		Dwarf_Die die;
		uint64_t o;
		if (is_type_tag(d->entries[lo].tag) && dwarf_offdie(d->dw, d->entries[lo].offset, &die) &&
		    die_runtime_type(&die, &o) && o == off)
			return d->entries[lo].name;
	}
	return NULL;
}

/* DW_OP_addr of a variable DIE; Go emits the location as a block libdw's getlocation rejects. */
static bool variable_addr(Dwarf_Die *die, uint64_t *addr)
{
	Dwarf_Attribute at;
	Dwarf_Block block;
	if (!dwarf_attr(die, DW_AT_location, &at) || dwarf_formblock(&at, &block) != 0 || block.length != 9 ||
	    block.data[0] != DW_OP_addr)
		return false;
	memcpy(addr, block.data + 1, 8);
	return true;
}

#define DW_AT_go_kind 0x2900
#define DW_AT_go_elem 0x2902
#define GO_KIND_ARRAY 17
#define GO_KIND_SLICE 23

/*
 * The runtime type of a global.  Types the program never needs at run time
 * (many slice and pointer types) have no descriptor; then the element's
 * descriptor is used and the global's shape says how to apply it.
 */
static void global_runtime_type(Dwarf_Die *type, struct memdbg_global *g)
{
	if ((g->has_runtime_type = die_runtime_type(type, &g->runtime_type)))
		return;
	Dwarf_Die t = *type, elem;
	Dwarf_Attribute at;
	Dwarf_Word kind = 0;
	if (!peel(&t))
		return;
	if (dwarf_tag(&t) == DW_TAG_pointer_type) {
		if (dwarf_attr(&t, DW_AT_type, &at) && dwarf_formref_die(&at, &elem) &&
		    die_runtime_type(&elem, &g->runtime_type))
			g->has_runtime_type = true, g->shape = MEMDBG_GLOBAL_POINTER_TO;
		return;
	}
	if (dwarf_attr(&t, DW_AT_go_kind, &at) && dwarf_formudata(&at, &kind) == 0 && kind == GO_KIND_SLICE &&
	    dwarf_attr(&t, DW_AT_go_elem, &at) && dwarf_formref_die(&at, &elem) &&
	    die_runtime_type(&elem, &g->runtime_type)) {
		g->has_runtime_type = true;
		g->shape = MEMDBG_GLOBAL_SLICE_OF;
		return;
	}
	/* An array: DW_TAG_array_type whose DW_AT_type is the element. */
	if (dwarf_tag(&t) == DW_TAG_array_type && dwarf_attr(&t, DW_AT_type, &at) && dwarf_formref_die(&at, &elem) &&
	    die_runtime_type(&elem, &g->runtime_type)) {
		g->has_runtime_type = true;
		g->shape = MEMDBG_GLOBAL_ARRAY_OF;
	}
}

/* A global's (or part's) size, runtime type and type name, from its DWARF type. */
static void global_type(Dwarf_Die *type, struct memdbg_global *g)
{
	die_size(type, &g->size);
	global_runtime_type(type, g);
	g->type_name = dwarf_diename(type);
}

/* A sync/atomic.Pointer[T]'s T, from its `_ [0]*T` member: the type of what its word v points to. */
static bool atomic_pointer_elem(Dwarf_Die *st, uint64_t *elem_rt)
{
	const char *name = dwarf_diename(st);
	Dwarf_Die child, arr, ptr, elem;
	Dwarf_Attribute at;
	if (!name || strncmp(name, "sync/atomic.Pointer[", 20) != 0 || dwarf_child(st, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) == DW_TAG_member && dwarf_attr(&child, DW_AT_type, &at) &&
		    dwarf_formref_die(&at, &arr) && peel(&arr) && dwarf_tag(&arr) == DW_TAG_array_type &&
		    dwarf_attr(&arr, DW_AT_type, &at) && dwarf_formref_die(&at, &ptr) && peel(&ptr) &&
		    dwarf_tag(&ptr) == DW_TAG_pointer_type && dwarf_attr(&ptr, DW_AT_type, &at) &&
		    dwarf_formref_die(&at, &elem))
			return die_runtime_type(&elem, elem_rt);
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/*
 * The members of a struct-typed global whose type has no runtime type (an
 * anonymous struct, or one the program never needs at run time): each that
 * has one, or a shape of one, is a part of the global (an atomic.Pointer[T]'s
 * word a *T); members of nested structs likewise, a few levels deep.
 */
static struct memdbg_error *global_parts(Dwarf_Die *type, const struct memdbg_global *whole, uint64_t addr, int depth,
					 struct memdbg_error *(*fn)(void *arg, const struct memdbg_global *g), void *arg)
{
	Dwarf_Die t = *type, child;
	uint64_t atomic_elem;
	if (depth > 4 || !peel(&t) || dwarf_tag(&t) != DW_TAG_structure_type || dwarf_child(&t, &child) != 0)
		return NULL;
	bool atomic = atomic_pointer_elem(&t, &atomic_elem);
	do {
		Dwarf_Attribute at;
		Dwarf_Word off;
		Dwarf_Die mt;
		if (dwarf_tag(&child) != DW_TAG_member || !dwarf_attr(&child, DW_AT_data_member_location, &at) ||
		    dwarf_formudata(&at, &off) != 0 || !dwarf_attr(&child, DW_AT_type, &at) || !dwarf_formref_die(&at, &mt))
			continue;
		struct memdbg_global g = { .name = whole->name, .addr = addr + off, .part = true };
		global_type(&mt, &g);
		const char *member = dwarf_diename(&child);
		if (atomic && member && strcmp(member, "v") == 0)  /* an unsafe.Pointer, by its own type */
			g.has_runtime_type = true, g.runtime_type = atomic_elem, g.shape = MEMDBG_GLOBAL_POINTER_TO;
		struct memdbg_error *err = g.has_runtime_type ? fn(arg, &g) : global_parts(&mt, whole, g.addr, depth + 1, fn, arg);
		if (err)
			return err;
	} while (dwarf_siblingof(&child, &child) == 0);
	return NULL;
}

struct memdbg_error *memdbg_dwarf_for_each_global(struct memdbg_dwarf *d,
						  struct memdbg_error *(*fn)(void *arg, const struct memdbg_global *g),
						  void *arg)
{
	for (size_t i = 0; d && !d->ops && i < d->n; i++) {
		if (d->entries[i].tag != DW_TAG_variable)
			continue;
		Dwarf_Die die, type;
		Dwarf_Attribute at;
		struct memdbg_global g = { .name = d->entries[i].name };
		bool typed = false;
		if (!dwarf_offdie(d->dw, d->entries[i].offset, &die) || !variable_addr(&die, &g.addr))
			continue;
		if (dwarf_attr(&die, DW_AT_type, &at) && dwarf_formref_die(&at, &type)) {
			typed = true;
			global_type(&type, &g);
		}
		struct memdbg_error *err = fn(arg, &g);
		if (!err && typed && !g.has_runtime_type)
			err = global_parts(&type, &g, g.addr, 0, fn, arg);
		if (err)
			return err;
	}
	return NULL;
}

bool memdbg_dwarf_variable(struct memdbg_dwarf *d, const char *name, uint64_t *addr, uint64_t *size)
{
	Dwarf_Die die;
	Dwarf_Attribute at;
	Dwarf_Die type;
	if (size)
		*size = 0;
	if (d && d->ops)
		return d->ops->variable(d->ops_arg, name, addr, size);
	if (!d || !dwarf_find(d, name, is_variable_tag, &die) || !variable_addr(&die, addr))
		return false;
	if (size && dwarf_attr(&die, DW_AT_type, &at) && dwarf_formref_die(&at, &type))
		die_size(&type, size);
	return true;
}

/* ---- frame variables ---- */

static int func_cmp(const void *a, const void *b)
{
	const struct dwarf_func *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void index_funcs(struct memdbg_dwarf *d)
{
	d->funcs_done = true;
	size_t cap = 0;
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_nextcu(d->dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, child;
		if (dwarf_offdie(d->dw, off + hsize, &cu) && dwarf_child(&cu, &child) == 0) {
			do {
				Dwarf_Addr lo, hi;
				if (dwarf_tag(&child) != DW_TAG_subprogram || dwarf_lowpc(&child, &lo) != 0 ||
				    dwarf_highpc(&child, &hi) != 0)
					continue;
				if (d->nfuncs == cap) {
					cap = cap ? 2 * cap : 4096;
					struct dwarf_func *f = realloc(d->funcs, cap * sizeof(*f));
					if (!f)
						return;
					d->funcs = f;
				}
				d->funcs[d->nfuncs++] = (struct dwarf_func){ lo, hi, dwarf_dieoffset(&child) };
			} while (dwarf_siblingof(&child, &child) == 0);
		}
		off = next;
	}
	qsort(d->funcs, d->nfuncs, sizeof(*d->funcs), func_cmp);
}

static bool find_func(struct memdbg_dwarf *d, uint64_t pc, Dwarf_Die *die)
{
	if (!d->funcs_done)
		index_funcs(d);
	size_t lo = 0, hi = d->nfuncs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->funcs[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || pc >= d->funcs[lo - 1].hi)
		return false;
	return dwarf_offdie(d->dw, d->funcs[lo - 1].offset, die) != NULL;
}

static int64_t sleb(const uint8_t **p, const uint8_t *end)
{
	int64_t v = 0;
	int shift = 0;
	uint8_t b = 0x80;
	while (*p < end && (b & 0x80) && shift < 64) {
		b = *(*p)++;
		v |= (int64_t)(b & 0x7f) << shift;
		shift += 7;
	}
	if (shift < 64 && (b & 0x40))
		v |= -((int64_t)1 << shift);
	return v;
}

/*
 * Where a variable lives at pc: its first byte at CFA + loc->off, from
 * DW_OP_fbreg N in a location list or a block.  Go's frame base is the CFA,
 * and a register argument spilled to its slot at the CFA is located by a
 * bare DW_OP_call_frame_cfa.  A composite location (the compiler spilled
 * some words and kept others in registers, or dropped them) is described
 * piece by piece: loc->piece is the size of the first piece (0: the whole
 * variable is at off), and word_off[i] the CFA offset of the value's 8-byte
 * word i (i < 3: a slice's pointer, length and capacity) when that word is
 * in the frame.
 */
struct var_loc {
	int64_t off;
	uint64_t piece;
	int64_t word_off[3];
	uint8_t words;  /* bit i: word_off[i] is known */
};

static bool var_fbreg(Dwarf_Attribute *at, uint64_t pc, struct var_loc *loc)
{
	Dwarf_Op *expr;
	size_t len;
	*loc = (struct var_loc){ 0 };
	if (dwarf_getlocation_addr(at, pc, &expr, &len, 1) == 1 && len >= 1) {
		if (expr[0].atom == DW_OP_call_frame_cfa && len == 1)
			return true;
		if (expr[0].atom != DW_OP_fbreg)
			return false;
		loc->off = (int64_t)expr[0].number;
		if (len < 2 || expr[1].atom != DW_OP_piece)
			return true;
		loc->piece = expr[1].number ? expr[1].number : 1;
		uint64_t pos = 0;
		for (size_t i = 0; i < len && pos < 24;) {
			bool mem = expr[i].atom == DW_OP_fbreg;
			size_t k = expr[i].atom == DW_OP_piece ? i : i + 1;  /* a bare piece: an optimized-out part */
			if (k >= len || expr[k].atom != DW_OP_piece)
				break;
			if (mem && pos % 8 == 0 && expr[k].number == 8) {
				loc->word_off[pos / 8] = (int64_t)expr[i].number;
				loc->words |= (uint8_t)(1u << (pos / 8));
			}
			pos += expr[k].number;
			i = k + 1;
		}
		return true;
	}
	Dwarf_Block block;
	if (dwarf_formblock(at, &block) != 0 || block.length < 2 || block.data[0] != DW_OP_fbreg)
		return false;
	const uint8_t *p = block.data + 1;
	loc->off = sleb(&p, block.data + block.length);
	return true;
}

/* Is the variable a slice?  *elem: its element's runtime type. */
static bool slice_of(Dwarf_Die *var, uint64_t *elem)
{
	Dwarf_Attribute at;
	Dwarf_Die t, e;
	Dwarf_Word kind = 0;
	return dwarf_attr(var, DW_AT_type, &at) && dwarf_formref_die(&at, &t) && peel(&t) &&
	       dwarf_attr(&t, DW_AT_go_kind, &at) && dwarf_formudata(&at, &kind) == 0 && kind == GO_KIND_SLICE &&
	       dwarf_attr(&t, DW_AT_go_elem, &at) && dwarf_formref_die(&at, &e) && die_runtime_type(&e, elem);
}

/* A variable's size and runtime type (with its shape), from its DW_AT_type. */
static bool var_type(Dwarf_Die *var, struct memdbg_frame_var *v)
{
	Dwarf_Attribute at;
	Dwarf_Die type;
	if (!dwarf_attr_integrate(var, DW_AT_type, &at) || !dwarf_formref_die(&at, &type))
		return false;
	die_size(&type, &v->size);
	struct memdbg_global g = { 0 };
	global_runtime_type(&type, &g);
	v->has_runtime_type = g.has_runtime_type;
	v->runtime_type = g.runtime_type;
	v->shape = g.shape;
	return true;
}

static struct memdbg_error *visit_vars(Dwarf_Die *scope, uint64_t pc, memdbg_frame_var_fn fn, void *arg, int depth)
{
	Dwarf_Die child;
	if (depth > 16 || dwarf_child(scope, &child) != 0)
		return NULL;
	do {
		int tag = dwarf_tag(&child);
		if (tag == DW_TAG_lexical_block || tag == DW_TAG_inlined_subroutine) {
			/* Only the scopes the pc is in: a variable of another block is not there. */
			if (dwarf_haspc(&child, pc) != 1)
				continue;
			struct memdbg_error *err = visit_vars(&child, pc, fn, arg, depth + 1);
			if (err)
				return err;
			continue;
		}
		if (tag != DW_TAG_variable && tag != DW_TAG_formal_parameter)
			continue;
		Dwarf_Attribute at, name_at;
		struct memdbg_frame_var v = { 0 };
		struct var_loc loc;
		/* An inlined function's variables take their name and type from the abstract origin. */
		if (dwarf_attr_integrate(&child, DW_AT_name, &name_at))
			v.name = dwarf_formstring(&name_at);
		if (!v.name || !dwarf_attr(&child, DW_AT_location, &at) || !var_fbreg(&at, pc, &loc))
			continue;
		v.cfa_offset = loc.off;
		var_type(&child, &v);
		v.count_offset = v.cfa_offset + 16;
		if (loc.piece && loc.piece < v.size) {
			/*
			 * Only some pieces are in the frame: a value read whole from there would be wrong.  A
			 * slice whose pointer and capacity (or at least length) were spilled still types.
			 */
			v.size = loc.piece;
			bool slice = (loc.words & 1) && (loc.words & 6) && slice_of(&child, &v.runtime_type);
			if (slice) {
				v.shape = MEMDBG_GLOBAL_SLICE_OF;
				v.count_offset = loc.word_off[loc.words & 4 ? 2 : 1];
			}
			v.has_runtime_type = slice;
		}
		struct memdbg_error *err = fn(arg, &v);
		if (err)
			return err;
	} while (dwarf_siblingof(&child, &child) == 0);
	return NULL;
}

struct memdbg_error *memdbg_dwarf_frame_vars(struct memdbg_dwarf *d, uint64_t pc, memdbg_frame_var_fn fn, void *arg)
{
	Dwarf_Die die;
	if (!d || d->ops || !find_func(d, pc, &die))
		return NULL;
	return visit_vars(&die, pc, fn, arg, 0);
}

#define DW_AT_go_closure_offset 0x2907

static bool decl_line(Dwarf_Die *die, Dwarf_Word *line)
{
	Dwarf_Attribute at;
	return dwarf_attr(die, DW_AT_decl_line, &at) && dwarf_formudata(&at, line) == 0;
}

struct memdbg_error *memdbg_dwarf_closure_vars(struct memdbg_dwarf *d, uint64_t pc, memdbg_frame_var_fn fn,
					       void *arg)
{
	Dwarf_Die die, child;
	if (!d || d->ops || !find_func(d, pc, &die) || dwarf_child(&die, &child) != 0)
		return NULL;
	/*
	 * go1.23+ gives each captured variable's offset.  go1.22 does not: there
	 * the captured variables are those declared before the closure (or on its line),
	 * laid out in order after the code pointer, each aligned to its size.
	 */
	Dwarf_Word func_line = 0;
	bool have_line = decl_line(&die, &func_line);
	uint64_t next = 8;
	do {
		Dwarf_Attribute at;
		Dwarf_Word off, line;
		if (dwarf_tag(&child) != DW_TAG_variable)
			continue;
		struct memdbg_frame_var v = { .name = dwarf_diename(&child) };
		if (!var_type(&child, &v))
			continue;
		if (dwarf_attr(&child, DW_AT_go_closure_offset, &at)) {
			if (dwarf_formudata(&at, &off) != 0)
				continue;
		} else if (have_line && decl_line(&child, &line) && line <= func_line && v.size) {
			uint64_t align = v.size >= 8 ? 8 : v.size;
			off = (next + align - 1) / align * align;
			next = off + v.size;
		} else {
			continue;
		}
		v.cfa_offset = (int64_t)off;
		v.count_offset = v.cfa_offset + 16;
		struct memdbg_error *err = fn(arg, &v);
		if (err)
			return err;
	} while (dwarf_siblingof(&child, &child) == 0);
	return NULL;
}
