"""Drop from the Lambda zip what the Python Lambda runtime already provides (boto3 and its dependencies), which
pynamodb pulls in: about two thirds of the package. Prints the sizes before and after.

    python -m infra.slim build/deployment.zip
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six")


def provided(name: str) -> bool:
    top = name.split("/", 1)[0].lower()
    stem = top.split("-")[0].replace(".dist-info", "")
    return stem in PROVIDED_BY_RUNTIME or stem.replace("python_", "") in PROVIDED_BY_RUNTIME or top == "six.py"


def slim(path: Path) -> tuple[int, int]:
    before = path.stat().st_size
    tmp = path.with_suffix(".slim")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            if not provided(info.filename):
                dst.writestr(info, src.read(info.filename))
    tmp.replace(path)
    return before, path.stat().st_size


if __name__ == "__main__":
    target = Path(sys.argv[1])
    was, now = slim(target)
    print(f"{target}: {was / 1e6:.1f} MB -> {now / 1e6:.1f} MB (boto3/botocore come with the Lambda runtime)")
