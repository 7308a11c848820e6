"""Add compiled bytecode to the Lambda zip. Lambda's /var/task is read-only, so without it every cold start compiles
each imported module again (about 300 files); with it, the first request of a new instance starts that much sooner.

Run it with the interpreter of the Lambda runtime (the Makefile's LAMBDA_PYTHON): bytecode is only used by the
Python version that wrote it, so this refuses a zip whose functions declare another runtime.

    python3.12 -m infra.bytecode build/deployment.zip build/sam.json

The files are "unchecked-hash" .pyc (PEP 552): the runtime uses them without comparing them with the source's
modification time, which the zip's extraction need not keep. The .py files stay, for tracebacks.
"""

from __future__ import annotations

import importlib.util
import json
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path


def runtimes(template: Path) -> set[str]:
    resources = json.loads(template.read_text())["Resources"].values()
    return {r["Properties"]["Runtime"] for r in resources if r["Type"] == "AWS::Serverless::Function"}


def compile_zip(path: Path) -> tuple[int, int]:
    """Adds ``__pycache__/<module>.<tag>.pyc`` next to every .py of the zip; returns (compiled, not compilable)."""
    compiled = failed = 0
    tmp = path.with_suffix(".pyc.zip")
    with (
        zipfile.ZipFile(path) as src,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst,
        tempfile.TemporaryDirectory() as work,
    ):
        names = set(src.namelist())
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, data)
            if not info.filename.endswith(".py"):
                continue
            cached = importlib.util.cache_from_source(info.filename)
            if cached in names:
                continue
            source = Path(work, info.filename)
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(data)
            try:
                py_compile.compile(
                    str(source),
                    cfile=str(source) + "c",
                    dfile=info.filename,
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
            except py_compile.PyCompileError:
                failed += 1  # e.g. a vendored file for another Python version, never imported here
                continue
            pyc = zipfile.ZipInfo(cached, date_time=info.date_time)
            pyc.external_attr = info.external_attr
            pyc.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(pyc, Path(str(source) + "c").read_bytes())
            compiled += 1
    tmp.replace(path)
    return compiled, failed


def main() -> None:
    target, template = Path(sys.argv[1]), Path(sys.argv[2])
    mine = f"python{sys.version_info.major}.{sys.version_info.minor}"
    declared = runtimes(template)
    if declared != {mine}:
        sys.exit(f"{template} declares {sorted(declared)} but this is {mine}: its bytecode would be ignored")
    before = target.stat().st_size
    compiled, failed = compile_zip(target)
    print(
        f"{target}: {compiled} modules compiled for {mine} ({sys.implementation.cache_tag}), {failed} skipped; "
        f"{before / 1e6:.1f} MB -> {target.stat().st_size / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
