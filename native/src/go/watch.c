#include "internal.h"
static struct memdbg_error *run_watch(struct memdbg_target *t, struct memdbg_args *a, struct memdbg_printer *p) { return NULL; }
const struct memdbg_command memdbg_cmd_watch = { .info = { .name = "watch", .summary = "x", .usage = "watch PID" }, .max_args = 1, .run = run_watch };
