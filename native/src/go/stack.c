/*
 * stack.c - the goroutines of runtime.allgs and their frames.
 *
 * Where a goroutine resumes: g.sched for parked and runnable ones,
 * g.syscallsp/pc in a system call, and for running ones the registers of
 * the thread whose m.procid matches (NT_PRSTATUS in cores, PTRACE_GETREGS
 * when memdbg itself holds the process).  A running goroutine whose thread
 * is on its signal stack is followed through the kernel's signal frame
 * above runtime.sigtramp; one on the system stack (systemstack, mcall) has
 * a current g.sched.  Frames are walked with the pcsp tables, as the
 * runtime's own unwinder does on amd64 (no link register).
 */
#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <unistd.h>

#include "go/stack.h"

#define MAX_GS (1u << 24)
#define MAX_THREADS 65536
#define MAX_WAIT_REASONS 256
#define MAX_STATUS 32
#define MAX_FRAME_BYTES (64u << 20)  /* larger frames are corrupt */
#define THREAD_STACK_SPAN (64u << 20) /* how far above sp a thread's own stack may reach */
#define ARGS_SIZE_UNKNOWN INT32_MIN
#define MAX_STACK_OBJECTS 65536

struct thread_regs {
	int32_t tid;
	uint64_t pc, sp, bp;
};

/* Offsets of runtime.g, runtime.m and friends that only this file reads. */
struct g_layout {
	uint64_t stack_lo, stack_hi, sched_sp, sched_pc, sched_bp, syscallsp, syscallpc, waitreason, waitsince, gopc,
		startpc, m, running_cleanups, m_procid, mstats_last_gc, sched_lastpoll, p_schedwhen, sor_size,
		sor_off, sor_size_f, sor_ptr, sor_gcdata, sched_ctxt, g_defer, g_panic, defer_fn, defer_link;
	bool has_running_cleanups, has_lastpoll, has_schedwhen, has_sor, sor_signed_ptr, has_ctxt, has_defer, has_panic;
};

struct go_stack_priv {
	struct g_layout gl;
	const char *status_names[MAX_STATUS];
	char status_buf[MAX_STATUS][16];
	uint32_t g_dead, g_deadextra, g_running, g_syscall, g_waiting, g_scan;
	bool has_deadextra;
	char **wait_reasons;
	size_t nwait_reasons;
	/* functions the unwinder treats specially, by entry address */
	uint64_t fn_async_preempt, fn_debug_call, fn_sigpanic, fn_sigtramp, fn_runtime_main, fn_corostart,
		fn_async_event, fn_runfinq, fn_runcleanups;
	bool fing_running;   /* fingStatus has fingRunningFinalizer */
	struct thread_regs *threads;
	size_t nthreads;
	bool threads_known;  /* a core, or a process memdbg holds stopped */
	struct go_goroutine *gs;
	size_t ngs, skipped;
	bool gs_loaded;
	int64_t now;
	uint8_t *map_bits;   /* scratch for stack maps, MAX_MAP_BITS / 8 bytes */
};

const char *go_unwind_end_name(enum go_unwind_end e)
{
	static const char *const names[] = {
		[GO_UNWIND_COMPLETE] = "complete",
		[GO_UNWIND_BOUNDARY] = "stack switch",
		[GO_UNWIND_UNKNOWN_PC] = "unknown pc",
		[GO_UNWIND_BAD_SP] = "sp outside the stack",
		[GO_UNWIND_FAULT] = "unreadable stack",
		[GO_UNWIND_DEPTH] = "frame limit",
		[GO_UNWIND_NO_REGS] = "running, registers unavailable",
		[GO_UNWIND_STOPPED] = "stopped",
	};
	return (unsigned)e < MEMDBG_ARRAY_SIZE(names) ? names[e] : "?";
}

/* ---- layouts ---- */

static bool member(struct go_stack *s, const char *type, const char *path, uint64_t *off)
{
	return memdbg_dwarf_member(s->t->dwarf, type, path, off, NULL);
}

static struct memdbg_error *resolve_g_layout(struct go_stack *s)
{
	struct g_layout *gl = &s->priv->gl;
	static const struct { const char *type, *path; size_t at; } req[] = {
		{ "runtime.g", "stack.lo", offsetof(struct g_layout, stack_lo) },
		{ "runtime.g", "stack.hi", offsetof(struct g_layout, stack_hi) },
		{ "runtime.g", "sched.sp", offsetof(struct g_layout, sched_sp) },
		{ "runtime.g", "sched.pc", offsetof(struct g_layout, sched_pc) },
		{ "runtime.g", "sched.bp", offsetof(struct g_layout, sched_bp) },
		{ "runtime.g", "syscallsp", offsetof(struct g_layout, syscallsp) },
		{ "runtime.g", "syscallpc", offsetof(struct g_layout, syscallpc) },
		{ "runtime.g", "waitreason", offsetof(struct g_layout, waitreason) },
		{ "runtime.g", "waitsince", offsetof(struct g_layout, waitsince) },
		{ "runtime.g", "gopc", offsetof(struct g_layout, gopc) },
		{ "runtime.g", "startpc", offsetof(struct g_layout, startpc) },
		{ "runtime.g", "m", offsetof(struct g_layout, m) },
		{ "runtime.m", "procid", offsetof(struct g_layout, m_procid) },
		{ "runtime.mstats", "last_gc_nanotime", offsetof(struct g_layout, mstats_last_gc) },
	};
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(req); i++)
		if (!member(s, req[i].type, req[i].path, (uint64_t *)((char *)gl + req[i].at)))
			return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
						   "%s: cannot find %s.%s in the DWARF of this binary", s->go->version,
						   req[i].type, req[i].path);
	gl->has_running_cleanups = member(s, "runtime.g", "runningCleanups", &gl->running_cleanups);
	gl->has_lastpoll = member(s, "runtime.schedt", "lastpoll", &gl->sched_lastpoll);
	gl->has_schedwhen = member(s, "runtime.p", "sysmontick.schedwhen", &gl->p_schedwhen);
	/* runtime.stackObjectRecord: go1.22 has a signed _ptrdata (negative: GC program), later ptrBytes. */
	gl->has_sor = memdbg_dwarf_type_size(s->t->dwarf, "runtime.stackObjectRecord", &gl->sor_size) &&
		      member(s, "runtime.stackObjectRecord", "off", &gl->sor_off) &&
		      member(s, "runtime.stackObjectRecord", "size", &gl->sor_size_f) &&
		      member(s, "runtime.stackObjectRecord", "gcdataoff", &gl->sor_gcdata);
	if (gl->has_sor && !member(s, "runtime.stackObjectRecord", "ptrBytes", &gl->sor_ptr)) {
		gl->sor_signed_ptr = true;
		gl->has_sor = member(s, "runtime.stackObjectRecord", "_ptrdata", &gl->sor_ptr);
	}
	/* What scanstack scans besides the frames. */
	gl->has_ctxt = member(s, "runtime.g", "sched.ctxt", &gl->sched_ctxt);
	gl->has_defer = member(s, "runtime.g", "_defer", &gl->g_defer) && member(s, "runtime._defer", "fn", &gl->defer_fn) &&
			member(s, "runtime._defer", "link", &gl->defer_link);
	gl->has_panic = member(s, "runtime.g", "_panic", &gl->g_panic);
	return NULL;
}

/* Status names from the runtime._G* constants of this binary. */
static void resolve_statuses(struct go_stack *s)
{
	static const char *const names[] = { "idle", "runnable", "running", "syscall", "waiting", "moribund_unused",
					     "dead", "enqueue_unused", "copystack", "preempted", "leaked",
					     "deadextra" };
	static const char *const consts[] = { "runtime._Gidle", "runtime._Grunnable", "runtime._Grunning",
					      "runtime._Gsyscall", "runtime._Gwaiting", "runtime._Gmoribund_unused",
					      "runtime._Gdead", "runtime._Genqueue_unused", "runtime._Gcopystack",
					      "runtime._Gpreempted", "runtime._Gleaked", "runtime._Gdeadextra" };
	struct go_stack_priv *sp = s->priv;
	for (size_t i = 0; i < MAX_STATUS; i++) {
		snprintf(sp->status_buf[i], sizeof(sp->status_buf[i]), "status %zu", i);
		sp->status_names[i] = sp->status_buf[i];
	}
	sp->g_dead = sp->g_running = sp->g_syscall = sp->g_waiting = UINT32_MAX;
	for (size_t i = 0; i < MEMDBG_ARRAY_SIZE(consts); i++) {
		int64_t v;
		if (!memdbg_dwarf_const(s->t->dwarf, consts[i], &v) || v < 0 || v >= MAX_STATUS)
			continue;
		sp->status_names[v] = names[i];
		if (i == 2)
			sp->g_running = (uint32_t)v;
		else if (i == 3)
			sp->g_syscall = (uint32_t)v;
		else if (i == 4)
			sp->g_waiting = (uint32_t)v;
		else if (i == 6)
			sp->g_dead = (uint32_t)v;
		else if (i == 11) {
			sp->g_deadextra = (uint32_t)v;
			sp->has_deadextra = true;
		}
	}
	int64_t scan;
	sp->g_scan = memdbg_dwarf_const(s->t->dwarf, "runtime._Gscan", &scan) ? (uint32_t)scan : 0x1000;
}

/* runtime.waitReasonStrings: an array of Go strings indexed by waitReason. */
static void load_wait_reasons(struct go_stack *s)
{
	struct go_stack_priv *sp = s->priv;
	uint64_t addr, size;
	if (!memdbg_target_symbol(s->t, "runtime.waitReasonStrings", &addr, &size) || size % 16)
		return;
	size_t n = size / 16 < MAX_WAIT_REASONS ? (size_t)(size / 16) : MAX_WAIT_REASONS;
	sp->wait_reasons = calloc(n ? n : 1, sizeof(char *));
	if (!sp->wait_reasons)
		return;
	sp->nwait_reasons = n;
	for (size_t i = 0; i < n; i++) {
		uint64_t hdr[2];
		char buf[128];
		struct memdbg_error *err = memdbg_read(s->t, addr + 16 * i, hdr, sizeof(hdr));
		if (!err && hdr[1] < sizeof(buf))
			err = memdbg_read(s->t, hdr[0], buf, hdr[1]);
		if (err || hdr[1] >= sizeof(buf)) {
			memdbg_error_destroy(err);
			continue;
		}
		buf[hdr[1]] = '\0';
		sp->wait_reasons[i] = strdup(buf);
	}
}

/* A function's entry; assembly functions are named NAME.abi0 in the symbol table. */
static uint64_t symbol_or_zero(struct go_stack *s, const char *name)
{
	uint64_t addr;
	char abi0[128];
	snprintf(abi0, sizeof(abi0), "%s.abi0", name);
	return memdbg_target_symbol(s->t, name, &addr, NULL) || memdbg_target_symbol(s->t, abi0, &addr, NULL) ? addr : 0;
}

static void resolve_functions(struct go_stack *s)
{
	struct go_stack_priv *sp = s->priv;
	sp->fn_async_preempt = symbol_or_zero(s, "runtime.asyncPreempt");
	sp->fn_debug_call = symbol_or_zero(s, "runtime.debugCallV2");
	sp->fn_sigpanic = symbol_or_zero(s, "runtime.sigpanic");
	sp->fn_sigtramp = symbol_or_zero(s, "runtime.sigtramp");
	sp->fn_runtime_main = symbol_or_zero(s, "runtime.main");
	sp->fn_corostart = symbol_or_zero(s, "runtime.corostart");
	sp->fn_async_event = symbol_or_zero(s, "runtime.handleAsyncEvent");
	/* go1.26 renamed runfinq to runFinalizers and added runCleanups. */
	sp->fn_runfinq = symbol_or_zero(s, "runtime.runFinalizers");
	if (!sp->fn_runfinq)
		sp->fn_runfinq = symbol_or_zero(s, "runtime.runfinq");
	sp->fn_runcleanups = symbol_or_zero(s, "runtime.runCleanups");
	uint64_t status_addr;
	int64_t running;
	uint32_t status;
	if (memdbg_target_symbol(s->t, "runtime.fingStatus", &status_addr, NULL) &&
	    memdbg_dwarf_const(s->t->dwarf, "runtime.fingRunningFinalizer", &running)) {
		struct memdbg_error *err = memdbg_read_u32(s->t, status_addr, &status);
		sp->fing_running = !err && (status & (uint32_t)running);
		memdbg_error_destroy(err);
	}
}

/* ---- thread registers ---- */

static bool add_thread(struct go_stack_priv *sp, int32_t tid, uint64_t pc, uint64_t rsp, uint64_t bp)
{
	if (sp->nthreads == MAX_THREADS)
		return false;
	if (sp->nthreads % 64 == 0) {
		struct thread_regs *n = realloc(sp->threads, (sp->nthreads + 64) * sizeof(*n));
		if (!n)
			return false;
		sp->threads = n;
	}
	sp->threads[sp->nthreads++] = (struct thread_regs){ tid, pc, rsp, bp };
	return true;
}

/* struct elf_prstatus on x86-64: pr_pid at 32, pr_reg (user_regs_struct) at 112. */
#define PRSTATUS_PID 32
#define PRSTATUS_REGS 112
#define PRSTATUS_SIZE (112 + 27 * 8)

static void core_threads(struct go_stack *s)
{
	struct go_stack_priv *sp = s->priv;
	int fd = open(s->t->core_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t nph;
	if (e && elf_getphdrnum(e, &nph) == 0) {
		for (size_t i = 0; i < nph && i < 65536; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
				continue;
			Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
			if (!d)
				continue;
			GElf_Nhdr nh;
			size_t off = 0, name_off, desc_off, next;
			while (off < d->d_size && (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
				off = next;
				if (nh.n_type != NT_PRSTATUS || nh.n_descsz < PRSTATUS_SIZE)
					continue;
				const uint8_t *desc = (const uint8_t *)d->d_buf + desc_off;
				int32_t tid;
				uint64_t regs[27];
				memcpy(&tid, desc + PRSTATUS_PID, 4);
				memcpy(regs, desc + PRSTATUS_REGS, sizeof(regs));
				/* user_regs_struct: rbp is [4], rip [16], rsp [19]. */
				add_thread(sp, tid, regs[16], regs[19], regs[4]);
			}
		}
		sp->threads_known = true;
	}
	if (e)
		elf_end(e);
	close(fd);
}

/* Only threads memdbg stopped itself may be asked for their registers. */
static void live_threads(struct go_stack *s)
{
	struct go_stack_priv *sp = s->priv;
	if (!s->t->nstopped)
		return;
	for (size_t i = 0; i < s->t->nstopped; i++) {
		struct user_regs_struct r;
		if (ptrace(PTRACE_GETREGS, s->t->stopped[i], 0, &r) == 0)
			add_thread(sp, s->t->stopped[i], r.rip, r.rsp, r.rbp);
	}
	sp->threads_known = true;
}

static const struct thread_regs *thread_by_tid(const struct go_stack_priv *sp, int64_t tid)
{
	for (size_t i = 0; i < sp->nthreads; i++)
		if (sp->threads[i].tid == tid)
			return &sp->threads[i];
	return NULL;
}

/* ---- open/close ---- */

struct memdbg_error *go_stack_open(struct memdbg_target *t, struct go_stack **ret)
{
	struct memdbg_go *go;
	struct memdbg_error *err = memdbg_go_get(t, &go);
	if (err)
		return err;
	struct go_stack *s = calloc(1, sizeof(*s));
	if (!s)
		return memdbg_enomem;
	s->t = t;
	s->go = go;
	s->priv = calloc(1, sizeof(*s->priv));
	if (!s->priv) {
		free(s);
		return memdbg_enomem;
	}
	if ((err = go_pcln_load(s)) || (err = resolve_g_layout(s))) {
		go_stack_close(s);
		return err;
	}
	resolve_statuses(s);
	load_wait_reasons(s);
	resolve_functions(s);
	if (t->live)
		live_threads(s);
	else if (t->core_path)
		core_threads(s);
	*ret = s;
	return NULL;
}

void go_stack_close(struct go_stack *s)
{
	if (!s)
		return;
	go_pcln_free(s);
	struct go_stack_priv *sp = s->priv;
	if (sp) {
		for (size_t i = 0; i < sp->nwait_reasons; i++)
			free(sp->wait_reasons[i]);
		free(sp->wait_reasons);
		free(sp->threads);
		free(sp->gs);
		free(sp->map_bits);
		free(sp);
	}
	free(s);
}

/* ---- unwinding ---- */

struct walk {
	uint64_t pc, sp;
	uint64_t lo, hi;      /* sp stays within [lo, hi] */
	bool syscall;         /* innermost frame stopped in a system call: SPWRITE does not apply */
	bool arbitrary_pc;    /* innermost pc is not a call site (thread registers, signal) */
};

static bool in_func(const struct go_func *f, uint64_t entry)
{
	return entry && f && f->entry == entry;
}

/* The frame at w->pc/w->sp; false when the pc or the frame size is unknown. */
static enum go_unwind_end make_frame(struct go_stack *s, struct walk *w, bool innermost, uint64_t callee_entry,
				     struct go_frame *fr)
{
	struct go_stack_priv *sp = s->priv;
	memset(fr, 0, sizeof(*fr));
	fr->pc = w->pc;
	fr->sp = w->sp;
	fr->innermost = innermost;
	fr->fn = go_func_at(s, w->pc);
	if (!fr->fn)
		return GO_UNWIND_UNKNOWN_PC;
	fr->func = fr->fn->name;
	int32_t delta;
	if (fr->fn->pcsp == 0 || !go_func_spdelta(s, fr->fn, w->pc, &delta))
		return GO_UNWIND_UNKNOWN_PC;
	if ((uint64_t)delta > MAX_FRAME_BYTES)
		return GO_UNWIND_BAD_SP;
	fr->fp = w->sp + (uint64_t)delta + 8;
	fr->varp = fr->fp - 8;
	if (fr->varp > fr->sp)
		fr->varp -= 8;  /* the saved frame pointer */
	fr->argp = fr->fp;
	fr->continpc = w->pc;
	if (callee_entry && callee_entry == sp->fn_sigpanic) {
		/* A frame that panicked resumes at its deferreturn call, if any; else it is dead. */
		fr->continpc = fr->fn->deferreturn ? fr->fn->entry + fr->fn->deferreturn + 1 : 0;
	}
	/* Callers' return addresses point after the call: look up the line of the call itself. */
	bool after_injected = callee_entry && (callee_entry == sp->fn_sigpanic || callee_entry == sp->fn_async_preempt ||
					       callee_entry == sp->fn_debug_call);
	fr->sym_pc = innermost || after_injected ? w->pc : w->pc - 1;
	if (!go_func_line(s, fr->fn, fr->sym_pc, &fr->file, &fr->line)) {
		fr->file = "?";
		fr->line = 0;
	}
	fr->conservative = (innermost && w->arbitrary_pc) || in_func(fr->fn, sp->fn_async_preempt) ||
			   in_func(fr->fn, sp->fn_debug_call) ||
			   (callee_entry && (callee_entry == sp->fn_async_preempt || callee_entry == sp->fn_debug_call));
	return GO_UNWIND_COMPLETE;
}

/* Walks frames from w; on return *last is the outermost frame seen. */
static struct memdbg_error *walk_frames(struct go_stack *s, struct walk *w, size_t max, go_frame_fn fn, void *arg,
					enum go_unwind_end *end, struct go_frame *last)
{
	uint64_t callee = 0;
	if (w->pc == 0) {
		/* Stopped at a call's entry: the return address is on top. */
		struct memdbg_error *err = memdbg_read_u64(s->t, w->sp, &w->pc);
		if (err) {
			memdbg_error_destroy(err);
			*end = GO_UNWIND_FAULT;
			return NULL;
		}
		w->sp += 8;
	}
	for (size_t depth = 0;; depth++) {
		if (depth == max) {
			*end = GO_UNWIND_DEPTH;
			return NULL;
		}
		if (w->sp < w->lo || w->sp > w->hi) {
			*end = GO_UNWIND_BAD_SP;
			return NULL;
		}
		struct go_frame fr;
		bool innermost = depth == 0;
		enum go_unwind_end e = make_frame(s, w, innermost, callee, &fr);
		fr.depth = (uint32_t)depth;
		if (e != GO_UNWIND_COMPLETE) {
			*end = e;
			return NULL;
		}
		if (fr.fp > w->hi + 8) {
			*end = GO_UNWIND_BAD_SP;
			return NULL;
		}
		*last = fr;
		if (fn && !fn(arg, &fr)) {
			*end = GO_UNWIND_STOPPED;
			return NULL;
		}
		uint8_t flag = fr.fn->flag;
		if (innermost && w->syscall)
			flag &= (uint8_t)~GO_FUNCFLAG_SPWRITE;
		if (flag & GO_FUNCFLAG_TOPFRAME) {
			*end = GO_UNWIND_COMPLETE;
			return NULL;
		}
		if ((flag & GO_FUNCFLAG_SPWRITE) && !innermost) {
			*end = GO_UNWIND_BOUNDARY;
			return NULL;
		}
		uint64_t lr;
		struct memdbg_error *err = memdbg_read_u64(s->t, fr.fp - 8, &lr);
		if (err) {
			memdbg_error_destroy(err);
			*end = GO_UNWIND_FAULT;
			return NULL;
		}
		if (lr == 0) {
			*end = GO_UNWIND_COMPLETE;
			return NULL;
		}
		if (lr == w->pc && fr.fp == w->sp) {
			*end = GO_UNWIND_BAD_SP;  /* stuck */
			return NULL;
		}
		callee = fr.fn->entry;
		w->pc = lr;
		w->sp = fr.fp;
	}
}

#define MAX_SIGNAL_NESTING 8

/*
 * A running goroutine's thread is not on the goroutine's stack: walk the
 * thread's stack to runtime.sigtramp and take the interrupted registers
 * from the signal frame's ucontext (uc_mcontext.gregs: rbp [10], rsp [15],
 * rip [16]) just above it.  A crash raises its signal inside the handler of
 * the first one, so the interrupted context may be a signal stack again.
 */
static bool signal_context(struct go_stack *s, const struct thread_regs *tr, struct go_goroutine *g)
{
	struct go_stack_priv *sp = s->priv;
	if (!sp->fn_sigtramp)
		return false;
	uint64_t pc = tr->pc, rsp = tr->sp;
	for (int level = 0; level < MAX_SIGNAL_NESTING; level++) {
		struct walk w = { .pc = pc, .sp = rsp, .lo = rsp, .hi = rsp + THREAD_STACK_SPAN, .arbitrary_pc = true };
		enum go_unwind_end end;
		struct go_frame last = { 0 };
		struct memdbg_error *err = walk_frames(s, &w, 256, NULL, NULL, &end, &last);
		memdbg_error_destroy(err);
		if (!last.fn || last.fn->entry != sp->fn_sigtramp)
			return false;
		uint64_t gregs[17];
		if ((err = memdbg_read(s->t, last.fp + 40, gregs, sizeof(gregs)))) {
			memdbg_error_destroy(err);
			return false;
		}
		if (gregs[15] >= g->stack_lo && gregs[15] < g->stack_hi) {
			g->pc = gregs[16];
			g->sp = gregs[15];
			g->bp = gregs[10];
			g->regs_from = GO_REGS_SIGNAL;
			return true;
		}
		pc = gregs[16];
		rsp = gregs[15];
	}
	return false;
}

struct memdbg_error *go_unwind(struct go_stack *s, const struct go_goroutine *g, size_t max_frames, go_frame_fn fn,
			       void *arg, enum go_unwind_end *end)
{
	if (g->regs_from == GO_REGS_UNAVAILABLE) {
		*end = GO_UNWIND_NO_REGS;
		return NULL;
	}
	struct walk w = { .pc = g->pc, .sp = g->sp, .lo = g->stack_lo, .hi = g->stack_hi,
			  .syscall = g->regs_from == GO_REGS_SYSCALL,
			  .arbitrary_pc = g->regs_from == GO_REGS_THREAD || g->regs_from == GO_REGS_SIGNAL };
	struct go_frame last;
	if (max_frames > GO_MAX_FRAMES)
		max_frames = GO_MAX_FRAMES;
	return walk_frames(s, &w, max_frames, fn, arg, end, &last);
}

/* ---- goroutines ---- */

static bool is_system(struct go_stack *s, const struct go_goroutine *g)
{
	struct go_stack_priv *sp = s->priv;
	const struct go_func *f = go_func_at(s, g->startpc);
	if (!f)
		return false;
	if (f->entry == sp->fn_runtime_main || f->entry == sp->fn_corostart || f->entry == sp->fn_async_event)
		return false;
	if (f->entry == sp->fn_runfinq)
		return !sp->fing_running;
	if (f->entry == sp->fn_runcleanups && sp->gl.has_running_cleanups) {
		uint8_t running = 0;
		struct memdbg_error *err = memdbg_read(s->t, g->addr + sp->gl.running_cleanups, &running, 1);
		memdbg_error_destroy(err);
		return !running;
	}
	return strncmp(f->name, "runtime.", 8) == 0;
}

/* Where a running goroutine resumes: its thread, a signal frame, or g.sched. */
static void running_regs(struct go_stack *s, struct go_goroutine *g, uint64_t procid, uint64_t sched_pc,
			 uint64_t sched_sp, uint64_t sched_bp)
{
	struct go_stack_priv *sp = s->priv;
	const struct thread_regs *tr = g->m ? thread_by_tid(sp, (int64_t)procid) : NULL;
	g->tid = tr ? tr->tid : 0;
	if (!tr) {
		g->regs_from = GO_REGS_UNAVAILABLE;
		return;
	}
	if (tr->sp >= g->stack_lo && tr->sp < g->stack_hi) {
		g->pc = tr->pc;
		g->sp = tr->sp;
		g->bp = tr->bp;
		g->regs_from = GO_REGS_THREAD;
		return;
	}
	if (signal_context(s, tr, g))
		return;
	/* On the system stack: systemstack and mcall saved g.sched when they switched. */
	g->pc = sched_pc;
	g->sp = sched_sp;
	g->bp = sched_bp;
	g->regs_from = sched_sp >= g->stack_lo && sched_sp < g->stack_hi ? GO_REGS_SCHED : GO_REGS_UNAVAILABLE;
}

static uint64_t field(const uint8_t *buf, uint64_t off, size_t size)
{
	uint64_t v = 0;
	memcpy(&v, buf + off, size);
	return v;
}

#define G_BUF 1024  /* bytes of runtime.g read at once; every field used lies below */

/* Decodes one G; false when it cannot be read or contradicts itself. */
static bool load_g(struct go_stack *s, uint64_t addr, struct go_goroutine *g)
{
	struct go_stack_priv *sp = s->priv;
	const struct g_layout *gl = &sp->gl;
	uint8_t buf[G_BUF];
	struct memdbg_error *err = memdbg_read(s->t, addr, buf, sizeof(buf));
	if (err) {
		memdbg_error_destroy(err);
		return false;
	}
	memset(g, 0, sizeof(*g));
	g->addr = addr;
	uint32_t status = (uint32_t)field(buf, s->go->l.g_atomicstatus, 4);
	g->scan = status & sp->g_scan;
	g->status = status & ~sp->g_scan;
	g->dead = g->status == sp->g_dead || (sp->has_deadextra && g->status == sp->g_deadextra);
	if (g->dead)
		return true;
	g->status_name = g->status < MAX_STATUS ? sp->status_names[g->status] : "unknown";
	g->goid = field(buf, s->go->l.g_goid, 8);
	g->stack_lo = field(buf, gl->stack_lo, 8);
	g->stack_hi = field(buf, gl->stack_hi, 8);
	g->gopc = field(buf, gl->gopc, 8);
	g->startpc = field(buf, gl->startpc, 8);
	g->m = field(buf, gl->m, 8);
	g->wait_since = (int64_t)field(buf, gl->waitsince, 8);
	if (g->stack_lo >= g->stack_hi || g->stack_hi - g->stack_lo > (1ull << 40))
		return false;
	if (g->status == sp->g_waiting) {
		g->wait_reason = (uint8_t)field(buf, gl->waitreason, 1);
		if (g->wait_reason < sp->nwait_reasons)
			g->wait_reason_name = sp->wait_reasons[g->wait_reason];
	}
	uint64_t sched_pc = field(buf, gl->sched_pc, 8), sched_sp = field(buf, gl->sched_sp, 8),
		 sched_bp = field(buf, gl->sched_bp, 8), syscallsp = field(buf, gl->syscallsp, 8);
	if (g->status == sp->g_running) {
		uint64_t procid = 0;
		if (g->m && (err = memdbg_read_u64(s->t, g->m + gl->m_procid, &procid)))
			memdbg_error_destroy(err);
		running_regs(s, g, procid, sched_pc, sched_sp, sched_bp);
	} else if (syscallsp) {
		/* As the runtime's traceback: a saved syscall sp wins over sched. */
		g->pc = field(buf, gl->syscallpc, 8);
		g->sp = syscallsp;
		g->bp = sched_bp;
		g->regs_from = GO_REGS_SYSCALL;
	} else {
		g->pc = sched_pc;
		g->sp = sched_sp;
		g->bp = sched_bp;
		g->regs_from = GO_REGS_SCHED;
	}
	g->system = is_system(s, g);
	return true;
}

/* The latest nanotime the target recorded: a lower bound for "now". */
static void compute_now(struct go_stack *s)
{
	struct go_stack_priv *sp = s->priv;
	int64_t now = 0, v;
	struct memdbg_error *err = memdbg_read(s->t, s->go->sym.memstats + sp->gl.mstats_last_gc, &v, 8);
	if (!err && v > now)
		now = v;
	memdbg_error_destroy(err);
	if (sp->gl.has_lastpoll) {
		err = memdbg_read(s->t, s->go->sym.sched + sp->gl.sched_lastpoll, &v, 8);
		if (!err && v > now)
			now = v;
		memdbg_error_destroy(err);
	}
	uint64_t allp, nprocs;
	if (sp->gl.has_schedwhen && !(err = go_read_slice(s->t, s->go->sym.allp, &allp, &nprocs))) {
		for (uint64_t i = 0; i < nprocs && i < 65536; i++) {
			uint64_t pp;
			if ((err = memdbg_read_u64(s->t, allp + 8 * i, &pp)) || !pp ||
			    (err = memdbg_read(s->t, pp + sp->gl.p_schedwhen, &v, 8))) {
				memdbg_error_destroy(err);
				err = NULL; /* destroyed again after the loop otherwise */
				continue;
			}
			if (v > now)
				now = v;
		}
	}
	memdbg_error_destroy(err);
	for (size_t i = 0; i < sp->ngs; i++)
		if (sp->gs[i].wait_since > now)
			now = sp->gs[i].wait_since;
	sp->now = now;
}

int64_t go_stack_now(struct go_stack *s)
{
	return s->priv->now;
}

static struct memdbg_error *load_goroutines(struct go_stack *s)
{
	struct go_stack_priv *sp = s->priv;
	uint64_t allgs, len, glen;
	struct memdbg_error *err = go_read_slice(s->t, s->go->sym.allgs, &allgs, &len);
	if (err)
		return memdbg_error_prefix(err, "reading runtime.allgs");
	if ((err = memdbg_read_u64(s->t, s->go->sym.allglen, &glen)))
		return memdbg_error_prefix(err, "reading runtime.allglen");
	if (len > MAX_GS)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "runtime.allgs has %" PRIu64 " entries", len);
	if (glen < len)
		len = glen;  /* allglen is what the runtime's own iteration trusts */
	uint64_t *ptrs = malloc((len ? len : 1) * 8);
	sp->gs = calloc(len ? len : 1, sizeof(*sp->gs));
	if (!ptrs || !sp->gs) {
		free(ptrs);
		return memdbg_enomem;
	}
	if ((err = memdbg_read(s->t, allgs, ptrs, len * 8))) {
		free(ptrs);
		return memdbg_error_prefix(err, "reading runtime.allgs");
	}
	for (uint64_t i = 0; i < len; i++) {
		struct go_goroutine *g = &sp->gs[sp->ngs];
		if (!ptrs[i] || !load_g(s, ptrs[i], g)) {
			sp->skipped++;
			continue;
		}
		if (!g->dead)
			sp->ngs++;
	}
	free(ptrs);
	compute_now(s);
	sp->gs_loaded = true;
	return NULL;
}

struct memdbg_error *go_goroutines(struct go_stack *s, const struct go_goroutine **gs, size_t *n, size_t *skipped)
{
	struct go_stack_priv *sp = s->priv;
	if (!sp->gs_loaded) {
		struct memdbg_error *err = load_goroutines(s);
		if (err)
			return err;
	}
	*gs = sp->gs;
	*n = sp->ngs;
	if (skipped)
		*skipped = sp->skipped;
	return NULL;
}

/* ---- pointer slots: a goroutine's stack as the GC's scanstack sees it ---- */

#define MAX_MAP_BITS (MAX_FRAME_BYTES / 8)
#define MAX_DEFERS 100000

/* An address-taken local a frame declares (FUNCDATA_StackObjects): scanned only once a pointer reaches it. */
struct stack_obj {
	uint64_t base, size;
	int32_t ptrbytes;  /* < 0: go1.22's GC program, every word is scanned */
	uint64_t gcdata;   /* its pointer mask */
	size_t frame;      /* index into gscan.frames */
	bool scanned;
};

/* Pointers into the stack found while scanning: precise ones, or conservative ones. */
struct stack_ptrs {
	uint64_t *v;
	size_t head, n, cap;
};

struct gscan {
	struct go_stack *s;
	const struct go_goroutine *g;
	struct go_frame *frames;
	size_t nframes, frames_cap;
	struct stack_obj *objs;
	size_t nobjs, objs_cap;
	struct stack_ptrs found[2];  /* [0] precise, [1] conservative */
	uint8_t *bits;  /* MAX_MAP_BITS / 8 bytes for stack maps and masks */
	struct go_map seen;  /* slots already reported */
	struct go_scan_stats st;
	go_slot_fn fn;
	void *arg;
	bool stopped;   /* the callback asked to stop */
	struct memdbg_error *err;
};

static bool in_stack(const struct gscan *gs, uint64_t v)
{
	return v >= gs->g->stack_lo && v < gs->g->stack_hi;
}

static bool push_ptr(struct stack_ptrs *q, uint64_t v)
{
	if (!go_grow((void **)&q->v, &q->cap, q->n, sizeof(*q->v)))
		return false;
	q->v[q->n++] = v;
	return true;
}

/* Hands one slot to the callback; a value pointing into the stack is queued for the stack objects. */
static bool emit(struct gscan *gs, const struct go_frame *f, enum go_slot_kind kind, uint64_t addr, bool precise)
{
	if (gs->stopped || gs->err)
		return false;
	if (go_map_get(&gs->seen, addr))
		return true;  /* a stack defer record is also a live local, say */
	if (!go_map_put(&gs->seen, addr, (void *)1)) {
		gs->err = memdbg_enomem;
		return false;
	}
	uint64_t v = 0;
	const void *p = memdbg_peek(gs->s->t, addr, 8);
	if (p) {
		memcpy(&v, p, 8);
	} else {
		struct memdbg_error *err = memdbg_read_u64(gs->s->t, addr, &v);
		if (err) {
			gs->err = err;
			return false;
		}
	}
	if (in_stack(gs, v)) {
		if (!push_ptr(&gs->found[!precise], v)) {
			gs->err = memdbg_enomem;
			return false;
		}
	}
	struct go_slot sl = { .addr = addr, .value = v, .kind = kind, .precise = precise };
	if (!gs->fn(gs->arg, f, &sl))
		gs->stopped = true;
	return !gs->stopped;
}

static bool emit_words(struct gscan *gs, const struct go_frame *f, enum go_slot_kind kind, uint64_t from, uint64_t to)
{
	for (uint64_t a = from; a + 8 <= to; a += 8)
		if (!emit(gs, f, kind, a, false))
			return false;
	return true;
}

static bool emit_bits(struct gscan *gs, const struct go_frame *f, enum go_slot_kind kind, uint32_t nbit, uint64_t base,
		      bool precise)
{
	for (uint32_t i = 0; i < nbit; i++)
		if (((gs->bits[i / 8] >> (i % 8)) & 1) && !emit(gs, f, kind, base + 8 * (uint64_t)i, precise))
			return false;
	return true;
}

static uint32_t arg_bytes(const struct go_frame *f)
{
	return f->fn->args > 0 && f->fn->args != ARGS_SIZE_UNKNOWN ? (uint32_t)f->fn->args : 0;
}

/* Records the stack objects of frame fi that are allocated (at or above sp), as getStackMap lists them. */
static struct memdbg_error *frame_objects(struct gscan *gs, size_t fi)
{
	struct go_stack *s = gs->s;
	const struct go_frame *f = &gs->frames[fi];
	const struct g_layout *gl = &s->priv->gl;
	uint64_t p = go_func_funcdata(s, f->fn, GO_FUNCDATA_STACK_OBJECTS);
	if (!p || !gl->has_sor || gl->sor_size > 64)
		return NULL;
	uint64_t n;
	struct memdbg_error *err = memdbg_read_u64(s->t, p, &n);
	if (err)
		return err;
	if (n > MAX_STACK_OBJECTS)
		return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "%s: %" PRIu64 " stack objects", f->func, n);
	const struct go_module *m = f->fn->module;
	for (uint64_t i = 0; i < n; i++) {
		uint8_t rec[64];
		if ((err = memdbg_read(s->t, p + 8 + i * gl->sor_size, rec, gl->sor_size)))
			return err;
		int32_t off = (int32_t)field(rec, gl->sor_off, 4), size = (int32_t)field(rec, gl->sor_size_f, 4),
			ptr = (int32_t)field(rec, gl->sor_ptr, 4);
		uint64_t base = (off < 0 ? f->varp : f->argp) + (int64_t)off;
		if (base < f->sp || size <= 0)
			continue;
		if (!gl->sor_signed_ptr && ptr < 0)
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "%s: stack object of %d pointer bytes", f->func, ptr);
		if (ptr > size || (uint64_t)ptr / 8 > MAX_MAP_BITS)
			return memdbg_error_format(MEMDBG_ERROR_BAD_DATA, "%s: stack object of %d bytes with %d pointer bytes",
						   f->func, size, ptr);
		if (!go_grow((void **)&gs->objs, &gs->objs_cap, gs->nobjs, sizeof(*gs->objs)))
			return memdbg_enomem;
		gs->objs[gs->nobjs++] = (struct stack_obj){ base, (uint64_t)size, ptr,
							    m->rodata + (uint32_t)field(rec, gl->sor_gcdata, 4), fi, false };
	}
	return NULL;
}

/*
 * One frame as scanframeworker scans it: conservatively (async preemption
 * and the frame it interrupted, debug calls, a thread's arbitrary pc), or by
 * the locals and args pointer maps at the continuation pc (the call
 * instruction: pc - 1), whose stack objects wait for a pointer to reach them.
 */
static struct memdbg_error *scan_frame_maps(struct gscan *gs, size_t fi)
{
	struct go_stack *s = gs->s;
	const struct go_frame *f = &gs->frames[fi];
	uint32_t args = arg_bytes(f);
	uint64_t targetpc = f->continpc;
	int32_t index = -1;
	if (targetpc != f->fn->entry)
		index = go_func_pcdata(s, f->fn, GO_PCDATA_STACK_MAP_INDEX, targetpc - 1);
	if (index < 0)
		index = 0;  /* the prologue: the entry map, as the runtime assumes */
	struct memdbg_error *err = NULL;
	uint32_t nbit;
	if (f->varp > f->sp) {
		uint64_t lmap = go_func_funcdata(s, f->fn, GO_FUNCDATA_LOCALS_POINTER_MAPS);
		if (!lmap)  /* the runtime would throw "missing stackmap": scan it all */
			emit_words(gs, f, GO_SLOT_LOCAL, f->sp, f->varp);
		else if (!(err = go_stackmap_bits(s, lmap, index, gs->bits, MAX_MAP_BITS, &nbit)))
			emit_bits(gs, f, GO_SLOT_LOCAL, nbit, f->varp - 8 * (uint64_t)nbit, true);
	}
	if (!err && args >= 8) {
		uint64_t amap = go_func_funcdata(s, f->fn, GO_FUNCDATA_ARGS_POINTER_MAPS);
		if (!amap)
			emit_words(gs, f, GO_SLOT_ARG, f->argp, f->argp + args);
		else if (!(err = go_stackmap_bits(s, amap, index, gs->bits, MAX_MAP_BITS, &nbit)))
			emit_bits(gs, f, GO_SLOT_ARG, nbit, f->argp, true);
	}
	if (!err)
		err = frame_objects(gs, fi);
	return err;
}

/*
 * One frame as scanframeworker scans it: conservatively (async preemption
 * and the frame it interrupted, debug calls, a thread's arbitrary pc), or by
 * the locals and args pointer maps at the continuation pc (the call
 * instruction: pc - 1), whose stack objects wait for a pointer to reach them.
 * A frame whose maps cannot be read is scanned word by word and counted.
 */
static struct memdbg_error *scan_frame(struct gscan *gs, size_t fi)
{
	const struct go_frame *f = &gs->frames[fi];
	if (!f->fn || f->continpc == 0)
		return NULL;  /* dead: it will never run again (a panicking frame without defers) */
	gs->st.frames++;
	bool conservative = f->conservative;
	if (!conservative) {
		struct memdbg_error *err = scan_frame_maps(gs, fi);
		if (err && err != memdbg_enomem) {
			memdbg_error_destroy(err);
			gs->st.bad_frames++;
			conservative = true;
		} else if (err) {
			return err;
		}
	}
	if (conservative) {
		gs->st.conservative_frames++;
		if (emit_words(gs, f, GO_SLOT_LOCAL, f->sp, f->varp))
			emit_words(gs, f, GO_SLOT_ARG, f->argp, f->argp + arg_bytes(f));
	}
	return NULL;
}

/* The recorded stack object containing addr, or NULL (objects are sorted by base). */
static struct stack_obj *object_at(struct gscan *gs, uint64_t addr)
{
	size_t lo = 0, hi = gs->nobjs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (gs->objs[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= gs->objs[lo - 1].base + gs->objs[lo - 1].size)
		return NULL;
	return &gs->objs[lo - 1];
}

static int obj_cmp(const void *a, const void *b)
{
	const struct stack_obj *x = a, *y = b;
	return x->base < y->base ? -1 : x->base > y->base;
}

/* Pops a queued stack pointer, precise ones first (so objects are scanned precisely when they can be). */
static bool next_ptr(struct gscan *gs, uint64_t *v, bool *conservative)
{
	for (int k = 0; k < 2; k++) {
		struct stack_ptrs *q = &gs->found[k];
		if (q->head < q->n) {
			*v = q->v[q->head++];
			*conservative = k;
			return true;
		}
	}
	return false;
}

/* Scans every stack object a pointer reached, and those their pointers reach in turn. */
static struct memdbg_error *scan_stack_objects(struct gscan *gs)
{
	if (gs->nobjs)
		qsort(gs->objs, gs->nobjs, sizeof(*gs->objs), obj_cmp);
	uint64_t p;
	bool conservative;
	while (!gs->stopped && !gs->err && next_ptr(gs, &p, &conservative)) {
		struct stack_obj *o = object_at(gs, p);
		if (!o || o->scanned)
			continue;
		o->scanned = true;
		gs->st.objects_reached++;
		const struct go_frame *f = &gs->frames[o->frame];
		if (o->ptrbytes < 0) {
			emit_words(gs, f, GO_SLOT_OBJECT, o->base, o->base + o->size);
			continue;
		}
		uint32_t nwords = (uint32_t)o->ptrbytes / 8;
		struct memdbg_error *err = nwords ? memdbg_read(gs->s->t, o->gcdata, gs->bits, (nwords + 7) / 8) : NULL;
		if (err)
			return err;
		emit_bits(gs, f, GO_SLOT_OBJECT, nwords, o->base, !conservative);
	}
	return gs->err;
}

/*
 * What scanstack scans besides frames: the closure context register saved in
 * g.sched.ctxt, and each defer record's function and link (stack-allocated
 * records are otherwise unreachable); a panic record reaches its stack object.
 */
static void scan_g_specials(struct gscan *gs)
{
	struct go_stack *s = gs->s;
	const struct g_layout *gl = &s->priv->gl;
	const struct go_goroutine *g = gs->g;
	uint64_t v = 0, d = 0;
	struct memdbg_error *err = NULL;
	if (gl->has_ctxt && !(err = memdbg_read_u64(s->t, g->addr + gl->sched_ctxt, &v)) && v)
		emit(gs, NULL, GO_SLOT_CTXT, g->addr + gl->sched_ctxt, true);
	memdbg_error_destroy(err);
	err = gl->has_defer ? memdbg_read_u64(s->t, g->addr + gl->g_defer, &d) : NULL;
	for (size_t n = 0; !err && d && n < MAX_DEFERS && !gs->stopped && !gs->err; n++) {
		uint64_t fn = 0, link = 0;
		if ((err = memdbg_read_u64(s->t, d + gl->defer_fn, &fn)) ||
		    (err = memdbg_read_u64(s->t, d + gl->defer_link, &link)))
			break;
		/* A heap record is an object the g points to: the object graph scans it, but its fn may
		 * still be a closure on this stack (go.dev/issue/30453), a stack object it reaches. */
		if (in_stack(gs, d)) {
			if (fn)
				emit(gs, NULL, GO_SLOT_DEFER, d + gl->defer_fn, true);
			if (link)
				emit(gs, NULL, GO_SLOT_DEFER, d + gl->defer_link, true);
		} else if (in_stack(gs, fn) && !push_ptr(&gs->found[0], fn)) {
			gs->err = memdbg_enomem;
		}
		d = link;
	}
	memdbg_error_destroy(err);
	uint64_t panic = 0;
	if (gl->has_panic && !(err = memdbg_read_u64(s->t, g->addr + gl->g_panic, &panic)) && in_stack(gs, panic) &&
	    !push_ptr(&gs->found[0], panic))
		gs->err = memdbg_enomem;
	memdbg_error_destroy(err);
}

static bool collect_frame(void *arg, const struct go_frame *f)
{
	struct gscan *gs = arg;
	if (!go_grow((void **)&gs->frames, &gs->frames_cap, gs->nframes, sizeof(*gs->frames))) {
		gs->err = memdbg_enomem;
		return false;
	}
	gs->frames[gs->nframes++] = *f;
	return true;
}

/*
 * Where the unwinder stopped early the rest of the stack is unknown: scan it
 * word by word rather than lose what it holds (the whole stack when the
 * registers of a running goroutine are unavailable).
 */
static void scan_rest(struct gscan *gs, enum go_unwind_end end)
{
	const struct go_goroutine *g = gs->g;
	if (end == GO_UNWIND_COMPLETE)
		return;
	uint64_t from = gs->nframes ? gs->frames[gs->nframes - 1].fp : g->regs_from == GO_REGS_UNAVAILABLE ? g->stack_lo : g->sp;
	if (from < g->stack_lo || from > g->stack_hi)
		return;
	gs->st.incomplete++;
	emit_words(gs, NULL, GO_SLOT_REST, (from + 7) & ~7ull, g->stack_hi);
}

/* Frames whose function has another frame in the stack: their slots' roots need the frame's depth to be told apart. */
static struct memdbg_error *mark_recursive(struct go_frame *frames, size_t n)
{
	struct go_map first = { 0 };  /* function entry -> index + 1 of its innermost frame */
	for (size_t i = 0; i < n; i++) {
		if (!frames[i].fn)
			continue;
		uintptr_t k = (uintptr_t)go_map_get(&first, frames[i].fn->entry);
		if (k)
			frames[i].recursive = frames[k - 1].recursive = true;
		else if (!go_map_put(&first, frames[i].fn->entry, (void *)(i + 1))) {
			go_map_free(&first);
			return memdbg_enomem;
		}
	}
	go_map_free(&first);
	return NULL;
}

struct memdbg_error *go_goroutine_slots(struct go_stack *s, const struct go_goroutine *g, go_slot_fn fn, void *arg,
					struct go_scan_stats *stats)
{
	struct go_stack_priv *sp = s->priv;
	if (!sp->map_bits && !(sp->map_bits = malloc(MAX_MAP_BITS / 8)))
		return memdbg_enomem;
	struct gscan gs = { .s = s, .g = g, .bits = sp->map_bits, .fn = fn, .arg = arg };
	enum go_unwind_end end;
	struct memdbg_error *err = go_unwind(s, g, GO_MAX_FRAMES, collect_frame, &gs, &end);
	if (!err && !(err = gs.err))
		err = mark_recursive(gs.frames, gs.nframes);
	if (!err) {
		for (size_t i = 0; i < gs.nframes && !err && !gs.stopped; i++)
			err = scan_frame(&gs, i);
		if (!err && !gs.stopped)
			scan_rest(&gs, end);
		if (!err && !gs.stopped)
			scan_g_specials(&gs);
		gs.st.objects = gs.nobjs;
		if (!err && !gs.stopped)
			err = scan_stack_objects(&gs);
		if (!err)
			err = gs.err;
	}
	if (stats) {
		stats->frames += gs.st.frames;
		stats->conservative_frames += gs.st.conservative_frames;
		stats->bad_frames += gs.st.bad_frames;
		stats->objects += gs.st.objects;
		stats->objects_reached += gs.st.objects_reached;
		stats->incomplete += gs.st.incomplete;
	}
	free(gs.frames);
	free(gs.objs);
	free(gs.found[0].v);
	free(gs.found[1].v);
	go_map_free(&gs.seen);
	return err ? memdbg_error_prefix(err, "stack of goroutine %" PRIu64, g->goid) : NULL;
}
