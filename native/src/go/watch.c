/*
 * watch.c - sample a live Go process's MemStats at an interval and forecast
 * when it reaches its memory limit.
 *
 * Each sample stops the process only for the runtime's counters (memstats,
 * the consistent heap stats, gcController, each P's mcache: no span walk),
 * with ptrace seize and interrupt, and lets it go at once; the pause is
 * measured.  Everything else comes from /proc and the cgroup files while it
 * runs.  The kernel resumes a seized thread when its tracer dies, so neither
 * Ctrl-C nor a kill of memdbg can leave the process stopped.
 *
 * The forecast: for each limit (the cgroup's, GOMEMLIMIT, the machine's),
 * the memory the limit is compared with, fitted as a line over the last
 * --window samples; the time to the limit is where the line meets it, with
 * the range the slope's 95% interval gives.  The GC's own headroom, what the
 * heap will still take before the next GC (the heap goal beyond the heap's
 * ready pages), is reported beside it: a goal past the limit means the
 * process can die before that GC.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "go/memstats.h"

#define MAX_WINDOW 10000
#define UNLIMITED (UINT64_C(1) << 62)

enum limit_kind { LIM_CGROUP, LIM_GOMEMLIMIT, LIM_MACHINE, LIM_COUNT };
static const char *const limit_names[LIM_COUNT] = { "cgroup", "GOMEMLIMIT", "machine" };

struct point {
	double t, v;
};

struct sample {
	double t;           /* seconds since the first sample */
	double pause_ms;
	struct go_memstats ms;
	int64_t goroutines;
	uint64_t rss, cg_usage, mem_available;
	uint64_t limit[LIM_COUNT];   /* 0: none */
	uint64_t use[LIM_COUNT];     /* what that limit is compared with */
	uint64_t need[LIM_COUNT];    /* that, plus the GC headroom */
};

struct forecast {
	bool ok;           /* a limit, and growth toward it */
	double seconds, low, high;  /* high: INFINITY when the slope's interval reaches 0 */
	double rate, rate_err;      /* bytes per second */
	size_t n;
};

struct cgroup {
	char dir[4096];
	bool v2;
	bool found;
};

struct watch {
	int pid;
	struct memdbg_target *t;
	struct memdbg_go *go;
	struct cgroup cg;
	uint64_t mem_total;
	struct point *win[LIM_COUNT], *win_use[LIM_COUNT];
	size_t nwin, window;
	int listen_fd;
	char metrics[8192];
	bool core_taken;
	const char *core_dir;
};

/* ---- small readers of /proc and cgroup files ---- */

static bool read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* A number file ("max" and absurdly large values: unlimited, 0). */
static uint64_t read_limit(const char *path)
{
	char b[64];
	if (!read_file(path, b, sizeof(b)) || strncmp(b, "max", 3) == 0)
		return 0;
	unsigned long long v = strtoull(b, NULL, 10);
	return v >= UNLIMITED ? 0 : v;
}

static uint64_t read_u64_file(const char *path)
{
	char b[64];
	return read_file(path, b, sizeof(b)) ? strtoull(b, NULL, 10) : 0;
}

/* "Key:   123 kB" from /proc/meminfo, in bytes. */
static uint64_t meminfo(const char *key)
{
	char b[8192];
	if (!read_file("/proc/meminfo", b, sizeof(b)))
		return 0;
	const char *at = strstr(b, key);
	return at ? strtoull(at + strlen(key), NULL, 10) * 1024 : 0;
}

/* The mount point of the cgroup hierarchy: v2 (cgroup2), or the v1 one with the memory controller. */
static bool cgroup_mount(bool v2, char *mnt, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	char line[4096];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		char point[2048], fstype[64], opts[1024];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %2047s", point) != 1 ||
		    sscanf(dash, " - %63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (v2 ? strcmp(fstype, "cgroup2") == 0
		       : strcmp(fstype, "cgroup") == 0 && (strstr(opts, ",memory") || strncmp(opts, "memory", 6) == 0)) {
			snprintf(mnt, size, "%s", point);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* The target's memory cgroup directory: the v1 memory hierarchy if mounted, else v2's. */
static void find_cgroup(int pid, struct cgroup *cg)
{
	char path[64], b[8192], mnt[2048];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if (!read_file(path, b, sizeof(b)))
		return;
	const char *v1 = NULL, *v2 = NULL;
	for (char *line = strtok(b, "\n"); line; line = strtok(NULL, "\n")) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1;
		if (strcmp(line, "0") == 0 && !*ctrls)
			v2 = c2 + 1;
		else if (strcmp(ctrls, "memory") == 0 || strstr(ctrls, "memory,") || strstr(ctrls, ",memory"))
			v1 = c2 + 1;
	}
	if (v1 && cgroup_mount(false, mnt, sizeof(mnt))) {
		snprintf(cg->dir, sizeof(cg->dir), "%s%s", mnt, v1);
		cg->found = true;
	} else if (v2 && cgroup_mount(true, mnt, sizeof(mnt))) {
		snprintf(cg->dir, sizeof(cg->dir), "%s%s", mnt, v2);
		cg->v2 = cg->found = true;
	}
}

/* The cgroup's effective limit: v1 from memory.stat's hierarchical limit, v2 the least memory.max up the tree. */
static uint64_t cgroup_limit(const struct cgroup *cg)
{
	char path[4200], b[8192];
	if (!cg->found)
		return 0;
	if (!cg->v2) {
		snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", cg->dir);
		uint64_t lim = read_limit(path);
		snprintf(path, sizeof(path), "%s/memory.stat", cg->dir);
		const char *h = read_file(path, b, sizeof(b)) ? strstr(b, "hierarchical_memory_limit ") : NULL;
		if (h) {
			unsigned long long v = strtoull(h + 26, NULL, 10);
			if (v < UNLIMITED && (!lim || v < lim))
				lim = v;
		}
		return lim;
	}
	uint64_t lim = 0;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", cg->dir);
	for (int depth = 0; depth < 64; depth++) {
		snprintf(path, sizeof(path), "%s/memory.max", dir);
		if (access(path, R_OK) != 0)
			break;
		uint64_t v = read_limit(path);
		if (v && (!lim || v < lim))
			lim = v;
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
	}
	return lim;
}

static uint64_t cgroup_usage(const struct cgroup *cg)
{
	char path[4200];
	if (!cg->found)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", cg->dir, cg->v2 ? "memory.current" : "memory.usage_in_bytes");
	return read_u64_file(path);
}

static uint64_t process_rss(int pid)
{
	char path[64], b[256];
	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	unsigned long long size, resident;
	if (!read_file(path, b, sizeof(b)) || sscanf(b, "%llu %llu", &size, &resident) != 2)
		return 0;
	return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- one sample ---- */

/* Gone, or a zombie its parent has not reaped yet. */
static bool process_gone(int pid)
{
	char path[64], b[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!read_file(path, b, sizeof(b)))
		return true;
	const char *paren = strrchr(b, ')');
	return !paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X';
}

/* Why a seize failed, in words: another tracer holds the process, or no permission. */
static struct memdbg_error *explain_stop_error(int pid, struct memdbg_error *err)
{
	char path[64], b[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	const char *tp = read_file(path, b, sizeof(b)) ? strstr(b, "TracerPid:") : NULL;
	int tracer = tp ? atoi(tp + 10) : 0;
	/* lldb traces through its lldb-server, a child of the lldb process. */
	snprintf(path, sizeof(path), "/proc/%d/status", tracer);
	const char *pp = tracer && read_file(path, b, sizeof(b)) ? strstr(b, "PPid:") : NULL;
	if (tracer && (tracer == getpid() || (pp && atoi(pp + 5) == getpid()))) {
		memdbg_error_destroy(err);
		return memdbg_error_format(MEMDBG_ERROR_UNSUPPORTED,
					   "watch: process %d is the one this debugger holds stopped; watch stops and "
					   "resumes it itself: detach, then run 'memdbg watch %d' from a shell",
					   pid, pid);
	}
	if (tracer) {
		memdbg_error_destroy(err);
		return memdbg_error_format(MEMDBG_ERROR_OS,
					   "watch: process %d is traced by process %d (a debugger?); detach it first", pid,
					   tracer);
	}
	return memdbg_error_prefix(err, "watch");
}

static struct memdbg_error *take_sample(struct watch *w, double t0, struct sample *s)
{
	uint64_t allp, nprocs;
	double start = now_s();
	struct memdbg_error *err = memdbg_target_pause(w->t);
	if (err) {
		if (process_gone(w->pid)) {
			memdbg_error_destroy(err);
			return memdbg_error_format(MEMDBG_ERROR_OS, "watch: process %d has exited", w->pid);
		}
		return explain_stop_error(w->pid, err);
	}
	err = go_memstats_read(w->t, w->go, &s->ms);
	struct go_reader r = { w->t };
	if (!err && !(err = go_read_slice(w->t, w->go->sym.allp, &allp, &nprocs)))
		s->goroutines = go_goroutine_count(&r, w->go, allp, nprocs < 65536 ? nprocs : 0);
	memdbg_target_resume(w->t);
	double end = now_s();
	if (err || (err = r.err))
		return process_gone(w->pid) ? memdbg_error_format(MEMDBG_ERROR_OS, "watch: process %d has exited", w->pid)
					    : memdbg_error_prefix(err, "watch: reading the runtime's statistics");
	s->t = start - t0;
	s->pause_ms = (end - start) * 1e3;
	s->rss = process_rss(w->pid);
	s->cg_usage = cgroup_usage(&w->cg);
	s->mem_available = meminfo("MemAvailable:");

	const struct go_memstats *m = &s->ms;
	uint64_t heap_ready = m->HeapSys - m->HeapReleased;
	uint64_t headroom = m->NextGC > heap_ready ? m->NextGC - heap_ready : 0;
	s->limit[LIM_CGROUP] = cgroup_limit(&w->cg);
	s->use[LIM_CGROUP] = s->cg_usage;
	s->limit[LIM_GOMEMLIMIT] = m->memory_limit < UNLIMITED ? m->memory_limit : 0;
	s->use[LIM_GOMEMLIMIT] = m->mapped_ready;
	/* The machine: what this process has, plus what is still available to it. */
	s->limit[LIM_MACHINE] = s->mem_available ? s->rss + s->mem_available : w->mem_total;
	s->use[LIM_MACHINE] = s->rss;
	for (int k = 0; k < LIM_COUNT; k++)
		s->need[k] = s->use[k] + headroom;
	return NULL;
}

/* ---- the forecast ---- */

/* Least squares over the window; the time until the fitted line reaches limit. */
static struct forecast fit(const struct point *pts, size_t n, double limit)
{
	struct forecast f = { .n = n };
	if (n < 3 || !limit)
		return f;
	double mt = 0, mv = 0;
	for (size_t i = 0; i < n; i++) {
		mt += pts[i].t;
		mv += pts[i].v;
	}
	mt /= (double)n;
	mv /= (double)n;
	double sxx = 0, sxy = 0;
	for (size_t i = 0; i < n; i++) {
		sxx += (pts[i].t - mt) * (pts[i].t - mt);
		sxy += (pts[i].t - mt) * (pts[i].v - mv);
	}
	if (sxx <= 0)
		return f;
	double b = sxy / sxx, a = mv - b * mt, ss = 0;
	for (size_t i = 0; i < n; i++) {
		double e = pts[i].v - (a + b * pts[i].t);
		ss += e * e;
	}
	f.rate = b;
	f.rate_err = sqrt(ss / (double)(n - 2) / sxx);
	double last = pts[n - 1].t, left = limit - (a + b * last);
	if (b <= 0 || left <= 0) {
		f.ok = left <= 0;  /* at or past the limit already: 0 s */
		return f;
	}
	f.ok = true;
	f.seconds = left / b;
	double hi_rate = b + 2 * f.rate_err, lo_rate = b - 2 * f.rate_err;
	f.low = left / hi_rate;
	f.high = lo_rate > 0 ? left / lo_rate : INFINITY;
	return f;
}

static void format_duration(double s, char *buf, size_t size)
{
	if (isinf(s) || s > 1e9)
		snprintf(buf, size, "never");
	else if (s >= 3600)
		snprintf(buf, size, "%dh%02dm", (int)(s / 3600), (int)(fmod(s, 3600) / 60));
	else if (s >= 60)
		snprintf(buf, size, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
	else
		snprintf(buf, size, "%.1fs", s);
}

static void format_bytes(double v, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (fabs(v) >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* "1m30s", "10m", "2h", "45" (seconds) */
static bool parse_duration(const char *s, double *ret)
{
	double total = 0;
	const char *p = s;
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		if (end == p || v < 0)
			return false;
		double unit = 1;
		if (*end == 'h')
			unit = 3600, end++;
		else if (*end == 'm' && end[1] == 's')
			unit = 1e-3, end += 2;
		else if (*end == 'm')
			unit = 60, end++;
		else if (*end == 's')
			end++;
		else if (*end)
			return false;
		total += v * unit;
		p = end;
	}
	*ret = total;
	return p != s;
}

/* ---- Prometheus ---- */

static struct memdbg_error *listen_on(const char *addr, int *ret)
{
	char host[256] = "127.0.0.1";
	const char *colon = strrchr(addr, ':');
	const char *port = colon ? colon + 1 : addr;
	if (colon && colon != addr)
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	char *end;
	long pn = strtol(port, &end, 10);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)pn) };
	if (!*port || *end || pn < 0 || pn > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
					   "watch: --prometheus wants PORT or IPV4:PORT (default host 127.0.0.1), not '%s'",
					   addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (fd < 0)
		return memdbg_error_os("cannot make a socket for", addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 8) != 0) {
		struct memdbg_error *err = memdbg_error_os("cannot listen on", addr);
		close(fd);
		return err;
	}
	*ret = fd;
	return NULL;
}

/* Answer one scrape: read the request (briefly), send the last sample's figures, close. */
static void serve_one(struct watch *w)
{
	int c = accept4(w->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	char req[4096];
	struct pollfd pf = { c, POLLIN, 0 };
	if (poll(&pf, 1, 200) > 0 && read(c, req, sizeof(req)) < 0)
		req[0] = '\0';
	char head[160];
	size_t body = strlen(w->metrics);
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %zu\r\n\r\n",
			 body);
	if (write(c, head, (size_t)n) == n && write(c, w->metrics, body) < 0)
		body = 0;
	close(c);
}

static void put_metric(char *buf, size_t size, size_t *len, const char *name, const char *type, const char *help,
		       const char *labels, double v)
{
	if (*len >= size)
		return;
	int n = help ? snprintf(buf + *len, size - *len, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type) : 0;
	if (n > 0)
		*len += (size_t)n;
	if (*len < size && (n = snprintf(buf + *len, size - *len, "%s{%s} %.17g\n", name, labels, v)) > 0)
		*len += (size_t)n;
}

static void update_metrics(struct watch *w, const struct sample *s, const struct forecast *fc)
{
	char lab[64], llab[128];
	size_t len = 0, size = sizeof(w->metrics);
	char *b = w->metrics;
	snprintf(lab, sizeof(lab), "pid=\"%d\"", w->pid);
	const struct go_memstats *m = &s->ms;
	put_metric(b, size, &len, "memdbg_go_heap_alloc_bytes", "gauge", "MemStats.HeapAlloc", lab, (double)m->HeapAlloc);
	put_metric(b, size, &len, "memdbg_go_heap_inuse_bytes", "gauge", "MemStats.HeapInuse", lab, (double)m->HeapInuse);
	put_metric(b, size, &len, "memdbg_go_heap_objects", "gauge", "MemStats.HeapObjects", lab, (double)m->HeapObjects);
	put_metric(b, size, &len, "memdbg_go_sys_bytes", "gauge", "MemStats.Sys", lab, (double)m->Sys);
	put_metric(b, size, &len, "memdbg_go_next_gc_bytes", "gauge", "MemStats.NextGC: the heap goal", lab,
		   (double)m->NextGC);
	put_metric(b, size, &len, "memdbg_go_gc_cycles_total", "counter", "MemStats.NumGC", lab, (double)m->NumGC);
	put_metric(b, size, &len, "memdbg_go_goroutines", "gauge", "runtime.NumGoroutine", lab, (double)s->goroutines);
	put_metric(b, size, &len, "memdbg_process_resident_bytes", "gauge", "resident set size", lab, (double)s->rss);
	put_metric(b, size, &len, "memdbg_watch_pause_seconds", "gauge", "how long the last sample stopped the process",
		   lab, s->pause_ms / 1e3);
	for (int k = 0; k < LIM_COUNT; k++) {
		if (!s->limit[k])
			continue;
		snprintf(llab, sizeof(llab), "%s,limit=\"%s\"", lab, limit_names[k]);
		put_metric(b, size, &len, "memdbg_memory_limit_bytes", "gauge", k ? NULL : "a memory limit", llab,
			   (double)s->limit[k]);
		put_metric(b, size, &len, "memdbg_memory_need_bytes", "gauge",
			   k ? NULL : "what the limit is compared with, plus the heap still to grow before the next GC",
			   llab, (double)s->need[k]);
		if (fc[k].ok)
			put_metric(b, size, &len, "memdbg_oom_forecast_seconds", "gauge",
				   "time until the limit at the fitted growth rate", llab, fc[k].seconds);
	}
}

/* ---- a core before the OOM ---- */

/*
 * Turn the core's zero pages into holes.  A Go process reserves far more than
 * it touches, and gcore writes every reserved page: a 1.2 GB file that holds
 * 100 MB.  Best effort: a file system without hole punching keeps it whole.
 */
static void punch_zero_pages(const char *path)
{
	enum { BLOCK = 4096, CHUNK = 256 * BLOCK };
	static const char zero[BLOCK];
	int fd = open(path, O_RDWR | O_CLOEXEC);
	char *buf = fd >= 0 ? malloc(CHUNK) : NULL;
	off_t off = 0;
	ssize_t n;
	while (buf && (n = pread(fd, buf, CHUNK, off)) > 0) {
		for (ssize_t i = 0; i + BLOCK <= n; i += BLOCK) {
			ssize_t j = i;
			while (j + BLOCK <= n && memcmp(buf + j, zero, BLOCK) == 0)
				j += BLOCK;
			if (j > i && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off + i, j - i) != 0)
				goto out;
			i = j > i ? j - BLOCK : i;
		}
		off += n;
	}
out:
	free(buf);
	if (fd >= 0)
		close(fd);
}

/* gdb's gcore: the process is stopped while it is written and goes on afterwards. */
static struct memdbg_error *take_core(struct watch *w, char *path, size_t size)
{
	char prefix[4096];
	snprintf(prefix, sizeof(prefix), "%s/core.%d.%ld", w->core_dir, w->pid, (long)time(NULL));
	snprintf(path, size, "%s.%d", prefix, w->pid);
	pid_t child = fork();
	if (child < 0)
		return memdbg_error_os("cannot start", "gcore");
	if (child == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		char pid[32];
		snprintf(pid, sizeof(pid), "%d", w->pid);
		execlp("gcore", "gcore", "-o", prefix, pid, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	struct stat st;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || stat(path, &st) != 0)
		return memdbg_error_format(MEMDBG_ERROR_OS, "watch: gcore %d failed (%s)", w->pid,
					   WIFEXITED(status) && WEXITSTATUS(status) == 127 ? "gdb's gcore is not installed"
											    : "see gcore's own output");
	punch_zero_pages(path);
	return NULL;
}

/* ---- printing ---- */

static void print_header(struct memdbg_printer *p, struct watch *w, const struct sample *s, double interval)
{
	memdbg_field_i64(p, "pid", w->pid);
	memdbg_field_str(p, "executable", w->t->exe_path);
	memdbg_field_str(p, "go_version", w->go->version);
	if (memdbg_printer_json(p)) {
		char iv[32];
		snprintf(iv, sizeof(iv), "%g", interval);
		memdbg_field_str(p, "interval", iv);
	}
	memdbg_field_str(p, "cgroup", w->cg.found ? w->cg.dir : "(none found)");
	memdbg_begin_array(p, "limits", memdbg_printer_json(p) ? NULL : "Limits");
	for (int k = 0; k < LIM_COUNT; k++) {
		char v[32];
		if (memdbg_printer_json(p)) {
			memdbg_begin_object(p, NULL, NULL);
			memdbg_field_str(p, "name", limit_names[k]);
			if (s->limit[k])
				memdbg_field_u64(p, "bytes", s->limit[k]);
			else
				memdbg_field_null(p, "bytes");
			memdbg_end_object(p);
			continue;
		}
		format_bytes((double)s->limit[k], v, sizeof(v));
		memdbg_note(p, "  %-12s %s", limit_names[k], s->limit[k] ? v : "none");
	}
	memdbg_end_array(p);
}

static int nearest(const struct forecast *fc)
{
	int best = -1;
	for (int k = 0; k < LIM_COUNT; k++)
		if (fc[k].ok && (best < 0 || fc[k].seconds < fc[best].seconds))
			best = k;
	return best;
}

static void print_sample(struct memdbg_printer *p, uint64_t i, const struct sample *s, const struct forecast *fc,
			 bool alert, double alert_before)
{
	const struct go_memstats *m = &s->ms;
	int k = nearest(fc);
	if (memdbg_printer_json(p)) {
		memdbg_field_u64(p, "sample", i);
		memdbg_field_u64(p, "elapsed_ms", (uint64_t)(s->t * 1e3));
		memdbg_field_u64(p, "pause_us", (uint64_t)(s->pause_ms * 1e3));
		memdbg_begin_object(p, "memstats", NULL);
		memdbg_field_u64(p, "HeapAlloc", m->HeapAlloc);
		memdbg_field_u64(p, "HeapInuse", m->HeapInuse);
		memdbg_field_u64(p, "HeapIdle", m->HeapIdle);
		memdbg_field_u64(p, "HeapReleased", m->HeapReleased);
		memdbg_field_u64(p, "HeapObjects", m->HeapObjects);
		memdbg_field_u64(p, "Sys", m->Sys);
		memdbg_field_u64(p, "StackInuse", m->StackInuse);
		memdbg_field_u64(p, "NextGC", m->NextGC);
		memdbg_field_u64(p, "NumGC", m->NumGC);
		memdbg_field_u64(p, "Mallocs", m->Mallocs);
		memdbg_field_u64(p, "Frees", m->Frees);
		memdbg_end_object(p);
		memdbg_field_i64(p, "goroutines", s->goroutines);
		memdbg_field_u64(p, "rss", s->rss);
		static const struct memdbg_col cols[] = { { "class", MEMDBG_COL_U64, 0 }, { "size", MEMDBG_COL_U64, 0 },
							  { "objects", MEMDBG_COL_U64, 0 } };
		memdbg_table_begin(p, "classes", cols, 3);
		for (size_t c = 1; c < m->nclasses; c++) {
			uint64_t live = m->class_mallocs[c] - m->class_frees[c];
			struct memdbg_val v[3] = { { .u = c }, { .u = m->class_size[c] }, { .u = live } };
			if (live)
				memdbg_table_row(p, v);
		}
		memdbg_table_end(p);
		memdbg_begin_array(p, "forecasts", NULL);
		for (int j = 0; j < LIM_COUNT; j++) {
			if (!s->limit[j])
				continue;
			memdbg_begin_object(p, NULL, NULL);
			memdbg_field_str(p, "limit", limit_names[j]);
			memdbg_field_u64(p, "limit_bytes", s->limit[j]);
			memdbg_field_u64(p, "use_bytes", s->use[j]);
			memdbg_field_u64(p, "need_bytes", s->need[j]);
			memdbg_field_bool(p, "goal_past_limit", s->need[j] >= s->limit[j]);
			memdbg_field_i64(p, "rate_bytes_per_s", (int64_t)fc[j].rate);
			memdbg_field_i64(p, "rate_err_bytes_per_s", (int64_t)fc[j].rate_err);
			memdbg_field_u64(p, "fit_samples", fc[j].n);
			if (fc[j].ok) {
				memdbg_field_u64(p, "seconds_ms", (uint64_t)(fc[j].seconds * 1e3));
				memdbg_field_u64(p, "low_ms", (uint64_t)(fc[j].low * 1e3));
				if (isinf(fc[j].high))
					memdbg_field_null(p, "high_ms");
				else
					memdbg_field_u64(p, "high_ms", (uint64_t)(fc[j].high * 1e3));
			} else {
				memdbg_field_null(p, "seconds_ms");
			}
			memdbg_end_object(p);
		}
		memdbg_end_array(p);
		memdbg_field_bool(p, "alert", alert);
		return;
	}
	char heap[32], goal[32], sys[32], rss[32], fcs[256] = "no growth toward a limit";
	format_bytes((double)m->HeapAlloc, heap, sizeof(heap));
	format_bytes((double)m->NextGC, goal, sizeof(goal));
	format_bytes((double)m->Sys, sys, sizeof(sys));
	format_bytes((double)s->rss, rss, sizeof(rss));
	if (k >= 0) {
		char sec[32], lo[32], hi[32], rate[32];
		format_duration(fc[k].seconds, sec, sizeof(sec));
		format_duration(fc[k].low, lo, sizeof(lo));
		format_duration(fc[k].high, hi, sizeof(hi));
		format_bytes(fc[k].rate, rate, sizeof(rate));
		snprintf(fcs, sizeof(fcs), "%s limit in %s (95%%: %s..%s) at %s/s%s", limit_names[k], sec, lo, hi, rate,
			 s->need[k] >= s->limit[k] ? ", heap goal past it" : "");
	} else if (fc[LIM_MACHINE].n < 3) {
		snprintf(fcs, sizeof(fcs), "forecast after 3 samples");
	}
	memdbg_note(p, "%5" PRIu64 " %8.1fs  heap %10s  goal %10s  sys %10s  rss %10s  goroutines %6" PRId64
		    "  gc %5u  pause %.3f ms  %s",
		    i, s->t, heap, goal, sys, rss, s->goroutines, m->NumGC, s->pause_ms, fcs);
	if (alert) {
		char sec[32], th[32];
		format_duration(fc[k].seconds, sec, sizeof(sec));
		format_duration(alert_before, th, sizeof(th));
		memdbg_note(p, "ALERT: the %s limit is forecast in %s (alert before %s)", limit_names[k], sec, th);
	}
}

/* ---- the command ---- */

static struct memdbg_error *wait_interval(struct watch *w, struct memdbg_printer *p, double until)
{
	for (;;) {
		struct memdbg_error *err = memdbg_poll_interrupt(p);
		if (err)
			return err;
		double left = until - now_s();
		if (left <= 0)
			return NULL;
		int ms = left > 0.1 ? 100 : (int)(left * 1e3) + 1;
		if (w->listen_fd >= 0) {
			struct pollfd pf = { w->listen_fd, POLLIN, 0 };
			if (poll(&pf, 1, ms) > 0)
				serve_one(w);
		} else {
			struct timespec ts = { 0, (long)ms * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
}

struct watch_opts {
	double interval, alert_before;
	uint64_t count;
	bool alert;
};

static struct memdbg_error *watch_loop(struct watch *w, struct memdbg_printer *p, const struct watch_opts *o)
{
	struct memdbg_error *err;
	double t0 = now_s();
	bool alerted = false;
	for (uint64_t i = 0; !o->count || i < o->count; i++) {
		struct sample s;
		if ((err = take_sample(w, t0, &s)))
			return err;
		if (i == 0)
			print_header(p, w, &s, o->interval);
		struct forecast fc[LIM_COUNT];
		size_t keep = w->nwin < w->window ? w->nwin : w->window - 1;
		for (int k = 0; k < LIM_COUNT; k++) {
			memmove(w->win[k], w->win[k] + (w->nwin - keep), keep * sizeof(struct point));
			memmove(w->win_use[k], w->win_use[k] + (w->nwin - keep), keep * sizeof(struct point));
			w->win[k][keep] = (struct point){ s.t, (double)s.need[k] };
			w->win_use[k][keep] = (struct point){ s.t, (double)s.use[k] };
			/*
			 * The usage's line: peaks come at GCs, each at the last goal, so on average
			 * the usage meets the limit when the goal does, not one GC earlier.
			 */
			fc[k] = fit(w->win_use[k], keep + 1, (double)s.limit[k]);
		}
		w->nwin = keep + 1;
		int k = nearest(fc);
		bool short_ = k >= 0 && fc[k].seconds <= o->alert_before;
		bool alert = o->alert && short_ && !alerted;
		alerted = short_;
		memdbg_printer_next_document(p, "watch");
		print_sample(p, i, &s, fc, alert, o->alert_before);
		if (w->listen_fd >= 0)
			update_metrics(w, &s, fc);
		if (short_ && w->core_dir && !w->core_taken) {
			char path[4200];
			w->core_taken = true;
			if ((err = take_core(w, path, sizeof(path))))
				return err;
			if (memdbg_printer_json(p))
				memdbg_field_str(p, "core", path);
			else
				memdbg_note(p, "wrote %s (the process went on)", path);
		}
		memdbg_printer_flush(p);
		if ((o->count && i + 1 == o->count) || (err = wait_interval(w, p, t0 + (double)(i + 1) * o->interval)))
			return err;
	}
	return NULL;
}

static struct memdbg_error *run_watch(struct memdbg_target *target, struct memdbg_args *a, struct memdbg_printer *p)
{
	struct watch_opts o = { 0 };
	uint64_t window;
	struct memdbg_error *err;
	const char *pid_arg = memdbg_arg_positional(a, 0), *alert = memdbg_arg_value(a, "--alert-before");
	char *end;
	long pid = pid_arg ? strtol(pid_arg, &end, 10) : 0;
	if (!pid_arg || *end || pid <= 0 || pid > INT32_MAX)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, pid_arg ? "watch: '%s' is not a process id"
										  : "watch: usage: %s",
					   pid_arg ? pid_arg : "watch PID [--interval S] [--count N] ...");
	if ((err = memdbg_arg_double(a, "--interval", 1.0, &o.interval)) ||
	    (err = memdbg_arg_u64(a, "--count", 0, UINT64_MAX, &o.count)) ||
	    (err = memdbg_arg_u64(a, "--window", 30, MAX_WINDOW, &window)))
		return err;
	if (o.interval < 0.01 || o.interval > 86400)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "watch: --interval wants 0.01 to 86400 seconds");
	if (window < 3)
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "watch: --window wants at least 3 samples");
	o.alert = alert != NULL;
	o.alert_before = 60;
	if (alert && !parse_duration(alert, &o.alert_before))
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT,
					   "watch: --alert-before wants a duration like 90s, 10m or 1h30m, not '%s'", alert);
	struct watch w = { .pid = (int)pid, .window = window, .listen_fd = -1,
			   .core_dir = memdbg_arg_value(a, "--core-before-oom") };
	struct stat st;
	if (w.core_dir && (stat(w.core_dir, &st) != 0 || !S_ISDIR(st.st_mode)))
		return memdbg_error_format(MEMDBG_ERROR_INVALID_ARGUMENT, "watch: --core-before-oom: %s is not a directory",
					   w.core_dir);
	if (memdbg_arg_value(a, "--prometheus") && (err = listen_on(memdbg_arg_value(a, "--prometheus"), &w.listen_fd)))
		return err;
	for (int k = 0; k < LIM_COUNT && !err; k++)
		if (!(w.win[k] = calloc(window, sizeof(struct point))) ||
		    !(w.win_use[k] = calloc(window, sizeof(struct point))))
			err = memdbg_enomem;
	if (!err && (err = memdbg_target_open_pid(w.pid, memdbg_arg_value(a, "--exe"), false, &w.t)))
		err = memdbg_error_prefix(err, "watch");
	/* Static layouts and symbols are read while it runs; only the counters need it stopped. */
	if (!err && (err = memdbg_go_get(w.t, &w.go)))
		err = memdbg_error_prefix(err, "watch");
	if (!err) {
		find_cgroup(w.pid, &w.cg);
		w.mem_total = meminfo("MemTotal:");
		err = watch_loop(&w, p, &o);
	}
	memdbg_target_destroy(w.t);
	for (int k = 0; k < LIM_COUNT; k++) {
		free(w.win[k]);
		free(w.win_use[k]);
	}
	if (w.listen_fd >= 0)
		close(w.listen_fd);
	return err;
}

static const struct memdbg_opt watch_opts[] = {
	{ "--interval", "S", "seconds between samples (default 1; fractions allowed)" },
	{ "--count", "N", "stop after N samples (default: until interrupted or the process exits)" },
	{ "--window", "N", "samples the growth rate is fitted over (default 30)" },
	{ "--alert-before", "DUR", "print an alert when a limit is forecast within DUR (90s, 10m, 1h)" },
	{ "--prometheus", "ADDR", "serve the figures in Prometheus' text format on PORT or IP:PORT (127.0.0.1 by default)" },
	{ "--core-before-oom", "DIR", "once the forecast is shorter than --alert-before (default 60s), gcore into DIR" },
	{ "--exe", "EXE", "the executable (default /proc/PID/exe)" },
	{ NULL },
};

const struct memdbg_command memdbg_cmd_watch = {
	.info = {
		.name = "watch",
		.summary = "sample a live process's MemStats and forecast when it reaches its memory limit",
		.usage = "watch PID [--interval S] [--count N] [--window N] [--alert-before DUR] [--prometheus ADDR]\n"
			 "      [--core-before-oom DIR] [--exe EXE] [--json]",
		.help = "Each sample stops the process (ptrace) only to read the runtime's counters:\n"
			"memstats, the heap statistics, gcController and each P's mcache, never the spans;\n"
			"the pause is printed.  One line per sample (--json: one JSON document per line).\n"
			"Limits: the cgroup's (memory.max, or v1 memory.limit_in_bytes, the least up the\n"
			"hierarchy), GOMEMLIMIT (the runtime's gcController.memoryLimit) and the machine's\n"
			"(this process's RSS plus MemAvailable).  Each is compared with what it counts\n"
			"(cgroup usage, the runtime's mapped memory, RSS): a line fitted over the last\n"
			"--window samples gives the time to the nearest limit, with the range of the\n"
			"slope's 95% interval.  The GC's headroom (NextGC beyond the heap's ready pages)\n"
			"is added for need_bytes: a heap goal past the limit is flagged.  The process is never left stopped: the kernel resumes it\n"
			"should memdbg be interrupted or killed.  Inside gdb or lldb, the process the\n"
			"debugger holds cannot be watched (it must run between samples): detach and run\n"
			"'memdbg watch PID' from a shell.  In gdb and lldb it is 'memdbg watch' (both\n"
			"debuggers have their own 'watch').",
	},
	.opts = watch_opts,
	.max_args = 1,
	.run = run_watch,
};
