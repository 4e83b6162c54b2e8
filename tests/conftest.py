"""pytest fixtures for memdbg: Go sample executables, cores, oracles, live processes.

Fixtures (see tests/samples.py for the helpers behind them):

    go_config                  session; parametrized over setup/goversions.txt ids -> samples.GoConfig
    core_kind                  session; parametrized over ("kernel", "gcore")
    sample_exe(go_config)      session; Path of the sample built with that config
    sample_core(go_config, core_kind)  session; samples.SampleCore(.exe .core .oracle .oracle_path .config .kind)
                               (skips gcore for configs outside samples.gcore_configs())
    kernel_core(go_config)     session; SampleCore of the kernel core, every config
    gcore_core(go_config)      session; SampleCore of the gcore (skips outside gcore_configs())
    live_sample(go_config)     function; samples.LiveSample(pid, exe, oracle, config, dir), process SIGSTOPped,
                               SIGKILLed afterwards; `pid, exe, oracle = live_sample` works
    notgo_exe                  session; Path of a non-Go C executable
    big_core                   session; (exe, core) of samples/bigheap with 2 million objects (default config)

A toolchain that cannot be fetched skips the tests of that config; any other
failure (build, crash, gcore) is an error.
"""

import shutil

import pytest

import samples


def _call(fn, *args):
    try:
        return fn(*args)
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if report.when == "call":
        item.memdbg_passed = report.passed


@pytest.fixture(autouse=True)
def _drop_tmp_path_if_passed(request):
    """A passing test's tmp_path (copies of cores, gcores of 1 GB) is removed at once, not at the
    end of the session: the suite's disk footprint stays that of its cache."""
    yield
    tmp = getattr(request.node, "funcargs", {}).get("tmp_path")
    if tmp is not None and getattr(request.node, "memdbg_passed", False):
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session", params=[c.id for c in samples.CONFIGS])
def go_config(request):
    cfg = samples.CONFIGS_BY_ID[request.param]
    _call(samples.ensure_toolchain, cfg)
    return cfg


@pytest.fixture(scope="session", params=samples.KINDS)
def core_kind(request):
    return request.param


@pytest.fixture(scope="session")
def sample_exe(go_config):
    return _call(samples.build_sample, go_config)


def _core(cfg, kind):
    if kind == "gcore" and cfg.id not in samples.gcore_configs():
        pytest.skip(f"{cfg.id}: no gcore for this config (gcores are made for "
                    f"{', '.join(samples.gcore_configs())}; set MEMDBG_GCORE_CONFIGS=all for every config)")
    return _call(samples.make_core, cfg, kind)


@pytest.fixture(scope="session")
def sample_core(go_config, core_kind):
    return _core(go_config, core_kind)


@pytest.fixture(scope="session")
def big_core():
    """(exe, core) of samples/bigheap made small (samples.bigheap_small_core: 2 million objects)."""
    return _call(samples.bigheap_small_core)


@pytest.fixture(scope="session")
def kernel_core(go_config):
    return _core(go_config, "kernel")


@pytest.fixture(scope="session")
def gcore_core(go_config):
    return _core(go_config, "gcore")


@pytest.fixture
def live_sample(go_config):
    try:
        cm = samples.live_sample(go_config)
        live = cm.__enter__()
    except samples.ToolchainUnavailable as e:
        pytest.skip(str(e))
    try:
        yield live
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def notgo_exe():
    return samples.build_notgo()
