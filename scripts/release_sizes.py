#!/usr/bin/env python3
"""release_sizes.py LAMBDA_DIR WRITE_ZIP NAME...: the size table of
scripts/build-release. For each function NAME, LAMBDA_DIR/NAME/bootstrap
is zipped in memory as sam and cargo-lambda zip it (deflate, mode 755);
with WRITE_ZIP = 1 the zip is also written next to it as bootstrap.zip.
Prints name, binary and zip sizes; exit status 1 if a binary is missing.
"""

import io
import os
import sys
import zipfile


def mb(size):
    return f"{size / 1_000_000:6.2f} MB"


def main(lambda_dir, write_zip, names):
    rows, missing = [], []
    for name in names:
        binary = os.path.join(lambda_dir, name, "bootstrap")
        if not os.path.isfile(binary):
            missing.append(binary)
            continue
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            info = zipfile.ZipInfo("bootstrap")
            info.external_attr = 0o755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(binary, "rb") as handle:
                archive.writestr(info, handle.read())
        if write_zip:
            with open(binary + ".zip", "wb") as handle:
                handle.write(buffer.getvalue())
        rows.append((name, os.path.getsize(binary), len(buffer.getvalue())))

    print(f"{'function':<22} {'binary':>10} {'zip':>10}")
    for name, binary, zipped in rows:
        print(f"{name:<22} {mb(binary):>10} {mb(zipped):>10}")
    if rows:
        print(
            f"{'total':<22} {mb(sum(r[1] for r in rows)):>10} {mb(sum(r[2] for r in rows)):>10}"
        )
    for path in missing:
        print(f"missing: {path}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] == "1", sys.argv[3:]))
