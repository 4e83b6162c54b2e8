/*
 * memdbg.h - the public interface of the memdbg core.
 *
 * The core knows no debugger: front ends (the CLI, the CPython extension that
 * gdb and lldb load) open a target, run command lines against it, and receive
 * the rendered output through a write callback.  Every fallible function
 * returns a struct memdbg_error * (NULL on success); results are written to
 * trailing *ret parameters only on success.
 */
#ifndef MEMDBG_H
#define MEMDBG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MEMDBG_PUBLIC __attribute__((visibility("default")))

enum memdbg_error_code {
	MEMDBG_ERROR_NO_MEMORY = 1,
	MEMDBG_ERROR_INVALID_ARGUMENT, /* bad option or argument from the user */
	MEMDBG_ERROR_OS,               /* a system call failed (errno in message) */
	MEMDBG_ERROR_FAULT,            /* target address not readable */
	MEMDBG_ERROR_LOOKUP,           /* symbol, type, field or command not found */
	MEMDBG_ERROR_BAD_DATA,         /* target structure contradicts itself */
	MEMDBG_ERROR_UNSUPPORTED,      /* unknown runtime, version or file kind */
	MEMDBG_ERROR_MISMATCH,         /* executable does not match the core */
	MEMDBG_ERROR_INTERRUPTED,      /* the front end asked to stop */
	/*
	 * Not a failure: the command printed its answer, but part of it failed (a
	 * triage section) or figures read from the target failed their plausibility
	 * checks and are shown as damaged.  The CLI exits 3; gdb and lldb warn.
	 */
	MEMDBG_ERROR_PARTIAL,
};

struct memdbg_error;

MEMDBG_PUBLIC enum memdbg_error_code memdbg_error_code(const struct memdbg_error *err);
/* One line, no trailing newline, no "memdbg:" prefix. */
MEMDBG_PUBLIC const char *memdbg_error_message(const struct memdbg_error *err);
/* Accepts NULL and the static errors. */
MEMDBG_PUBLIC void memdbg_error_destroy(struct memdbg_error *err);

struct memdbg_target;

/*
 * Open an ELF core.  exe_path may be NULL: the executable is then taken from
 * the core's NT_FILE note.  Fails with MEMDBG_ERROR_MISMATCH when the
 * executable is not the one the core was dumped from.
 */
MEMDBG_PUBLIC struct memdbg_error *memdbg_target_open_core(const char *core_path, const char *exe_path,
							    struct memdbg_target **ret);

/*
 * Open a live process, read-only (process_vm_readv).  exe_path may be NULL
 * (then /proc/PID/exe).  With stop == true every thread of the process is
 * held stopped (ptrace seize + interrupt) while the target is open; pass
 * false when a debugger already holds the process stopped.
 */
MEMDBG_PUBLIC struct memdbg_error *memdbg_target_open_pid(int pid, const char *exe_path, bool stop,
							   struct memdbg_target **ret);

/* NULL-safe.  Detaches from a live process it stopped. */
MEMDBG_PUBLIC void memdbg_target_destroy(struct memdbg_target *target);

/* Drop everything cached from target memory (live targets, before each command). */
MEMDBG_PUBLIC void memdbg_target_invalidate(struct memdbg_target *target);

/*
 * A live target's threads and their thread pointers (x86-64 fs_base), from a
 * debugger that holds the process: memdbg cannot read registers of threads it
 * does not trace itself (glibc's per-thread tcache needs them).  Replaces what
 * was set before; cores have them in their notes.
 */
MEMDBG_PUBLIC struct memdbg_error *memdbg_target_set_threads(struct memdbg_target *target, const int *tids,
							      const uint64_t *fs_bases, size_t n);

/* Where command output goes.  Only write is required. */
struct memdbg_out {
	void (*write)(void *arg, const char *buf, size_t len);
	/* Polled during long walks; true stops the command with MEMDBG_ERROR_INTERRUPTED. */
	bool (*interrupted)(void *arg);
	/*
	 * Optional: how far a long build is (the object graph, the dominator
	 * tree), for a progress line on a terminal; never part of the output.
	 * done == total marks the end of that step.
	 */
	void (*progress)(void *arg, const char *what, uint64_t done, uint64_t total);
	void *arg;
	/* Render every command as one JSON document instead of text. */
	bool json;
};

/*
 * Run one command line; argv[0] is the command name ("mspan-walk").  A
 * "--json" anywhere in argv also selects JSON output.  target may be NULL for
 * commands that need none (help).  On error nothing partial is left unsaid:
 * output written so far stays written, and the error says what failed.
 */
MEMDBG_PUBLIC struct memdbg_error *memdbg_run(struct memdbg_target *target, int argc, char **argv,
					       const struct memdbg_out *out);

struct memdbg_command_info {
	const char *name;      /* "mspan-walk" */
	const char *summary;   /* one line */
	const char *usage;     /* "mspan-walk [--state S] ..." */
	const char *help;      /* full text, lines separated by \n */
	const char *const *options; /* NULL-terminated list of option names, for completion */
};

MEMDBG_PUBLIC size_t memdbg_command_count(void);
/* NULL when i >= memdbg_command_count(). */
MEMDBG_PUBLIC const struct memdbg_command_info *memdbg_command_at(size_t i);
MEMDBG_PUBLIC const struct memdbg_command_info *memdbg_command_find(const char *name);

#ifdef __cplusplus
}
#endif
#endif /* MEMDBG_H */
