"""Checks that every target of Package.swift declares exactly the modules its sources import.

A module that imports what it does not declare builds only by luck (another target linked it
first); one that declares what it does not import hides the true layering. Run from the package
folder: `python3 scripts/check_module_deps.py` (part of `make test`). Exits 1 naming each target
whose imports and dependencies differ.
"""
import glob
import json
import re
import subprocess
import sys

# Modules of the toolchain and the system, never declared in Package.swift.
SYSTEM = {"Foundation", "FoundationEssentials", "Dispatch", "Glibc", "Darwin", "Testing",
          "Synchronization", "XCTest"}
# C targets that a Swift module links for another's sake (their headers are not imported).
LINKED_ONLY = {"RecKernels": {"CKernelSupport", "COpenBLAS"}}


def declared(target):
    names = set()
    for d in target["dependencies"]:
        for kind in ("byName", "product", "target"):
            if kind in d:
                names.add(d[kind][0])
    return names


def imported(folder):
    names = set()
    for path in glob.glob(folder + "/**/*.swift", recursive=True):
        with open(path, encoding="utf-8") as f:
            names |= set(re.findall(r"^(?:@testable |@_exported )?import (\w+)", f.read(), re.M))
    return names - SYSTEM


def main():
    package = json.loads(subprocess.check_output(["swift", "package", "dump-package"]))
    bad = 0
    for target in package["targets"]:
        if target["type"] == "system-target":
            continue
        name = target["name"]
        folder = target.get("path") or ("Tests/" if target["type"] == "test" else "Sources/") + name
        deps, imports = declared(target), imported(folder)
        missing = imports - deps
        extra = deps - imports - LINKED_ONLY.get(name, set())
        if missing or extra:
            bad += 1
            print(f"{name}: imports but does not declare {sorted(missing)}; declares but does not import {sorted(extra)}")
    if bad:
        sys.exit(1)
    print("module dependencies: every target imports exactly what Package.swift declares")


main()
