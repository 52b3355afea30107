"""Broken plugins: fake distributions on sys.path prove that errors are clear and contained."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from promisekit import plugins
from promisekit.plugins import PluginError
from promisekit.satisfaction import Disconfirmation

MODELS = plugins.SATISFACTION_MODELS

# A module of the fake "acme-promises" distribution: one good model, several bad objects.
ACME_MODULE = """
from promisekit.escalation import NotifyOwner


class GoodModel:
    def score(self, expectation, outcome):
        raise NotImplementedError

    def score_many(self, pairs):
        return [self.score(e, o) for e, o in pairs]


def not_a_model():
    return None


def page(argument, bindings):
    return NotifyOwner(argument)


class Page(NotifyOwner):
    pass
"""

ACME_ENTRY_POINTS = """
[promisekit.satisfaction_models]
good = acme_plugins:GoodModel
fancy = acme_missing:Model
wrong = acme_plugins:not_a_model
absent = acme_plugins:Nope
boom = acme_boom:Model
shared = acme_plugins:GoodModel
disconfirmation = acme_plugins:GoodModel
Bad-Name = acme_plugins:GoodModel

[promisekit.actions]
page = acme_plugins:page
page_class = acme_plugins:Page
"""

OTHER_ENTRY_POINTS = """
[promisekit.satisfaction_models]
shared = other_plugins:Model
"""


def _distribution(root: Path, name: str, entry_points: str) -> None:
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points), encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Two fake distributions on sys.path: acme-promises (mostly broken) and other-dist."""
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.delenv(plugins.BLOCKED_ENV, raising=False)
    _distribution(tmp_path, "acme-promises", ACME_ENTRY_POINTS)
    _distribution(tmp_path, "other-dist", OTHER_ENTRY_POINTS)
    (tmp_path / "acme_plugins.py").write_text(ACME_MODULE, encoding="utf-8")
    (tmp_path / "acme_boom.py").write_text("raise RuntimeError('kaboom')\n", encoding="utf-8")
    (tmp_path / "other_plugins.py").write_text("Model = None\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for module in ("acme_plugins", "acme_boom", "acme_missing", "other_plugins"):
        sys.modules.pop(module, None)


def _error(call: Callable[[], object]) -> PluginError:
    with pytest.raises(PluginError) as caught:
        call()
    return caught.value


def test_fake_distributions_are_listed_without_importing(site: Path) -> None:
    names = plugins.available(MODELS)
    assert {"good", "fancy", "wrong", "absent", "boom", "shared"} <= set(names)
    assert list(names) == sorted(names)
    assert len(names) == len(set(names))
    assert "acme_plugins" not in sys.modules
    assert "acme_boom" not in sys.modules
    shared = [i for i in plugins.entries(MODELS) if i.name == "shared"]
    assert [(i.distribution, i.value) for i in shared] == [
        ("acme-promises", "acme_plugins:GoodModel"),
        ("other-dist", "other_plugins:Model"),
    ]


def test_missing_module(site: Path) -> None:
    error = _error(lambda: plugins.load(MODELS, "fancy"))
    assert str(error) == (
        'failed to load plugin "acme-promises[fancy]" (promisekit.satisfaction_models): '
        "ModuleNotFoundError: No module named 'acme_missing'"
    )
    assert (error.group, error.plugin, error.distribution) == (MODELS, "fancy", "acme-promises")
    assert isinstance(error.__cause__, ModuleNotFoundError)


def test_module_raising_at_import(site: Path) -> None:
    error = _error(lambda: plugins.load(MODELS, "boom"))
    assert str(error) == (
        'failed to load plugin "acme-promises[boom]" (promisekit.satisfaction_models): '
        "RuntimeError: kaboom"
    )


def test_missing_attribute(site: Path) -> None:
    error = _error(lambda: plugins.load(MODELS, "absent"))
    assert str(error).startswith(
        'failed to load plugin "acme-promises[absent]" (promisekit.satisfaction_models): '
        "AttributeError: "
    )
    assert "Nope" in str(error)


def test_wrong_type(site: Path) -> None:
    error = _error(lambda: plugins.load(MODELS, "wrong"))
    assert str(error) == (
        'failed to load plugin "acme-promises[wrong]" (promisekit.satisfaction_models): '
        "acme_plugins:not_a_model is the wrong type: expected a satisfaction model class or "
        "instance with score(expectation, outcome) and score_many(pairs), got the function "
        "acme_plugins.not_a_model"
    )
    error = _error(lambda: plugins.load(plugins.ACTIONS, "page_class"))
    assert 'plugin "acme-promises[page_class]" (promisekit.actions)' in str(error)
    assert "register a function that builds a Page instead of the class itself" in str(error)


def test_duplicate_names_across_distributions(site: Path) -> None:
    error = _error(lambda: plugins.load(MODELS, "shared"))
    assert str(error) == (
        "plugin name 'shared' in promisekit.satisfaction_models is declared by several "
        'distributions: "acme-promises[shared]" (acme_plugins:GoodModel), '
        '"other-dist[shared]" (other_plugins:Model); uninstall one, or block one with '
        'PROMISEKIT_BLOCKED_PLUGINS="other-dist[shared]"'
    )
    assert error.distribution is None
    assert plugins.available(MODELS).count("shared") == 1
    resolved = plugins.load(MODELS, "shared", blocked=["other-dist[shared]"])
    assert resolved.__name__ == "GoodModel"


def test_a_third_party_plugin_shadowing_a_builtin_is_a_duplicate(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = _error(lambda: plugins.load(MODELS, "disconfirmation"))
    assert '"acme-promises[disconfirmation]"' in str(error)
    assert '"promisekit[disconfirmation]"' in str(error)
    assert plugins.load(MODELS, "zone_of_tolerance").__name__ == "ZoneOfTolerance"
    monkeypatch.setenv(plugins.BLOCKED_ENV, "acme-promises[disconfirmation]")
    assert plugins.load(MODELS, "disconfirmation") is Disconfirmation


def test_invalid_entry_point_name(site: Path) -> None:
    error = _error(lambda: plugins.load(MODELS, "Bad-Name"))
    assert str(error) == (
        'failed to load plugin "acme-promises[Bad-Name]" (promisekit.satisfaction_models): '
        "the name must be lowercase letters, digits and '_', starting with a letter"
    )


def test_broken_plugins_do_not_break_the_others(site: Path) -> None:
    for name in ("fancy", "wrong", "absent", "boom", "shared", "Bad-Name"):
        with pytest.raises(PluginError, match=r"acme-promises|several distributions"):
            plugins.load(MODELS, name)
    assert plugins.load(MODELS, "good").__name__ == "GoodModel"
    assert plugins.load(plugins.ACTIONS, "page")("ops", {}).message == "ops"
    assert plugins.load(MODELS, "zone_of_tolerance").__name__ == "ZoneOfTolerance"


def test_disable_autoload_and_block_lists_silence_them(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, "1")
    assert "fancy" not in plugins.available(MODELS)
    assert plugins.load(MODELS, "disconfirmation") is Disconfirmation  # no duplicate now
    error = _error(lambda: plugins.load(MODELS, "fancy"))
    assert str(error) == (
        'plugin "acme-promises[fancy]" (promisekit.satisfaction_models) is not loaded: '
        "third-party plugins are disabled (PROMISEKIT_DISABLE_PLUGIN_AUTOLOAD is set)"
    )
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV)
    monkeypatch.setenv(plugins.BLOCKED_ENV, "ACME_Promises[fancy],other-dist")
    names = plugins.available(MODELS)
    assert "fancy" not in names
    assert "wrong" in names
    assert "shared" in names
    assert plugins.load(MODELS, "shared").__name__ == "GoodModel"
    statuses = {(i.name, i.distribution): i.status for i in plugins.entries(MODELS)}
    assert statuses[("fancy", "acme-promises")] == "blocked"
    assert statuses[("shared", "other-dist")] == "blocked"
    assert statuses[("wrong", "acme-promises")] == "enabled"


def test_import_promisekit_is_unaffected(site: Path) -> None:
    code = (
        "import promisekit\n"
        "from promisekit import plugins\n"
        "print(' '.join(plugins.available(plugins.SATISFACTION_MODELS)))\n"
        "print(plugins.load(plugins.SATISFACTION_MODELS, 'zone_of_tolerance').__name__)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    env.pop(plugins.DISABLE_AUTOLOAD_ENV, None)
    env.pop(plugins.BLOCKED_ENV, None)
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    listed, loaded = run.stdout.splitlines()
    assert {"fancy", "boom", "good", "disconfirmation"} <= set(listed.split())
    assert loaded == "ZoneOfTolerance"
