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
};

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

struct go_objects {
	struct go_heap_span *hs;
	size_t nhs;
	uint64_t nslots;
	uint8_t *alloc;      /* bit per slot: allocated */
	uint8_t *live;       /* bit per slot: reachable from a root */
	uint32_t *type;      /* per slot: index into otypes, 0 = unknown */
	struct go_objtype *otypes;
	size_t notypes, otypes_cap;
	struct go_root *roots;
	size_t nroots, roots_cap;
	uint64_t *weak_referents;  /* objects a weak handle refers to */
	size_t nweak;
	/* problems met, reported at the end of commands instead of failing them */
	uint64_t bad_headers, unreadable_objects, bad_types, conservative_stacks, unreadable_bits;
	/* how the stacks were scanned: frames, those scanned word by word, stack objects declared and reached */
	uint64_t stack_frames, conservative_frames, stack_objects, stack_objects_reached;
};

struct memdbg_error *go_objects_get(struct memdbg_target *t, struct memdbg_go *go, struct memdbg_printer *p,
				    struct go_objects **ret);
void go_objects_destroy(struct go_objects *o);

/* The span holding addr and the slot within it; false outside the heap's objects. */
bool go_find_object(const struct go_objects *o, uint64_t addr, const struct go_heap_span **span, uint64_t *slot);
static inline bool go_bit(const uint8_t *bits, uint64_t i)
{
	return (bits[i / 8] >> (i % 8)) & 1;
}
const char *go_objtype_name(const struct go_objects *o, uint64_t id);
bool go_object_at(const struct go_objects *o, uint64_t addr, uint64_t *id);
const struct go_heap_span *go_span_of_id(const struct go_objects *o, uint64_t id);
uint64_t go_id_addr(const struct go_heap_span *s, uint64_t id);
/* Every pointer slot of object id (by the runtime's pointer maps) and the value in it. */
void go_object_pointers(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t id,
			void (*fn)(void *arg, uint64_t slot, uint64_t value), void *arg);
/* The address of holder's first pointer slot that points into object target, or 0. */
uint64_t go_slot_to(struct memdbg_target *t, struct memdbg_go *go, struct go_objects *o, uint64_t holder,
		    uint64_t target);

#endif /* MEMDBG_GO_OBJECTS_H */
