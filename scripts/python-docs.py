"""make docs: the Python reference of the installed greenapi package (and its stubs) with pdoc,
into the directory given as the first argument. Any warning of pdoc's (an annotation it cannot
read, a stub it cannot load) fails the build: make docs-check runs this in make test."""

from __future__ import annotations

import __future__
import sys
import types
import typing
import warnings
from pathlib import Path


def main() -> int:
    out = Path(sys.argv[1])
    # The stub (_native.pyi) marks its stub-only classes (ClientOptions, ...) with
    # typing.type_check_only, which exists for type checkers only; pdoc runs the stub as code.
    if not hasattr(typing, "type_check_only"):
        typing.type_check_only = lambda f: f  # type: ignore[attr-defined]

    import pdoc
    import pdoc.doc_pyi
    import pdoc.render

    # pdoc runs a stub as a module; a stub's annotations may name classes defined further down
    # (as type checkers allow), so they are compiled as with `from __future__ import annotations`.
    def import_stub(module_name: str, stub_file: Path) -> types.ModuleType:
        m = types.ModuleType(module_name)
        m.__file__ = str(stub_file)
        m.__package__ = module_name.rpartition(".")[0]
        code = compile(stub_file.read_text(encoding="utf-8"), str(stub_file), "exec",
                       flags=__future__.annotations.compiler_flag, dont_inherit=True)
        exec(code, m.__dict__)
        return m

    pdoc.doc_pyi._import_stub_file = import_stub

    import greenapi

    pdoc.render.configure(docformat="markdown", show_source=False,
                          footer_text=f"greenapi {greenapi.__version__}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # greenapi._native is documented too: the classes live there, with their stub's types.
        pdoc.pdoc("greenapi", "greenapi._native", output_directory=out)
    # `**options: Unpack[ClientOptions]`: ClientOptions is a TypedDict of the stub alone (there
    # is no such class at run time), so pdoc cannot evaluate the annotation and shows it as
    # written, which is what a reader needs. Only these two messages about it are expected.
    expected = ("Failed to run TYPE_CHECKING code while parsing Unpack[ClientOptions] type annotation",
                "Error parsing type annotation Unpack[ClientOptions] for ")
    bad = [w for w in caught if not str(w.message).startswith(expected)]
    for w in bad:
        print(f"python-docs: {w.category.__name__}: {w.message}", file=sys.stderr)
    if not (out / "greenapi" / "_native.html").is_file():
        print("python-docs: no page for greenapi._native", file=sys.stderr)
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
