/*
 * module.c - _memdbg, the CPython face of the memdbg core for gdb and lldb.
 *
 * A thin wrapper: open a target, run a command line with a Python write
 * callback, list the command table.  No domain logic lives here.  The GIL is
 * held throughout; Ctrl-C is noticed by polling PyErr_CheckSignals().
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <memdbg.h>

static PyObject *memdbg_py_error;	/* _memdbg.Error */

struct memdbg_py_target {
	PyObject_HEAD
	struct memdbg_target *target;
};

static PyTypeObject memdbg_py_target_type;

/* Raise _memdbg.Error(message) with .code, and free err. */
static PyObject *memdbg_py_raise(struct memdbg_error *err)
{
	PyObject *exc;

	exc = PyObject_CallFunction(memdbg_py_error, "s", memdbg_error_message(err));
	if (exc) {
		PyObject *code = PyLong_FromLong(memdbg_error_code(err));

		if (code && PyObject_SetAttrString(exc, "code", code) == 0)
			PyErr_SetObject(memdbg_py_error, exc);
		Py_XDECREF(code);
		Py_DECREF(exc);
	}
	memdbg_error_destroy(err);
	return NULL;
}

static PyObject *memdbg_py_target_wrap(PyTypeObject *type, struct memdbg_target *target)
{
	struct memdbg_py_target *self;

	self = (struct memdbg_py_target *)type->tp_alloc(type, 0);
	if (!self) {
		memdbg_target_destroy(target);
		return NULL;
	}
	self->target = target;
	return (PyObject *)self;
}

static PyObject *memdbg_py_open_core(PyObject *cls, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "core", "exe", NULL };
	PyObject *core_obj = NULL, *exe_obj = NULL, *ret = NULL;
	struct memdbg_target *target;
	struct memdbg_error *err;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "O&|O&:open_core", kwlist,
					 PyUnicode_FSConverter, &core_obj,
					 PyUnicode_FSConverter, &exe_obj))
		goto out;
	err = memdbg_target_open_core(PyBytes_AS_STRING(core_obj),
				      exe_obj ? PyBytes_AS_STRING(exe_obj) : NULL, &target);
	if (err)
		memdbg_py_raise(err);
	else
		ret = memdbg_py_target_wrap(&memdbg_py_target_type, target);
out:
	Py_XDECREF(core_obj);
	Py_XDECREF(exe_obj);
	return ret;
}

static PyObject *memdbg_py_open_pid(PyObject *cls, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "pid", "exe", "stop", NULL };
	PyObject *exe_obj = NULL, *ret = NULL;
	struct memdbg_target *target;
	struct memdbg_error *err;
	int pid, stop = 0;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "i|O&p:open_pid", kwlist, &pid,
					 PyUnicode_FSConverter, &exe_obj, &stop))
		return NULL;
	err = memdbg_target_open_pid(pid, exe_obj ? PyBytes_AS_STRING(exe_obj) : NULL,
				     stop, &target);
	if (err)
		memdbg_py_raise(err);
	else
		ret = memdbg_py_target_wrap(&memdbg_py_target_type, target);
	Py_XDECREF(exe_obj);
	return ret;
}

/* State shared by the write and interrupted callbacks of one run. */
struct memdbg_py_sink {
	PyObject *write;
	PyObject *interrupted;				/* optional: true when the user interrupted */
	PyObject *exc_type, *exc_value, *exc_tb;	/* first Python error seen */
	char carry[4];					/* an incomplete UTF-8 tail */
	size_t ncarry;
};

static void memdbg_py_sink_fail(struct memdbg_py_sink *sink)
{
	if (!sink->exc_type)
		PyErr_Fetch(&sink->exc_type, &sink->exc_value, &sink->exc_tb);
	else
		PyErr_Clear();
}

/* Length of buf without a UTF-8 sequence cut short at its end. */
static size_t memdbg_py_utf8_complete(const char *buf, size_t len)
{
	for (size_t back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = buf[len - back];
		size_t need;

		if ((c & 0xc0) == 0x80)
			continue;	/* continuation byte: keep looking for the lead */
		need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		return need > back ? len - back : len;
	}
	return len;
}

static void memdbg_py_emit(struct memdbg_py_sink *sink, const char *buf, size_t len)
{
	PyObject *str, *res;

	str = PyUnicode_DecodeUTF8(buf, len, "replace");
	if (!str) {
		memdbg_py_sink_fail(sink);
		return;
	}
	res = PyObject_CallOneArg(sink->write, str);
	Py_DECREF(str);
	if (!res)
		memdbg_py_sink_fail(sink);
	Py_XDECREF(res);
}

/*
 * The core may split a multi-byte character across two writes; hold the
 * incomplete tail back so each str handed to Python decodes cleanly.
 */
static void memdbg_py_write(void *arg, const char *buf, size_t len)
{
	struct memdbg_py_sink *sink = arg;
	size_t whole;

	if (sink->exc_type || !len)
		return;
	while (sink->ncarry && len) {
		sink->carry[sink->ncarry++] = *buf++;
		len--;
		if (memdbg_py_utf8_complete(sink->carry, sink->ncarry) == sink->ncarry ||
		    sink->ncarry == sizeof(sink->carry)) {
			memdbg_py_emit(sink, sink->carry, sink->ncarry);
			sink->ncarry = 0;
		}
	}
	whole = memdbg_py_utf8_complete(buf, len);
	if (whole)
		memdbg_py_emit(sink, buf, whole);
	memcpy(sink->carry, buf + whole, len - whole);
	sink->ncarry = len - whole;
}

static bool memdbg_py_interrupted(void *arg)
{
	struct memdbg_py_sink *sink = arg;

	if (sink->exc_type)
		return true;	/* the writer failed: no point going on */
	if (PyErr_CheckSignals() < 0) {
		memdbg_py_sink_fail(sink);
		return true;
	}
	/* lldb keeps SIGINT from Python: it asks its command interpreter instead. */
	if (sink->interrupted && sink->interrupted != Py_None) {
		PyObject *r = PyObject_CallNoArgs(sink->interrupted);
		int yes = r ? PyObject_IsTrue(r) : -1;
		Py_XDECREF(r);
		if (yes > 0)
			PyErr_SetNone(PyExc_KeyboardInterrupt);
		if (yes != 0) {
			memdbg_py_sink_fail(sink);
			return true;
		}
	}
	return false;
}

/* argv as a NULL-terminated char * array borrowing from the str objects in seq. */
static char **memdbg_py_argv(PyObject *seq, Py_ssize_t *argc_ret)
{
	Py_ssize_t argc = PySequence_Fast_GET_SIZE(seq);
	char **argv = PyMem_Calloc(argc + 1, sizeof(*argv));

	if (!argv) {
		PyErr_NoMemory();
		return NULL;
	}
	for (Py_ssize_t i = 0; i < argc; i++) {
		PyObject *item = PySequence_Fast_GET_ITEM(seq, i);

		if (!PyUnicode_Check(item)) {
			PyErr_Format(PyExc_TypeError, "argv[%zd] must be str, not %.100s",
				     i, Py_TYPE(item)->tp_name);
			break;
		}
		argv[i] = (char *)PyUnicode_AsUTF8(item);
		if (!argv[i])
			break;
	}
	if (PyErr_Occurred()) {
		PyMem_Free(argv);
		return NULL;
	}
	*argc_ret = argc;
	return argv;
}

static PyObject *memdbg_py_run_on(struct memdbg_target *target, PyObject *argv_obj,
				  PyObject *write, int json, PyObject *interrupted)
{
	struct memdbg_py_sink sink = { .write = write, .interrupted = interrupted };
	struct memdbg_out out = {
		.write = memdbg_py_write,
		.interrupted = memdbg_py_interrupted,
		.arg = &sink,
		.json = json,
	};
	struct memdbg_error *err;
	Py_ssize_t argc;
	PyObject *seq;
	char **argv;

	if (!PyCallable_Check(write))
		return PyErr_Format(PyExc_TypeError, "write must be callable");
	if (interrupted && interrupted != Py_None && !PyCallable_Check(interrupted))
		return PyErr_Format(PyExc_TypeError, "interrupted must be callable or None");
	seq = PySequence_Fast(argv_obj, "argv must be a list of str");
	if (!seq)
		return NULL;
	argv = memdbg_py_argv(seq, &argc);
	if (!argv) {
		Py_DECREF(seq);
		return NULL;
	}
	err = memdbg_run(target, (int)argc, argv, &out);
	if (sink.ncarry && !sink.exc_type)
		memdbg_py_emit(&sink, sink.carry, sink.ncarry);
	PyMem_Free(argv);
	Py_DECREF(seq);

	/* A KeyboardInterrupt or a failing writer wins over the error it caused. */
	if (sink.exc_type) {
		memdbg_error_destroy(err);
		PyErr_Restore(sink.exc_type, sink.exc_value, sink.exc_tb);
		return NULL;
	}
	if (err)
		return memdbg_py_raise(err);
	Py_RETURN_NONE;
}

static struct memdbg_target *memdbg_py_target_get(struct memdbg_py_target *self)
{
	if (!self->target)
		PyErr_SetString(PyExc_ValueError, "target is closed");
	return self->target;
}

static PyObject *memdbg_py_target_run(struct memdbg_py_target *self, PyObject *args,
				      PyObject *kwds)
{
	static char *kwlist[] = { "argv", "write", "json", "interrupted", NULL };
	PyObject *argv, *write, *interrupted = NULL;
	int json = 0;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|pO:run", kwlist, &argv, &write, &json,
					 &interrupted))
		return NULL;
	if (!memdbg_py_target_get(self))
		return NULL;
	return memdbg_py_run_on(self->target, argv, write, json, interrupted);
}

static PyObject *memdbg_py_target_set_threads(struct memdbg_py_target *self, PyObject *arg)
{
	if (!memdbg_py_target_get(self))
		return NULL;
	PyObject *seq = PySequence_Fast(arg, "set_threads takes a sequence of (tid, fs_base) pairs");
	if (!seq)
		return NULL;
	Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
	int *tids = PyMem_Calloc((size_t)n + 1, sizeof(*tids));
	uint64_t *bases = PyMem_Calloc((size_t)n + 1, sizeof(*bases));
	PyObject *ret = NULL;
	if (!tids || !bases) {
		PyErr_NoMemory();
		goto out;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		unsigned long long base;
		if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "iK:set_threads", &tids[i], &base))
			goto out;
		bases[i] = base;
	}
	struct memdbg_error *err = memdbg_target_set_threads(self->target, tids, bases, (size_t)n);
	if (err) {
		memdbg_py_raise(err);
		goto out;
	}
	ret = Py_NewRef(Py_None);
out:
	PyMem_Free(tids);
	PyMem_Free(bases);
	Py_DECREF(seq);
	return ret;
}

static PyObject *memdbg_py_target_invalidate(struct memdbg_py_target *self, PyObject *unused)
{
	if (!memdbg_py_target_get(self))
		return NULL;
	memdbg_target_invalidate(self->target);
	Py_RETURN_NONE;
}

static PyObject *memdbg_py_target_close(struct memdbg_py_target *self, PyObject *unused)
{
	memdbg_target_destroy(self->target);
	self->target = NULL;
	Py_RETURN_NONE;
}

static PyObject *memdbg_py_target_enter(PyObject *self, PyObject *unused)
{
	return Py_NewRef(self);
}

static PyObject *memdbg_py_target_exit(struct memdbg_py_target *self, PyObject *args)
{
	return memdbg_py_target_close(self, NULL);
}

static PyObject *memdbg_py_target_get_closed(struct memdbg_py_target *self, void *unused)
{
	return PyBool_FromLong(!self->target);
}

static void memdbg_py_target_dealloc(struct memdbg_py_target *self)
{
	memdbg_target_destroy(self->target);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef memdbg_py_target_methods[] = {
	{ "open_core", (PyCFunction)(void (*)(void))memdbg_py_open_core,
	  METH_VARARGS | METH_KEYWORDS | METH_CLASS,
	  "open_core(core, exe=None) -> Target\n\nOpen an ELF core file; exe defaults to the one named in the core." },
	{ "open_pid", (PyCFunction)(void (*)(void))memdbg_py_open_pid,
	  METH_VARARGS | METH_KEYWORDS | METH_CLASS,
	  "open_pid(pid, exe=None, stop=False) -> Target\n\nOpen a live process read-only; stop=True holds it stopped while open." },
	{ "run", (PyCFunction)(void (*)(void))memdbg_py_target_run, METH_VARARGS | METH_KEYWORDS,
	  "run(argv, write, json=False, interrupted=None)\n\nRun one command; write(str) receives the output;\n"
	  "interrupted(), when given, is polled and a true result stops the command." },
	{ "set_threads", (PyCFunction)memdbg_py_target_set_threads, METH_O,
	  "set_threads([(tid, fs_base), ...])\n\nA live target's thread pointers, from the debugger that holds it." },
	{ "invalidate", (PyCFunction)memdbg_py_target_invalidate, METH_NOARGS,
	  "invalidate()\n\nForget everything cached from target memory." },
	{ "close", (PyCFunction)memdbg_py_target_close, METH_NOARGS,
	  "close()\n\nRelease the target (detaching from a process it stopped)." },
	{ "__enter__", memdbg_py_target_enter, METH_NOARGS, NULL },
	{ "__exit__", (PyCFunction)memdbg_py_target_exit, METH_VARARGS, NULL },
	{ NULL }
};

static PyGetSetDef memdbg_py_target_getset[] = {
	{ "closed", (getter)memdbg_py_target_get_closed, NULL, "True after close()", NULL },
	{ NULL }
};

static PyTypeObject memdbg_py_target_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "_memdbg.Target",
	.tp_basicsize = sizeof(struct memdbg_py_target),
	.tp_dealloc = (destructor)memdbg_py_target_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "An opened core file or live process.  Create with Target.open_core() or Target.open_pid().",
	.tp_methods = memdbg_py_target_methods,
	.tp_getset = memdbg_py_target_getset,
};

/* _memdbg.run(target_or_None, argv, write, json=False, interrupted=None) */
static PyObject *memdbg_py_run(PyObject *mod, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "target", "argv", "write", "json", "interrupted", NULL };
	PyObject *target_obj, *argv, *write, *interrupted = NULL;
	struct memdbg_target *target = NULL;
	int json = 0;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO|pO:run", kwlist, &target_obj, &argv,
					 &write, &json, &interrupted))
		return NULL;
	if (target_obj != Py_None) {
		if (!PyObject_TypeCheck(target_obj, &memdbg_py_target_type))
			return PyErr_Format(PyExc_TypeError, "target must be a Target or None");
		target = memdbg_py_target_get((struct memdbg_py_target *)target_obj);
		if (!target)
			return NULL;
	}
	return memdbg_py_run_on(target, argv, write, json, interrupted);
}

static int memdbg_py_dict_set_str(PyObject *dict, const char *key, const char *value)
{
	PyObject *obj = value ? PyUnicode_FromString(value) : Py_NewRef(Py_None);
	int rc;

	if (!obj)
		return -1;
	rc = PyDict_SetItemString(dict, key, obj);
	Py_DECREF(obj);
	return rc;
}

static PyObject *memdbg_py_options(const char *const *options)
{
	PyObject *list = PyList_New(0);

	for (size_t i = 0; list && options && options[i]; i++) {
		PyObject *name = PyUnicode_FromString(options[i]);

		if (!name || PyList_Append(list, name) < 0)
			Py_CLEAR(list);
		Py_XDECREF(name);
	}
	return list;
}

static PyObject *memdbg_py_command_dict(const struct memdbg_command_info *info)
{
	PyObject *dict = PyDict_New(), *options;

	if (!dict)
		return NULL;
	options = memdbg_py_options(info->options);
	if (!options ||
	    memdbg_py_dict_set_str(dict, "name", info->name) < 0 ||
	    memdbg_py_dict_set_str(dict, "summary", info->summary) < 0 ||
	    memdbg_py_dict_set_str(dict, "usage", info->usage) < 0 ||
	    memdbg_py_dict_set_str(dict, "help", info->help) < 0 ||
	    PyDict_SetItemString(dict, "options", options) < 0)
		Py_CLEAR(dict);
	Py_XDECREF(options);
	return dict;
}

static PyObject *memdbg_py_commands(PyObject *mod, PyObject *unused)
{
	size_t count = memdbg_command_count();
	PyObject *list = PyList_New(0);

	for (size_t i = 0; list && i < count; i++) {
		PyObject *dict = memdbg_py_command_dict(memdbg_command_at(i));

		if (!dict || PyList_Append(list, dict) < 0)
			Py_CLEAR(list);
		Py_XDECREF(dict);
	}
	return list;
}

static PyMethodDef memdbg_py_methods[] = {
	{ "run", (PyCFunction)(void (*)(void))memdbg_py_run, METH_VARARGS | METH_KEYWORDS,
	  "run(target, argv, write, json=False, interrupted=None)\n\nRun one command; target may be None for help." },
	{ "commands", memdbg_py_commands, METH_NOARGS,
	  "commands() -> list of dict(name, summary, usage, help, options)" },
	{ "open_core", (PyCFunction)(void (*)(void))memdbg_py_open_core, METH_VARARGS | METH_KEYWORDS,
	  "open_core(core, exe=None) -> Target" },
	{ "open_pid", (PyCFunction)(void (*)(void))memdbg_py_open_pid, METH_VARARGS | METH_KEYWORDS,
	  "open_pid(pid, exe=None, stop=False) -> Target" },
	{ NULL }
};

static struct PyModuleDef memdbg_py_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "_memdbg",
	.m_doc = "memdbg core bindings for the gdb and lldb front ends.",
	.m_size = -1,
	.m_methods = memdbg_py_methods,
};

static const struct {
	const char *name;
	int value;
} memdbg_py_codes[] = {
	{ "ERROR_NO_MEMORY", MEMDBG_ERROR_NO_MEMORY },
	{ "ERROR_INVALID_ARGUMENT", MEMDBG_ERROR_INVALID_ARGUMENT },
	{ "ERROR_OS", MEMDBG_ERROR_OS },
	{ "ERROR_FAULT", MEMDBG_ERROR_FAULT },
	{ "ERROR_LOOKUP", MEMDBG_ERROR_LOOKUP },
	{ "ERROR_BAD_DATA", MEMDBG_ERROR_BAD_DATA },
	{ "ERROR_UNSUPPORTED", MEMDBG_ERROR_UNSUPPORTED },
	{ "ERROR_MISMATCH", MEMDBG_ERROR_MISMATCH },
	{ "ERROR_INTERRUPTED", MEMDBG_ERROR_INTERRUPTED },
	{ "ERROR_PARTIAL", MEMDBG_ERROR_PARTIAL },
};

static int memdbg_py_add_error(PyObject *mod)
{
	PyObject *dict = Py_BuildValue("{s:i}", "code", 0);

	if (!dict)
		return -1;
	/* A class attribute, so code is there even on an Error raised from Python. */
	memdbg_py_error = PyErr_NewExceptionWithDoc("_memdbg.Error",
		"A memdbg core error; .code is one of the ERROR_* constants.",
		PyExc_Exception, dict);
	Py_DECREF(dict);
	if (!memdbg_py_error)
		return -1;
	return PyModule_AddObjectRef(mod, "Error", memdbg_py_error);
}

PyMODINIT_FUNC PyInit__memdbg(void)
{
	PyObject *mod;

	if (PyType_Ready(&memdbg_py_target_type) < 0)
		return NULL;
	mod = PyModule_Create(&memdbg_py_module);
	if (!mod)
		return NULL;
	if (memdbg_py_add_error(mod) < 0 ||
	    PyModule_AddObjectRef(mod, "Target", (PyObject *)&memdbg_py_target_type) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(memdbg_py_codes) / sizeof(memdbg_py_codes[0]); i++) {
		if (PyModule_AddIntConstant(mod, memdbg_py_codes[i].name, memdbg_py_codes[i].value) < 0)
			goto fail;
	}
	return mod;
fail:
	Py_DECREF(mod);
	return NULL;
}
