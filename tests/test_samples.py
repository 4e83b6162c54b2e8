"""Sanity checks of the Go samples, cores and oracles (no memdbg needed)."""

import subprocess

import samples

MEMSTATS_FIELDS = [
    "HeapAlloc", "HeapInuse", "HeapIdle", "HeapReleased", "HeapSys", "HeapObjects",
    "StackInuse", "StackSys", "MSpanInuse", "MSpanSys", "MCacheInuse", "MCacheSys",
    "GCSys", "OtherSys", "BuckHashSys", "Sys", "NextGC", "NumGC", "NumForcedGC",
    "Mallocs", "Frees", "TotalAlloc", "Alloc", "Lookups", "LastGC", "PauseTotalNs",
]


def test_goversions_ids():
    ids = [c.id for c in samples.CONFIGS]
    assert "go1.25.14-greenteagc" in ids and "go1.26.8-nogreenteagc" in ids
    assert set(samples.GCORE_CONFIGS) <= set(ids)


def test_encoder_does_not_allocate(go_config):
    p, oracle = samples.run_check_mode(go_config)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith("ok: no allocation"), p.stdout
    assert oracle["Mode"] == "check"


def test_oracle(sample_core):
    o = sample_core.oracle
    for f in MEMSTATS_FIELDS:
        assert isinstance(o[f], int), f
    assert o["HeapAlloc"] > 0 and o["HeapAlloc"] == o["Alloc"]
    assert o["HeapObjects"] == o["Mallocs"] - o["Frees"]
    assert o["HeapInuse"] + o["HeapIdle"] == o["HeapSys"]
    assert o["NumGoroutine"] >= 200
    assert o["Sample"]["Goroutines"] == 200
    assert o["Sample"]["GarbageNumGC"] == o["NumGC"]
    # With an experiment runtime.Version() is "go1.25.14 X:greenteagc" (<= 1.25)
    # or "go1.26.8-X:nogreenteagc" (1.26).
    exp = sample_core.config.env_dict.get("GOEXPERIMENT", "")
    want = [sample_core.config.toolchain + sep + f"X:{exp}" for sep in " -"] if exp else [sample_core.config.toolchain]
    assert o["GoVersion"] in want
    assert o["GOEXPERIMENT"] == exp
    assert len(o["BySize"]) == 61 and all(set(b) == {"Size", "Mallocs", "Frees"} for b in o["BySize"])
    assert o["Mode"] == ("crash" if sample_core.kind == "kernel" else "stop")


def test_core_is_elf_core(sample_core):
    assert sample_core.core.name == f"core.{sample_core.kind}"
    assert samples.is_elf_core(sample_core.core)
    assert not samples.is_elf_core(sample_core.exe)


def test_gdb_reads_dumpstats_from_kernel_core(kernel_core):
    """Independent check: the oracle equals main.dumpStats as gdb reads it from the core."""
    v = samples.gdb_value(kernel_core.exe, kernel_core.core, "'main.dumpStats'.HeapAlloc")
    assert int(v) == kernel_core.oracle["HeapAlloc"]
    v = samples.gdb_value(kernel_core.exe, kernel_core.core, "'main.dumpStats'.Mallocs")
    assert int(v) == kernel_core.oracle["Mallocs"]


def test_gdb_reads_dumpstats_from_gcore(gcore_core):
    v = samples.gdb_value(gcore_core.exe, gcore_core.core, "'main.dumpStats'.HeapObjects")
    assert int(v) == gcore_core.oracle["HeapObjects"]


def test_live_sample_stays_stopped_under_gdb(live_sample):
    pid, exe, oracle = live_sample
    assert samples._proc_state(pid) == "T"
    assert oracle["Pid"] == pid
    v = samples.gdb_value(exe, pid, "'main.dumpStats'.HeapAlloc")
    assert int(v) == oracle["HeapAlloc"]
    assert samples._proc_state(pid) == "T"


def test_notgo_exe(notgo_exe):
    p = subprocess.run([str(notgo_exe)], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0 and "not a Go program" in p.stdout


def test_core_pattern_is_usable():
    assert not samples.core_pattern().startswith("|")
