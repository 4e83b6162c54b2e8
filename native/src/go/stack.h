/*
 * stack.h - goroutines and their stacks: the pclntab (functions, lines, frame
 * sizes, stack maps), the list of goroutines, and unwinding frame by frame.
 *
 * Everything hangs off one struct go_stack per target, opened once and kept
 * for as long as the caller likes: decoded functions, file names and the
 * goroutine list are cached in it.  Target bytes are untrusted: lookups that
 * fail return false/NULL and are counted, they never abort a walk.
 */
#ifndef MEMDBG_GO_STACK_H
#define MEMDBG_GO_STACK_H

#include "go/go.h"

struct go_stack;

/* One function of a module's pclntab, decoded once per go_stack. */
struct go_func {
	uint64_t entry, end;  /* [entry, end): end is the next function's entry */
	uint64_t record;      /* the runtime._func in the target */
	const char *name;     /* "main.main"; "?" when the name is unreadable */
	int32_t args;         /* bytes of arguments and results; INT32_MIN: unknown */
	uint32_t deferreturn; /* offset of the deferreturn call from entry, 0: none */
	uint32_t pcsp, pcfile, pcln, npcdata, cu_offset;
	int32_t start_line;
	uint8_t funcid, flag, nfuncdata;
	const void *module;   /* opaque: the module the function belongs to */
};

/* abi.FuncFlag bits. */
#define GO_FUNCFLAG_TOPFRAME 0x1
#define GO_FUNCFLAG_SPWRITE 0x2
#define GO_FUNCFLAG_ASM 0x4

/* PCDATA and FUNCDATA table indices (internal/abi, unchanged 1.22-1.26). */
#define GO_PCDATA_UNSAFE_POINT 0
#define GO_PCDATA_STACK_MAP_INDEX 1
#define GO_FUNCDATA_ARGS_POINTER_MAPS 0
#define GO_FUNCDATA_LOCALS_POINTER_MAPS 1
#define GO_FUNCDATA_STACK_OBJECTS 2

/* Open the pclntab and goroutine state of a Go target (needs memdbg_go_get to succeed). */
struct memdbg_error *go_stack_open(struct memdbg_target *t, struct go_stack **ret);
void go_stack_close(struct go_stack *s);

/* ---- pclntab (pclntab.c) ---- */

/* The function containing pc, or NULL when pc is in no module's text. */
const struct go_func *go_func_at(struct go_stack *s, uint64_t pc);
/* Source position of pc in f; false when the tables do not say. */
bool go_func_line(struct go_stack *s, const struct go_func *f, uint64_t pc, const char **file, int32_t *line);
/* Bytes between sp and the return address slot at pc (pcsp table). */
bool go_func_spdelta(struct go_stack *s, const struct go_func *f, uint64_t pc, int32_t *delta);
/* Value of PCDATA table `table` at pc; -1 when the function has no such table. */
int32_t go_func_pcdata(struct go_stack *s, const struct go_func *f, uint32_t table, uint64_t pc);
/* Address of FUNCDATA `i` of f, or 0 when absent. */
uint64_t go_func_funcdata(struct go_stack *s, const struct go_func *f, uint8_t i);
/* Bit vector `index` of the runtime.stackmap at addr: nbit bits into bits (which holds maxbits). */
struct memdbg_error *go_stackmap_bits(struct go_stack *s, uint64_t addr, int32_t index, uint8_t *bits,
				      uint32_t maxbits, uint32_t *nbit);

/* One logical frame at a pc: an inlined call, or the function itself (last). */
struct go_inline {
	const char *name, *file;
	int32_t line;
	bool inlined;
};

/* The logical frames at pc, innermost first; returns how many were written (at most max). */
size_t go_func_inlined(struct go_stack *s, const struct go_func *f, uint64_t pc, struct go_inline *out, size_t max);

/* ---- goroutines (stack.c) ---- */

enum go_regs_from {
	GO_REGS_SCHED,        /* g.sched: parked or runnable */
	GO_REGS_SYSCALL,      /* g.syscallsp/pc: in a system call */
	GO_REGS_THREAD,       /* the registers of the thread running it (core note or ptrace) */
	GO_REGS_SIGNAL,       /* a signal context found on the thread's signal stack */
	GO_REGS_UNAVAILABLE,  /* running, and its thread's registers are not available */
};

struct go_goroutine {
	uint64_t addr;          /* the runtime.g */
	uint64_t goid;
	uint32_t status;        /* _Gscan bit masked off */
	bool scan;              /* the _Gscan bit was set */
	const char *status_name;  /* "waiting", ...; "status N" for values this binary does not name */
	uint8_t wait_reason;
	const char *wait_reason_name;  /* NULL when not waiting or unnamed */
	int64_t wait_since;     /* g.waitsince (nanotime), 0: not recorded */
	uint64_t stack_lo, stack_hi;
	uint64_t pc, sp, bp;    /* where unwinding starts */
	enum go_regs_from regs_from;
	uint64_t gopc, startpc; /* the go statement, and the function it started */
	uint64_t m;             /* the M running it, 0 when none */
	int32_t tid;            /* that M's thread id, 0 when unknown */
	bool system;            /* runtime goroutine: not counted by runtime.NumGoroutine */
	bool dead;
};

/*
 * Every G of runtime.allgs except dead ones (loaded once per go_stack).
 * *skipped counts allgs entries that could not be read or made no sense.
 */
struct memdbg_error *go_goroutines(struct go_stack *s, const struct go_goroutine **gs, size_t *n, size_t *skipped);
/*
 * What the goroutines command groups by (goroutines.c): the first logical
 * frame outside the runtime (the innermost when all are runtime frames) and
 * the function the goroutine started in; either may be NULL.
 */
struct memdbg_error *go_goroutine_top(struct go_stack *s, const struct go_goroutine *g, const char **top,
				      const char **start);
/* The runtime's "now" as best the target records it (nanotime), 0 when unknown. */
int64_t go_stack_now(struct go_stack *s);

/* ---- unwinding (stack.c) ---- */

struct go_frame {
	uint64_t pc;          /* resume pc (return address for callers) */
	uint64_t sp;          /* the frame's lowest address */
	uint64_t fp;          /* the frame's top: the caller's sp (return address is at fp-8) */
	uint64_t varp, argp;  /* locals end below varp; arguments start at argp */
	const struct go_func *fn;
	const char *func;     /* the physical function (see go_func_inlined for inlined calls) */
	const char *file;     /* source position at the pc (innermost inlined call), "?" when unknown */
	int32_t line;
	uint64_t sym_pc;      /* pc for source lookups: pc - 1 for callers (the call, not the return) */
	uint64_t continpc;    /* pc the stack maps are indexed at; 0: the frame is dead (no maps) */
	uint32_t depth;       /* 0 for the innermost frame */
	bool innermost;
	bool recursive;       /* its function has another frame in this stack (go_goroutine_slots only) */
	bool conservative;    /* async-preempted or interrupted frame: no precise maps apply */
};

enum go_unwind_end {
	GO_UNWIND_COMPLETE,    /* reached the goroutine's top frame (goexit, mstart, ...) */
	GO_UNWIND_BOUNDARY,    /* a stack switch (systemstack, mcall, morestack) that cannot be followed */
	GO_UNWIND_UNKNOWN_PC,  /* a pc in no function */
	GO_UNWIND_BAD_SP,      /* the stack pointer left the goroutine's stack */
	GO_UNWIND_FAULT,       /* a stack word could not be read */
	GO_UNWIND_DEPTH,       /* the frame limit */
	GO_UNWIND_NO_REGS,     /* running, registers unavailable: no frames */
	GO_UNWIND_STOPPED,     /* the callback asked to stop */
};

const char *go_unwind_end_name(enum go_unwind_end e);

#define GO_MAX_FRAMES 10000

/* Called for each frame, innermost first; return false to stop. */
typedef bool (*go_frame_fn)(void *arg, const struct go_frame *f);

/* Walk the frames of g (at most max_frames); *end says why the walk ended. */
struct memdbg_error *go_unwind(struct go_stack *s, const struct go_goroutine *g, size_t max_frames, go_frame_fn fn,
			       void *arg, enum go_unwind_end *end);

/* Where a stack root is: which part of the goroutine's stack the GC found it in. */
enum go_slot_kind {
	GO_SLOT_LOCAL,   /* the frame's locals (or its whole frame when conservative) */
	GO_SLOT_ARG,     /* the frame's arguments and results */
	GO_SLOT_OBJECT,  /* a stack object (address-taken local) a pointer reached */
	GO_SLOT_CTXT,    /* g.sched.ctxt, the saved closure context register */
	GO_SLOT_DEFER,   /* a stack-allocated defer record's fn or link */
	GO_SLOT_REST,    /* past where the unwinder stopped: scanned word by word */
};

/* One pointer-sized slot the GC would scan as a root, and what it holds. */
struct go_slot {
	uint64_t addr, value;
	enum go_slot_kind kind;
	bool precise;  /* the stack maps say it is a live pointer; false: conservative (any word) */
};

/* Called with the slot's frame (NULL for CTXT, DEFER and REST); return false to stop. */
typedef bool (*go_slot_fn)(void *arg, const struct go_frame *f, const struct go_slot *slot);

/* What one goroutine's scan met (added to, so it can sum over goroutines). */
struct go_scan_stats {
	size_t frames, conservative_frames, bad_frames;  /* bad: its maps could not be read, scanned word by word */
	size_t objects, objects_reached;                 /* stack objects declared by live frames, and reached */
	size_t incomplete;                               /* stacks whose rest was scanned word by word */
};

/*
 * The root slots of goroutine g exactly as the GC's scanstack finds them:
 * each frame by the locals and args pointer maps at its continuation pc, or
 * conservatively where the runtime would (async preemption, debug calls; here
 * also a running goroutine's innermost frame); the stack objects a live
 * pointer reaches, transitively; g.sched.ctxt and stack defer records.  Each
 * slot is reported once.  A frame whose maps are unreadable is scanned word
 * by word and counted in stats (which may be NULL).
 */
struct memdbg_error *go_goroutine_slots(struct go_stack *s, const struct go_goroutine *g, go_slot_fn fn, void *arg,
					struct go_scan_stats *stats);

/* ---- internals shared by pclntab.c and stack.c ---- */

/* A uint64 -> pointer map (open addressing; key 0 is reserved). */
struct go_map {
	uint64_t *keys;
	void **vals;
	size_t cap, n;
};

/* Room for element n of a growing array (doubling); false when out of memory. */
bool go_grow(void **v, size_t *cap, size_t n, size_t size);

void *go_map_get(const struct go_map *m, uint64_t key);
bool go_map_put(struct go_map *m, uint64_t key, void *val);
void go_map_free(struct go_map *m);

struct go_textsect {
	uint64_t vaddr, end, baseaddr;
};

/* One runtime.moduledata, with its ftab copied out of the target. */
struct go_module {
	uint64_t addr;
	uint64_t text, etext, minpc, maxpc, gofunc, rodata, epclntab;
	uint64_t funcnametab, funcnametab_len, cutab, cutab_len, filetab, filetab_len, pctab, pctab_len, pclntable,
		pclntable_len;
	uint32_t *ftab;  /* pairs {entryoff, funcoff}, nftab + 1 of them (the last is etext) */
	size_t nftab;
	struct go_textsect *sects;
	size_t nsects;
};

/* Offsets of runtime._func and the other records pclntab.c decodes. */
struct go_func_layout {
	uint64_t entry_off, name_off, args, deferreturn, pcsp, pcfile, pcln, npcdata, cu_offset, start_line, funcid, flag,
		nfuncdata, tail;  /* tail: where the pcdata offsets start */
};

struct go_stack {
	struct memdbg_target *t;
	struct memdbg_go *go;
	struct go_module *mods;
	size_t nmods;
	struct go_func_layout fl;
	struct go_map funcs;  /* _func address -> struct go_func */
	struct go_map files;  /* filetab and funcnametab address -> char * (inlined names) */
	size_t bad_funcs;     /* _func records that could not be read */
	struct go_stack_priv *priv;  /* stack.c's own state */
};

struct memdbg_error *go_pcln_load(struct go_stack *s);
void go_pcln_free(struct go_stack *s);

#endif /* MEMDBG_GO_STACK_H */
