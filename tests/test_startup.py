"""Start-up: importing the package and the CLI's --help load no heavy library.

A test of which modules are imported, not a timing test: PyMC, PyTensor, JAX, NumPyro, ArviZ
and matplotlib take seconds to import, so they load only where a command needs them.
"""

import json
import subprocess
import sys

import pytest

HEAVY = ("pymc", "pytensor", "jax", "numpyro", "arviz", "matplotlib")


def _loaded_after(code: str) -> list[str]:
    """Heavy top-level modules in sys.modules after running ``code`` in a fresh interpreter."""
    script = (
        "import sys, json\n"
        f"{code}\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cli(*argv: str) -> str:
    return (
        "import contextlib, io\n"
        "from staggered.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main({list(argv)!r})\n"
        "    except SystemExit:\n"
        "        pass"
    )


def test_import_staggered_loads_no_heavy_library():
    assert _loaded_after("import staggered") == []


@pytest.mark.parametrize("argv", [("--help",), ("fit", "--help"), ("simulate", "--help")])
def test_help_loads_no_heavy_library(argv):
    assert _loaded_after(_cli(*argv)) == []


def test_help_does_not_even_load_pandas():
    code = _cli("--help") + "\nassert 'pandas' not in sys.modules, 'pandas imported'"
    _loaded_after(code)


def test_specs_loads_no_heavy_library():
    assert _loaded_after(_cli("specs")) == []


def test_public_names_resolve_lazily_and_fit_stays_the_function():
    import staggered as stg
    import staggered.fit  # noqa: F401  (the submodule must not replace the function)
    import staggered.simulate  # noqa: F401

    assert callable(stg.fit) and stg.fit.__module__ == "staggered.fit"
    assert callable(stg.simulate) and stg.simulate.__module__ == "staggered.simulate"
    from staggered import fit, simulate

    assert fit is stg.fit and simulate is stg.simulate
    for name in stg.__all__:
        assert getattr(stg, name) is not None
    assert set(stg.__all__) <= set(dir(stg))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        stg.nope  # noqa: B018
