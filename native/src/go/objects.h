/* objects.h - every heap object, its exact type, its pointers, the GC roots and reachability. */
#ifndef MEMDBG_GO_OBJECTS_H
#define MEMDBG_GO_OBJECTS_H

#include "go/go.h"

/* An in-use span as the object graph sees it, in address order. */
struct go_heap_span {
	uint64_t start, end;  /* objects live in [start, end): nelems * elemsize */
	uint64_t elemsize;
	uint64_t first;       /* dense id of its slot 0 */
	uint64_t large_type;  /* class 0: mspan.largeType */
	uint64_t limit;       /* class 0: end of the requested size */
	uint64_t heap_bits;   /* span heap bits (scan spans of objects <= 512 B), else 0 */
	uint32_t nelems;
	uint32_t span;        /* index into memdbg_go.spans */
	bool noscan, header;
};

/* An object's type: a runtime type, n of them when n > 0 ("[n]T"), or a label. */
struct go_objtype {
	uint64_t type;  /* abi.Type address, 0 for a label-only type */
	uint64_t count;
	char *name;     /* the full name: "[100]main.T", "closure main.f.func1" */
	const char *label; /* name without the "[count]" prefix */
};

/*
 * Where an object's type came from.  Header and largeType are the runtime's
 * own record; the others are a typed word that points at the object (a field
 * of a typed object, a global, a stack variable, a finalizer's function),
 * accepted only when the slot's pointer bits agree (heap bits) or the
 * type has no pointers (noscan).
 */
enum go_type_src { GO_SRC_NONE, GO_SRC_HEADER, GO_SRC_LARGE_TYPE, GO_SRC_REFERRER, GO_SRC_GLOBAL, GO_SRC_STACK,
		   GO_SRC_FINALIZER };

enum go_root_kind { GO_ROOT_GLOBAL, GO_ROOT_STACK, GO_ROOT_FINALIZER, GO_ROOT_OTHER };

struct go_root {
	enum go_root_kind kind;
	char *name;        /* "main.registry", "goroutine 17 (conservative)", "finalizer of 0x..." */
	uint64_t addr;     /* where the pointer is stored (0 when held in a register or special) */
	uint64_t target;   /* the pointer value */
	uint64_t object;   /* dense id of the object it points into */
	bool weak;
	bool is_func;      /* a finalizer's or cleanup's function value (a closure) */
	const char *where;        /* stacks: "local", "arg", "stack object", "sched.ctxt", "defer" or "conservative" */
	const char *global_type;  /* globals: the DWARF type name of the variable */
	uint64_t global_base;     /* globals: the variable's address */
};

/* A candidate type refused for an object (kept for the first GO_MAX_REJECTIONS, for `object --why`). */
struct go_rejection {
	uint64_t id, from, count;
	enum go_type_src src;
	char *name;
};
#define GO_MAX_REJECTIONS 65536

struct go_objects {
	struct go_heap_span *hs;
	size_t nhs;
	struct go_lookup *lookup;  /* address or id -> span in O(1) (lookup.c) */
	uint64_t nslots;
	uint8_t *alloc;      /* bit per slot: allocated */
	uint8_t *live;       /* bit per slot: reachable from a root */
	uint32_t *type;      /* per slot: index into otypes, 0 = unknown */
	uint8_t *src;        /* per slot: enum go_type_src */
	uint32_t *src_ref;   /* per slot: the referrer's id, or the root's index (global, stack, finalizer); UINT32_MAX: none */
	uint8_t *rejected;   /* bit per slot: a candidate type was refused because the GC's metadata contradicts it */
	struct go_objtype *otypes;
	size_t notypes, otypes_cap;
	uint32_t *otype_index; /* open addressing over otypes by (type, count, name); 0 = empty */
	size_t otype_index_cap;
	struct go_root *roots;
	size_t nroots, roots_cap;
	uint64_t *weak_referents;  /* objects a weak handle refers to */
	size_t nweak;
	/* problems met, reported at the end of commands instead of failing them */
	uint64_t bad_headers, unreadable_objects, bad_types, conservative_stacks, unreadable_bits;
	uint64_t rejected_types, rejected_objects;  /* candidates refused, objects they were refused for */
	struct go_rejection *rejections;  /* in id order only by chance: search them all */
	size_t nrejections;
	/* how the stacks were scanned: frames, those scanned word by word, stack objects declared and reached */
	uint64_t stack_frames, conservative_frames, stack_objects, stack_objects_reached;
};

struct memdbg_error *go_objects_get(struct memdbg_target *t, struct memdbg_go *go, struct memdbg_printer *p,
				    struct go_objects **ret);
void go_objects_destroy(struct go_objects *o);

/* The address and id index over o->hs (lookup.c), built once the spans are sorted. */
struct memdbg_error *go_lookup_build(struct go_objects *o, uint64_t page_size, uint64_t arena_bytes);
void go_lookup_destroy(struct go_lookup *l);
/* The span holding addr and the slot within it; false outside the heap's objects. */
bool go_find_object(const struct go_objects *o, uint64_t addr, const struct go_heap_span **span, uint64_t *slot);
const char *go_objtype_name(const struct go_objects *o, uint64_t id);
bool go_object_at(const struct go_objects *o, uint64_t addr, uint64_t *id);
const struct go_heap_span *go_span_of_id(const struct go_objects *o, uint64_t id);
uint64_t go_id_addr(const struct go_heap_span *s, uint64_t id);
/*
 * The slot's pointer words as the runtime records them (heap bits, malloc
 * header or largeType tiled over the slot; none for noscan), one bit per word
 * of the slot.  *words is elemsize / 8.  False when the runtime has no record
 * to read (an unreadable bitmap or header, a large object still being set up).
 */
bool go_gc_mask(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t id, uint8_t **mask,
		uint64_t *words);
/* The pointer words the object's type implies, laid out over the slot as the runtime lays that type out. */
enum go_type_check { GO_CHECK_UNTYPED, GO_CHECK_AGREES, GO_CHECK_PARTIAL, GO_CHECK_CONTRADICTS, GO_CHECK_NO_RECORD };
enum go_type_check go_check_type(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t id,
				 uint8_t **type_mask, uint8_t **gc_mask, uint64_t *words);
/* "header", "heap bits + referrer 0x... field .next", "noscan + global main.buf", "unknown". */
void go_type_source(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t id, char *buf,
		    size_t size);
/* The source without its particulars, for grouping: "heap bits + referrer". */
const char *go_type_source_class(const struct go_objects *o, uint64_t id);
/* An untyped object named honestly: "noscan 112 B", "tiny block", "unknown (48 B, ptr mask 0b1011)". */
void go_unknown_name(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t id, char *buf,
		     size_t size);
/* The length of string data object id, from the string header whose pointer typed it. */
bool go_string_data_len(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t id,
			uint64_t *len);
/* Every pointer slot of object id (by the runtime's pointer maps) and the value in it. */
void go_object_pointers(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t id,
			void (*fn)(void *arg, uint64_t slot, uint64_t value), void *arg);
/* The address of holder's first pointer slot that points into object target, or 0. */
uint64_t go_slot_to(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t holder,
		    uint64_t target);

#endif /* MEMDBG_GO_OBJECTS_H */
