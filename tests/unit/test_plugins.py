"""Loading installed parts by ``module:attribute`` path."""

from __future__ import annotations

import pytest

from hub import plugins
from hub.errors import ConfigError


def test_a_path_loads_its_object() -> None:
    assert plugins.load("hub.plugins:load_all", "helper") is plugins.load_all


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("hub.plugins", "write it as 'package.module:name'"),
        ("hub.no_such_module:x", "No module named 'hub.no_such_module'"),
        ("hub.plugins:nothing_here", "has no attribute 'nothing_here'"),
    ],
)
def test_a_bad_path_is_a_config_error_naming_it(path: str, says: str) -> None:
    with pytest.raises(ConfigError, match="cannot load API") as caught:
        plugins.load_all(["hub.plugins:load", path], "API")
    assert path in str(caught.value) and says in str(caught.value)
