"""The option names and defaults are said in four places, and they agree: the native signature
(the one list, in src/python/client.rs), help(greenapi.Client), the stub's ClientOptions and
the README's Python options list. Type checkers hold every typed signature to ClientOptions."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Dict

import greenapi
from conftest import ROOT, mypy
from test_docs import option_entries

STUB = Path(greenapi.__file__).parent / "_native.pyi"


def signature_defaults() -> Dict[str, str]:
    params = inspect.signature(greenapi.Client).parameters.values()
    return {p.name: repr(p.default) for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def help_defaults() -> Dict[str, str]:
    doc = greenapi.Client.__doc__
    assert doc
    return {name: entry.split("\n", 1)[0].split("=", 1)[1] for name, entry in option_entries(doc).items()}


def stub_defaults() -> Dict[str, str]:
    """ClientOptions' keys, each with the default its line's comment gives: `name: type  # default`."""
    source = STUB.read_text(encoding="utf-8")
    tree = ast.parse(source)
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ClientOptions"]
    lines = source.splitlines()
    defaults = {}
    for node in cls.body:
        if isinstance(node, ast.AnnAssign):
            assert isinstance(node.target, ast.Name)
            comment = lines[node.lineno - 1].partition("#")[2].strip()
            assert comment, f"ClientOptions.{node.target.id} has no default in a comment"
            defaults[node.target.id] = comment
    return defaults


def readme_defaults() -> Dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- python-options -->\n(.*?)<!-- /python-options -->", text, re.S)
    assert m, "README.md lost its <!-- python-options --> list"
    return dict(re.findall(r"`(\w+)=([^`]+)`", m.group(1)))


def test_help_stub_and_readme_name_the_same_options_with_the_same_defaults():
    expected = signature_defaults()
    assert len(expected) == 14, expected
    assert help_defaults() == expected
    assert stub_defaults() == expected
    assert readme_defaults() == expected


def test_the_defaults_shown_are_the_ones_used():
    # Every default spelled out gives the Client nothing but what leaving them all out does.
    params = inspect.signature(greenapi.Client).parameters.values()
    shown = {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert greenapi.Client._resolved("1", "t", **shown) == greenapi.Client._resolved("1", "t")


def test_resolved_options_leave_the_token_out():
    token = "resolved-token-0123456789abcdef"
    resolved = greenapi.Client._resolved("1101000001", token, timeout=30)
    assert token not in repr(resolved)
    assert resolved == greenapi.Client._resolved(1101000001, "another-token-0123456789", timeout=30.0, proxy=None)


def test_unknown_options_are_refused_by_every_entry_point():
    for call in (
        lambda: greenapi.Client("1101000001", "x" * 20, timout=1),
        lambda: greenapi.AsyncClient("1101000001", "x" * 20, timout=1),
        lambda: greenapi.get_avatar("1101000001", "x" * 20, "1@c.us", timout=1),
    ):
        try:
            call()
        except TypeError as e:
            assert "unexpected keyword argument 'timout'" in str(e)
        else:
            raise AssertionError("an unknown option was accepted")


def test_type_checkers_hold_every_signature_to_client_options(tmp_path: Path) -> None:
    code = tmp_path / "options.py"
    code.write_text(
        "import greenapi\n"
        "async def f() -> None:\n"
        "    greenapi.Client('1', 't', timeout=1, max_in_flight=2, ca_file='x.pem')\n"
        "    greenapi.AsyncClient('1', 't', rate_limit=0.5, proxy='')\n"
        "    greenapi.get_avatar('1', 't', '1@c.us', max_retries=1, allow_insecure_http=True)\n"
        "    greenapi.Client('1', 't', timeout='30')\n"  # error: a str
        "    greenapi.AsyncClient('1', 't', timout=30)\n"  # error: no such option
        "    greenapi.get_avatar('1', 't', '1@c.us', max_retries=1.5)\n"  # error: a float
    )
    r = mypy(tmp_path, "--strict", code)
    out = r.stdout + r.stderr
    assert set(re.findall(r"options\.py:(\d+): error:", out)) == {"6", "7", "8"}, out


def test_help_gives_the_proxy_variables_in_the_order_they_are_read():
    # The core reads them in this order (src/proxy.rs); help(Client) once said ALL_PROXY first.
    entry = option_entries(greenapi.Client.__doc__)["proxy"]
    assert re.search(r"https_proxy\W+HTTPS_PROXY\W+all_proxy\W+ALL_PROXY\b", entry), entry
