"""`_native.pyi` declares what the native classes share on private bases that exist only in
the stub. stubtest checks every runtime member against the stub, inherited ones included,
but not that an inherited stub member exists at runtime: this does."""

from __future__ import annotations

import ast
from pathlib import Path

import otel_rust_exporter
from otel_rust_exporter import _native

STUB = Path(otel_rust_exporter.__file__).with_name("_native.pyi")


def declared_members() -> dict[str, set[str]]:
    """Every public stub class's members, with those of its private stub bases."""
    classes = {node.name: node for node in ast.parse(STUB.read_text()).body if isinstance(node, ast.ClassDef)}

    def members(name: str) -> set[str]:
        node = classes[name]
        own = {
            item.name if isinstance(item, ast.FunctionDef) else item.target.id  # type: ignore[union-attr]
            for item in node.body
            if isinstance(item, ast.FunctionDef)
            or (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name))
        }
        for base in node.bases:
            if isinstance(base, ast.Name) and base.id in classes:
                own |= members(base.id)
        return own

    return {name: members(name) for name in classes if not name.startswith("_")}


def test_every_inherited_stub_member_exists_at_runtime() -> None:
    declared = declared_members()
    assert "SpanProcessorCore" in declared and "stats" in declared["SpanProcessorCore"]
    missing = {
        f"{name}.{member}"
        for name, members in declared.items()
        for member in members
        if not hasattr(getattr(_native, name), member)
    }
    assert not missing
