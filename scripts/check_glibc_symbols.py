"""Fails unless every glibc symbol a shared object (or the one inside a wheel) needs is
versioned and no newer than a baseline (default 2.17, manylinux2014).

auditwheel judges a wheel by its symbol versions alone. A symbol that the linker left
unversioned (zig links against glibc 2.17's stubs, so a newer function such as `gettid`
stays undefined and unversioned) passes auditwheel and fails at import on an old glibc.
Undefined symbols a CPython extension may leave unversioned are the interpreter's own
(`Py*`, `_Py*`) and weak ones.

    python scripts/check_glibc_symbols.py dist/otel_rust_exporter-*.whl [--max 2.17]
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import zipfile

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection
from elftools.elf.sections import SymbolTableSection

GLIBC_VERSION = re.compile(r"GLIBC_(\d+)\.(\d+)(?:\.(\d+))?$")
INTERPRETER_SYMBOL = re.compile(r"_?Py")


def glibc_versions(elf: ELFFile) -> list[tuple[int, ...]]:
    """The GLIBC_x.y versions the object's symbols need, oldest first."""
    versions = set()
    for section in elf.iter_sections():
        if isinstance(section, GNUVerNeedSection):
            for _library, auxiliaries in section.iter_versions():
                for auxiliary in auxiliaries:
                    match = GLIBC_VERSION.match(auxiliary.name)
                    if match:
                        versions.add(tuple(int(part) for part in match.groups() if part))
    return sorted(versions)


def problems(elf: ELFFile, newest: tuple[int, ...]) -> list[str]:
    found = [
        f"needs GLIBC_{'.'.join(map(str, version))}, newer than GLIBC_{'.'.join(map(str, newest))}"
        for version in glibc_versions(elf)
        if version > newest
    ]
    versym = next((section for section in elf.iter_sections() if isinstance(section, GNUVerSymSection)), None)
    dynsym = elf.get_section_by_name(".dynsym")
    assert isinstance(dynsym, SymbolTableSection), "no dynamic symbol table"
    for index, symbol in enumerate(dynsym.iter_symbols()):
        if symbol.entry["st_shndx"] != "SHN_UNDEF" or not symbol.name:
            continue
        if symbol.entry["st_info"]["bind"] == "STB_WEAK" or INTERPRETER_SYMBOL.match(symbol.name):
            continue
        version = versym.get_symbol(index).entry["ndx"] if versym is not None else "VER_NDX_GLOBAL"
        if version in ("VER_NDX_LOCAL", "VER_NDX_GLOBAL"):
            found.append(f"{symbol.name} is undefined and unversioned")
    return found


def shared_objects(path: str):
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as wheel:
            for name in wheel.namelist():
                if name.endswith(".so") or ".so." in name:
                    yield name, io.BytesIO(wheel.read(name))
    else:
        with open(path, "rb") as file:
            yield path, io.BytesIO(file.read())


def needed_libraries(elf: ELFFile) -> list[str]:
    return [
        tag.needed  # type: ignore[attr-defined]  # set on DT_NEEDED tags only
        for section in elf.iter_sections()
        if isinstance(section, DynamicSection)
        for tag in section.iter_tags()
        if tag.entry.d_tag == "DT_NEEDED"
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="wheels or shared objects")
    parser.add_argument("--max", default="2.17", help="newest glibc version allowed")
    arguments = parser.parse_args()
    newest = tuple(int(part) for part in arguments.max.split("."))
    failed = False
    for path in arguments.paths:
        for name, data in shared_objects(path):
            elf = ELFFile(data)
            found = problems(elf, newest)
            glibc = glibc_versions(elf)
            newest_used = "GLIBC_" + ".".join(map(str, glibc[-1])) if glibc else "none"
            print(f"{name}: needs {', '.join(needed_libraries(elf))}; newest glibc symbol {newest_used}")
            for problem in found:
                print(f"  {problem}")
            failed |= bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
