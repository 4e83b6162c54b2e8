/* internal.h - declarations shared inside the core; front ends see only memdbg.h. */
#ifndef MEMDBG_INTERNAL_H
#define MEMDBG_INTERNAL_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "memdbg.h"

/* ---- errors (error.c) ---- */
extern struct memdbg_error memdbg_enomem_storage, memdbg_interrupted_storage;
#define memdbg_enomem (&memdbg_enomem_storage)
#define memdbg_interrupted (&memdbg_interrupted_storage)

struct memdbg_error *memdbg_error_format(enum memdbg_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct memdbg_error *memdbg_error_vformat(enum memdbg_error_code code, const char *fmt, va_list ap);
/* An OS error for `what path`, with strerror(errno). */
struct memdbg_error *memdbg_error_os(const char *what, const char *path);
struct memdbg_error *memdbg_error_fault(uint64_t address, size_t size);
/* "PATH is truncated: WHAT at byte END, past its end (the file has SIZE bytes)": WHAT is "its notes end". */
struct memdbg_error *memdbg_error_truncated(const char *path, const char *what, uint64_t end, uint64_t size);
/* Prepends "prefix: " to err's message; returns err. */
struct memdbg_error *memdbg_error_prefix(struct memdbg_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- ELF symbols and notes of the executable (elf.c) ---- */
/*
 * Open path for reading: it must be a regular, non-empty file.  Its type is
 * checked before it is opened and it is opened with O_NONBLOCK, so a FIFO,
 * socket, device or directory is refused by name and never blocks.  `what`
 * says what it should have been ("a core file", "an executable").
 */
struct memdbg_error *memdbg_open_regular(const char *path, const char *what, int *fd, uint64_t *size);
/*
 * What is wrong with the identification bytes of an ELF file, for a 64-bit
 * little-endian reader; without the ELF magic, "PATH is not WHAT".
 */
struct memdbg_error *memdbg_elf_check_ident(const uint8_t *m, size_t len, const char *path, const char *what);
struct memdbg_elf;
struct memdbg_error *memdbg_elf_open(const char *path, struct memdbg_elf **ret);
void memdbg_elf_close(struct memdbg_elf *elf);
/* Address (unrelocated) and size of a symbol; false when absent. */
bool memdbg_elf_symbol(const struct memdbg_elf *elf, const char *name, uint64_t *addr, uint64_t *size);
/* The symbol containing addr, or NULL. */
const char *memdbg_elf_symbol_at(const struct memdbg_elf *elf, uint64_t addr, uint64_t *offset);
uint64_t memdbg_elf_entry(const struct memdbg_elf *elf);
int memdbg_elf_machine(const struct memdbg_elf *elf);
bool memdbg_elf_is_pie(const struct memdbg_elf *elf);
bool memdbg_elf_is_executable(const struct memdbg_elf *elf);  /* ET_EXEC or ET_DYN */
int memdbg_elf_type(const struct memdbg_elf *elf);
bool memdbg_elf_has_symtab(const struct memdbg_elf *elf);
/* The raw GNU build-id (NULL when the file has none). */
const uint8_t *memdbg_elf_build_id(const struct memdbg_elf *elf, size_t *len);
/* Allocated note sections, in file order, for matching against a core's memory. */
size_t memdbg_elf_note_count(const struct memdbg_elf *elf);
bool memdbg_elf_note_at(const struct memdbg_elf *elf, size_t i, uint64_t *addr, const uint8_t **data, size_t *len);
/* File contents backing [addr, addr+len) of an allocated PT_LOAD, or NULL. */
const uint8_t *memdbg_elf_file_bytes(const struct memdbg_elf *elf, uint64_t addr, uint64_t *avail);
/* The PT_LOAD segments: unrelocated start, size in memory, and whether they are writable. */
size_t memdbg_elf_load_count(const struct memdbg_elf *elf);
bool memdbg_elf_load_at(const struct memdbg_elf *elf, size_t i, uint64_t *addr, uint64_t *memsz, bool *writable);
/* Where the i-th PT_LOAD's file bytes are: its address (unrelocated), file offset and size in the file. */
bool memdbg_elf_load_file(const struct memdbg_elf *elf, size_t i, uint64_t *addr, uint64_t *offset, uint64_t *filesz);
/* An allocated section by name (section headers may be missing: false then). */
bool memdbg_elf_section(const struct memdbg_elf *elf, const char *name, uint64_t *addr, uint64_t *size);
/* The first program header of that p_type (PT_GNU_RELRO, ...), unrelocated; false when absent. */
bool memdbg_elf_segment(const struct memdbg_elf *elf, unsigned type, uint64_t *addr, uint64_t *size);
struct Dwarf *memdbg_elf_dwarf(const struct memdbg_elf *elf);

/* ---- DWARF layouts (dwarf.c) ---- */
struct memdbg_dwarf;
struct memdbg_error *memdbg_dwarf_create(struct Dwarf *dw, struct memdbg_dwarf **ret);
void memdbg_dwarf_destroy(struct memdbg_dwarf *d);
/* Size of a named type; false when absent. */
bool memdbg_dwarf_type_size(struct memdbg_dwarf *d, const char *type, uint64_t *size);
/* Offset of a member path "a.b.c" inside a named struct; size of the last member. */
bool memdbg_dwarf_member(struct memdbg_dwarf *d, const char *type, const char *path, uint64_t *offset,
			 uint64_t *size);
/* Value of a DW_TAG_constant. */
bool memdbg_dwarf_const(struct memdbg_dwarf *d, const char *name, int64_t *value);
/* The bytes of a constant or variable's DW_AT_const_value block (a C static const array); 0 when
 * absent or longer than cap. */
size_t memdbg_dwarf_const_block(struct memdbg_dwarf *d, const char *name, void *buf, size_t cap);
/* DW_AT_go_runtime_type of a named type: its abi.Type's offset from runtime.types. */
bool memdbg_dwarf_runtime_type(struct memdbg_dwarf *d, const char *type, uint64_t *off);
/* The DWARF name, starting with prefix, of the type whose runtime descriptor is at offset off; NULL if none. */
const char *memdbg_dwarf_type_with_runtime_type(struct memdbg_dwarf *d, const char *prefix, uint64_t off);

struct memdbg_global {
	const char *name;
	const char *type_name;   /* the DWARF name of its type, or NULL */
	uint64_t addr, size;     /* unrelocated address */
	uint64_t runtime_type;   /* offset from runtime.types, when has_runtime_type */
	bool has_runtime_type;
	/* What runtime_type describes: the global, or the element of a slice, pointer or array global. */
	enum { MEMDBG_GLOBAL_VALUE, MEMDBG_GLOBAL_SLICE_OF, MEMDBG_GLOBAL_POINTER_TO, MEMDBG_GLOBAL_ARRAY_OF } shape;
	/* A member of the global `name` whose struct type has no runtime type: typed apart, named by the whole. */
	bool part;
};
/* Every global variable with a static address, in name order, each followed by its parts. */
struct memdbg_error *memdbg_dwarf_for_each_global(struct memdbg_dwarf *d,
						  struct memdbg_error *(*fn)(void *arg, const struct memdbg_global *g),
						  void *arg);
/* A local or parameter stored in a frame at pc: at CFA + cfa_offset. */
struct memdbg_frame_var {
	const char *name;
	int64_t cfa_offset;
	int64_t count_offset;  /* SLICE_OF: where its capacity (or, not spilled, its length) is, from the CFA */
	uint64_t size, runtime_type;
	bool has_runtime_type;
	int shape;  /* as memdbg_global.shape */
};
typedef struct memdbg_error *(*memdbg_frame_var_fn)(void *arg, const struct memdbg_frame_var *v);
/* The variables of the function containing pc that live in its frame at pc. */
struct memdbg_error *memdbg_dwarf_frame_vars(struct memdbg_dwarf *d, uint64_t pc, memdbg_frame_var_fn fn, void *arg);
/* The captured variables of the closure function at pc (go1.23+ DW_AT_go_closure_offset):
 * cfa_offset is then the offset in the closure object. */
struct memdbg_error *memdbg_dwarf_closure_vars(struct memdbg_dwarf *d, uint64_t pc, memdbg_frame_var_fn fn,
					       void *arg);
/* Address of a global variable from its DW_OP_addr location, and its size (0 when unknown; size may be NULL). */
bool memdbg_dwarf_variable(struct memdbg_dwarf *d, const char *name, uint64_t *addr, uint64_t *size);

/*
 * A stand-in for DWARF that answers the same lookups from elsewhere (a Go
 * executable without DWARF: layout tables, its own type descriptors, its
 * code).  Frame and closure variables and the list of globals stay empty;
 * memdbg_dwarf_is_debug_info() tells the two apart.
 */
struct memdbg_dwarf_ops {
	bool (*member)(void *arg, const char *type, const char *path, uint64_t *offset, uint64_t *size);
	bool (*type_size)(void *arg, const char *type, uint64_t *size);
	bool (*constant)(void *arg, const char *name, int64_t *value);
	bool (*runtime_type)(void *arg, const char *type, uint64_t *off);
	bool (*variable)(void *arg, const char *name, uint64_t *addr, uint64_t *size);
	/* A name for addr (unrelocated) where no symbol names it; see memdbg_target_symbol_at. */
	const char *(*name_at)(void *arg, uint64_t addr, uint64_t *offset, char *buf, size_t len);
	void (*destroy)(void *arg);
};
struct memdbg_error *memdbg_dwarf_create_ops(const struct memdbg_dwarf_ops *ops, void *arg, struct memdbg_dwarf **ret);
/* The ops' argument when d stands in with these ops, else NULL. */
void *memdbg_dwarf_ops_arg(const struct memdbg_dwarf *d, const struct memdbg_dwarf_ops *ops);
/* d reads the executable's own debug info (not a stand-in, not NULL). */
bool memdbg_dwarf_is_debug_info(const struct memdbg_dwarf *d);
/* The stand-in's name for an unrelocated address (NULL from real DWARF). */
const char *memdbg_dwarf_name_at(struct memdbg_dwarf *d, uint64_t addr, uint64_t *offset, char *buf, size_t len);

/* ---- x86-64 code (x86.c) ---- */
/*
 * The targets of the RIP-relative operands in code[0..n) (loaded at addr),
 * in order: returns how many there are (at most max are stored).  *decoded
 * is how far the walk got: n, or the first instruction it does not know.
 */
size_t memdbg_x86_rip_refs(const uint8_t *code, size_t n, uint64_t addr, uint64_t *targets, size_t max,
			   size_t *decoded);

/*
 * A forward walk of the first max_insns instructions of one function's code
 * (loaded at addr) that follows what each general-purpose register holds
 * across moves, spills to frame words below any frame address the code takes
 * and their reloads, direct branches (a join keeps what every way in agrees
 * on; a loop's head what its entries and its back edges agree on, found by
 * passes that report nothing, repeated until the back edges bring what the
 * heads assumed; code reached some other way knows nothing) and calls (ops->call
 * decides what survives one), and tells ops->store of every
 * write to a RIP-relative address and ops->stack of every write into the
 * stack frame.  Returns how many instructions it walked.
 */
struct memdbg_x86_value {
	uint32_t kind;  /* MEMDBG_X86_* or, from MEMDBG_X86_USER on, what ops->call put there */
	uint64_t a;     /* MEMDBG_X86_ADDR: the address; MEMDBG_X86_LOAD: the word's; a user kind's own */
};
/* LOAD: the 8 bytes read from a RIP-relative word or one at an address the code took. */
enum { MEMDBG_X86_UNKNOWN, MEMDBG_X86_ZERO, MEMDBG_X86_ADDR, MEMDBG_X86_LOAD, MEMDBG_X86_USER };
struct memdbg_x86_flow_ops {
	/*
	 * A direct call to target: regs[16] holds the registers before it, and is left as they are after
	 * it.  Returns how many bytes of the frame from SP up the callee may write (its arguments' and
	 * results'), UINT64_MAX when not known: the walk forgets what it knew those words held.  The walk
	 * makes passes over a function with loops before the one that reports (report): regs may then hold
	 * what a loop's head was assumed to have, so nothing may be concluded from them but regs' after.
	 */
	uint64_t (*call)(void *arg, uint64_t target, struct memdbg_x86_value *regs, bool report);
	/*
	 * A write of width bytes at addr (a RIP-relative operand, or a register holding an address the
	 * code took, plus its displacement): val is the 8 bytes a register or immediate store writes, else
	 * UNKNOWN.  indexed: somewhere in the array of 8-byte words from addr on (an index register).
	 */
	void (*store)(void *arg, uint64_t addr, uint64_t width, struct memdbg_x86_value val, bool indexed);
	/* Every RIP-relative operand's address (may be NULL). */
	void (*ref)(void *arg, uint64_t addr);
	/*
	 * (May be NULL.)  A write of width bytes at disp(SP) by the instruction at pc, val as for store; or,
	 * width MEMDBG_X86_ESCAPES, an indexed write from disp(SP) on: anything from there up may be written
	 * unseen; width MEMDBG_X86_ADDRESS, the address disp(SP) taken (LEAQ): whatever variable begins there
	 * may be; disp MEMDBG_X86_WHOLE_FRAME (and width ESCAPES): the whole frame may be (SP or BP copied, a
	 * write through BP, code the walk did not reach).
	 */
	void (*stack)(void *arg, uint64_t pc, int64_t disp, uint64_t width, struct memdbg_x86_value val);
	/*
	 * (May be NULL.)  A way out of the function: a return, with the registers it returns (regs[16]); or,
	 * regs NULL, one whose results the walk cannot tell (a jump out of the function, code not walked).
	 */
	void (*ret)(void *arg, const struct memdbg_x86_value *regs);
	/*
	 * (May be NULL.)  A write of width bytes at disp from a register holding a value of a user kind
	 * (base, what ops->call put there: the object an allocation returned), no index register; val as
	 * for store.
	 */
	void (*store_into)(void *arg, struct memdbg_x86_value base, int64_t disp, uint64_t width,
			   struct memdbg_x86_value val);
	/* (May be NULL.)  What the function at addr is entered with: regs[16], all unknown, to fill. */
	void (*entry)(void *arg, uint64_t addr, struct memdbg_x86_value *regs);
	/* (May be NULL.)  The 8 bytes a load reads at disp from a register holding a value of a user kind. */
	struct memdbg_x86_value (*load)(void *arg, struct memdbg_x86_value base, int64_t disp);
	/* (May be NULL.)  A direct call to target, once per call instruction: regs[16] before it. */
	void (*call_site)(void *arg, uint64_t target, const struct memdbg_x86_value *regs);
};
#define MEMDBG_X86_ESCAPES UINT64_MAX
#define MEMDBG_X86_ADDRESS (UINT64_MAX - 1)
#define MEMDBG_X86_WHOLE_FRAME INT64_MIN
size_t memdbg_x86_flow(const uint8_t *code, size_t n, uint64_t addr, size_t max_insns,
		       const struct memdbg_x86_flow_ops *ops, void *arg);

/* ---- targets and their memory (target.c) ---- */
struct memdbg_segment {
	uint64_t start, end;  /* [start, end) in the target's address space */
	const uint8_t *data;  /* NULL: mapped in the target but its bytes are not available */
	bool from_file;       /* bytes come from a mapped file, not from the core itself */
};

struct memdbg_go;

/* Decoder state kept per target (built on first use, dropped when live memory may have changed). */
enum memdbg_cache_id { MEMDBG_CACHE_JEMALLOC, MEMDBG_CACHE_TCMALLOC, MEMDBG_CACHE_GLIBC, MEMDBG_CACHE_REFS,
		       MEMDBG_CACHE_COUNT };

struct memdbg_cache {
	void *state;
	void (*destroy)(void *state);
};

/* A thread of the target and its thread pointer (x86-64 fs_base). */
struct memdbg_thread_ptr {
	int tid;
	uint64_t fs_base;
};

/* A file mapped into the target: [start, end) holds the file from offset. */
struct memdbg_mapping {
	uint64_t start, end, offset;
	char *path;
};

struct memdbg_target {
	bool live;
	int pid;
	char *exe_path;
	char *core_path;
	struct memdbg_elf *exe;
	struct memdbg_dwarf *dwarf;  /* NULL when the executable has no DWARF, or a stand-in (go/stripped.c) */
	uint64_t bias;               /* load bias of the executable (PIE) */

	/* core: sorted, non-overlapping segments */
	struct memdbg_segment *segs;
	size_t nsegs;
	void **maps;  /* mmapped files, unmapped on destroy */
	size_t *map_lens;
	size_t nmaps;

	/* live: page cache in front of process_vm_readv */
	struct memdbg_page *pages;
	pid_t *stopped;  /* threads we stopped and must release */
	size_t nstopped;
	bool was_stopped;  /* the process was in a job-control stop before we attached */

	struct memdbg_mapping *mappings;  /* file mappings (NT_FILE, or /proc/PID/maps when live) */
	size_t nmappings;

	struct memdbg_thread_ptr *threads;  /* core: NT_PRSTATUS; live: read on first use */
	size_t nthreads;
	bool threads_read;

	struct memdbg_go *go;  /* Go runtime state, built on first use */
	struct memdbg_cache caches[MEMDBG_CACHE_COUNT];
};

/*
 * A live target opened without stopping it (watch): stop every thread for a
 * few reads (ptrace seize and interrupt; the page cache starts empty), then
 * let them go.  The kernel lets them go too should memdbg die in between.
 */
struct memdbg_error *memdbg_target_pause(struct memdbg_target *t);
void memdbg_target_resume(struct memdbg_target *t);

/* Copy exactly n bytes of target memory or fail with a FAULT error. */
struct memdbg_error *memdbg_read(struct memdbg_target *t, uint64_t addr, void *buf, size_t n);
bool memdbg_readable(struct memdbg_target *t, uint64_t addr, size_t n);
/* Zero-copy view of n bytes of a core's memory, or NULL (live target, gap, segment edge). */
const void *memdbg_peek(struct memdbg_target *t, uint64_t addr, size_t n);
/*
 * Drop a core's pages of [lo, hi) from this process (the core is mapped
 * read-only: a later read faults them back in), so a walk that touches a
 * whole heap once does not keep it resident.  Nothing for a live target.
 */
void memdbg_release(struct memdbg_target *t, uint64_t lo, uint64_t hi);
struct memdbg_error *memdbg_read_u64(struct memdbg_target *t, uint64_t addr, uint64_t *ret);
struct memdbg_error *memdbg_read_u32(struct memdbg_target *t, uint64_t addr, uint32_t *ret);
/*
 * A decoder's cached state for this target, or a new one: `size` zeroed
 * bytes that build fills (on error destroy frees them), then cached until
 * the target drops it.
 */
typedef struct memdbg_error *(*memdbg_cache_build_fn)(struct memdbg_target *t, void *state, void *arg);
struct memdbg_error *memdbg_target_cache_build(struct memdbg_target *t, enum memdbg_cache_id id, size_t size,
					       memdbg_cache_build_fn build, void *arg, void (*destroy)(void *state),
					       void **ret);
/* The target's file mappings, in address order (re-read for live targets). */
struct memdbg_error *memdbg_target_mappings(struct memdbg_target *t, const struct memdbg_mapping **ret, size_t *n);
/*
 * The memory the program wrote: a core's own segments, a live process's
 * writable mappings.  anon: no file maps it (heaps, stacks, mmap), as
 * opposed to a file's data and bss.
 */
typedef struct memdbg_error *(*memdbg_region_fn)(void *arg, uint64_t lo, uint64_t hi, bool anon);
struct memdbg_error *memdbg_target_data_regions(struct memdbg_target *t, memdbg_region_fn fn, void *arg);
/*
 * Each thread and its thread pointer: a core's NT_PRSTATUS notes, or ptrace
 * for the threads a live target holds stopped.  *n is 0 when they cannot be
 * known (a live process that another debugger holds).
 */
struct memdbg_error *memdbg_target_threads(struct memdbg_target *t, const struct memdbg_thread_ptr **ret, size_t *n);
/* A symbol's address in the target (bias applied), from .symtab or DWARF. */
bool memdbg_target_symbol(struct memdbg_target *t, const char *name, uint64_t *addr, uint64_t *size);
/*
 * The symbol containing the target address addr (*offset: addr's offset in
 * it), or without symbols what names it instead: a function of the Go
 * pclntab, or a section ("bss+0x1a2b0", written to buf, *offset 0).  NULL
 * when nothing names it.
 */
const char *memdbg_target_symbol_at(struct memdbg_target *t, uint64_t addr, uint64_t *offset, char *buf, size_t len);

/* ---- output (out.c) ---- */
/*
 * Commands emit a document: key/value fields, nested objects, and tables
 * whose rows are streamed.  Text mode renders aligned "Key: value" lines and
 * fixed-width table rows; JSON mode renders one object per command.
 */
enum memdbg_col_kind { MEMDBG_COL_U64, MEMDBG_COL_I64, MEMDBG_COL_HEX, MEMDBG_COL_STR, MEMDBG_COL_PCT,
		       MEMDBG_COL_BOOL };

struct memdbg_col {
	const char *name;  /* JSON key; the text header is the same */
	enum memdbg_col_kind kind;
	int width;         /* text width; negative: left-aligned */
	int elide;         /* text: strings longer than this lose their middle to "..." (0: never) */
};

/* Text width of a name (a Go type: generics get long) before its middle is elided. */
#define MEMDBG_NAME_WIDTH 72
/* s, or its first and last characters around "..." when longer than max (buf holds max + 1). */
const char *memdbg_elide(const char *s, size_t max, char *buf, size_t size);

struct memdbg_val {
	uint64_t u;  /* U64, HEX, BOOL; I64 through a cast */
	double d;    /* PCT (0..100) */
	const char *s;
	bool null;   /* render as null / "-" */
};

struct memdbg_printer;
struct memdbg_printer *memdbg_printer_create(const struct memdbg_out *out);
void memdbg_printer_destroy(struct memdbg_printer *p);
bool memdbg_printer_json(const struct memdbg_printer *p);
/* Hand what is buffered to the front end now (a command that streams, like watch). */
void memdbg_printer_flush(struct memdbg_printer *p);
/* JSON lines: end this document and start the next with its "command"; text: flush. */
void memdbg_printer_next_document(struct memdbg_printer *p, const char *command);
/* A command failed: JSON closes what is open and records "error"; text prints nothing. */
void memdbg_printer_fail(struct memdbg_printer *p, const char *message);
/* The depth of open containers, to come back to with memdbg_printer_unwind. */
int memdbg_printer_depth(const struct memdbg_printer *p);
/* Close the containers opened since depth (a failed nested command) and add its "error". */
void memdbg_printer_unwind(struct memdbg_printer *p, int depth, const char *message);
/* Report how far a long step is (rate-limited to whole percents). */
void memdbg_progress(struct memdbg_printer *p, const char *what, uint64_t done, uint64_t total);
/* Poll the front end's interrupt callback: memdbg_interrupted when it fired. */
struct memdbg_error *memdbg_check_interrupt(struct memdbg_printer *p);
/* The same, asked now (a command that waits, like watch between samples). */
struct memdbg_error *memdbg_poll_interrupt(struct memdbg_printer *p);

/* key NULL: an element of the enclosing array.  Text mode prints "title:" and indents. */
void memdbg_begin_object(struct memdbg_printer *p, const char *key, const char *title);
void memdbg_end_object(struct memdbg_printer *p);
/* An array of objects; title NULL prints no header line in text mode. */
void memdbg_begin_array(struct memdbg_printer *p, const char *key, const char *title);
void memdbg_end_array(struct memdbg_printer *p);
void memdbg_field_u64(struct memdbg_printer *p, const char *key, uint64_t v);
void memdbg_field_i64(struct memdbg_printer *p, const char *key, int64_t v);
void memdbg_field_hex(struct memdbg_printer *p, const char *key, uint64_t v);
void memdbg_field_str(struct memdbg_printer *p, const char *key, const char *v);
void memdbg_field_bool(struct memdbg_printer *p, const char *key, bool v);
void memdbg_field_pct(struct memdbg_printer *p, const char *key, double v);
void memdbg_field_null(struct memdbg_printer *p, const char *key);
/* An array of scalars printed on one line in text mode. */
void memdbg_field_hex_list(struct memdbg_printer *p, const char *key, const uint64_t *v, size_t n);
/*
 * A figure read from the target failed a check of what must hold (a span outside
 * the heap arenas, MemStats beyond the heap): never printed as a fact.  Text: a
 * "damaged: ..." line here; JSON: one string of the document's "damaged" array.
 * The message names the figure, its value, where it was read and the rule it broke.
 * The command's result is then partial (memdbg_run returns MEMDBG_ERROR_PARTIAL).
 */
void memdbg_damaged(struct memdbg_printer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Part of the command failed and the rest was printed (triage's sections): the result is partial. */
void memdbg_partial(struct memdbg_printer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After the command: NULL, or the MEMDBG_ERROR_PARTIAL naming the first damage or the failed part. */
struct memdbg_error *memdbg_printer_result(const struct memdbg_printer *p);
/* A free text line (text mode only), e.g. a note at the end of a table. */
void memdbg_note(struct memdbg_printer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void memdbg_table_begin(struct memdbg_printer *p, const char *key, const struct memdbg_col *cols, size_t ncols);
void memdbg_table_row(struct memdbg_printer *p, const struct memdbg_val *vals);
void memdbg_table_end(struct memdbg_printer *p);

/* ---- parallel passes (pool.c) ---- */
/* Threads a pass may use: the running command's --jobs, else $MEMDBG_JOBS, else the CPUs we may run on. */
unsigned memdbg_jobs(void);
/* The threads memdbg_parallel gives a pass over t: memdbg_jobs(), but one for a live target. */
unsigned memdbg_target_jobs(const struct memdbg_target *t);
/* Set --jobs for the command being run (0: the default); returns the previous setting. */
unsigned memdbg_jobs_set(unsigned n);
/* One chunk of a pass: [begin, end) of [0, n), chunk number `chunk` (begin / grain). */
typedef void (*memdbg_chunk_fn)(void *arg, size_t chunk, size_t begin, size_t end);
/*
 * Run fn over [0, n) in chunks of grain items on up to memdbg_jobs() threads,
 * the caller's included (one thread for a live target).  fn may run on any
 * thread: it must write only what its chunk owns (or claims atomically, as
 * marking's chunks, one per thread, do) and must not call the front end (p)
 * from any thread but the caller's.  The caller's thread reports progress as
 * `what` and polls p for an interrupt after each of its chunks: then the pass
 * stops early and memdbg_interrupted is returned.
 */
struct memdbg_error *memdbg_parallel(struct memdbg_target *t, struct memdbg_printer *p, const char *what, size_t n,
				     size_t grain, memdbg_chunk_fn fn, void *arg);

/* ---- Go runtime (go/) ---- */
void memdbg_go_destroy(struct memdbg_go *go);

/* ---- commands (commands.c) ---- */
struct memdbg_args;
struct memdbg_opt {
	const char *name;  /* "--state" */
	const char *arg;   /* NULL for a flag, else the value's name ("S") */
	const char *help;
};

struct memdbg_command {
	struct memdbg_command_info info;  /* info.options stays NULL: memdbg_command_at derives it from opts */
	const struct memdbg_opt *opts;    /* terminated by a NULL name; NULL: no options */
	unsigned max_args;                /* positional arguments accepted */
	bool needs_target;
	struct memdbg_error *(*run)(struct memdbg_target *t, struct memdbg_args *args, struct memdbg_printer *p);
};

/* Option access for command handlers; options were validated against the table. */
bool memdbg_arg_flag(struct memdbg_args *a, const char *name);
const char *memdbg_arg_value(struct memdbg_args *a, const char *name);
struct memdbg_error *memdbg_arg_u64(struct memdbg_args *a, const char *name, uint64_t def, uint64_t max,
				    uint64_t *ret);
/* The address that is the command's one positional argument. */
struct memdbg_error *memdbg_arg_address(struct memdbg_args *a, uint64_t *ret);
struct memdbg_error *memdbg_arg_double(struct memdbg_args *a, const char *name, double def, double *ret);
size_t memdbg_arg_positional_count(struct memdbg_args *a);
const char *memdbg_arg_positional(struct memdbg_args *a, size_t i);

#define MEMDBG_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* qsort/bsearch order of uint64_t values. */
static inline int memdbg_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

#endif /* MEMDBG_INTERNAL_H */
