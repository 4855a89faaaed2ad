"""The engine's per-push profile: instructions and heap allocations per push.

Wall-clock rates on a shared 2-core machine drift; instruction and
allocation counts do not. For each scenario, `push-bench` runs twice under
valgrind against a native simulator (`--lean`), with a small and a large
number of devices: the difference divided by the difference in pushes is
the cost of one push, start-up, warm-up, key generation and signing
cancelling out. callgrind counts instructions (the client's, every thread);
dhat counts heap blocks and bytes allocated.

    python3 bench/profile_push.py --bin-dir $CARGO_TARGET_DIR/release [--scenarios apns,fcm]

Prints one line per scenario and writes the figures as JSON (--out).
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import Simulator  # noqa: E402

SMALL, LARGE = 2_000, 6_000


def push_bench(bin_dir, sim, scenario, devices):
    return [str(bin_dir / "push-bench"), "--http-url", sim.http_url, "--tls-url", sim.tls_url,
            "--ca-file", sim.ca_pem, "--scenarios", scenario, "--rounds", "1",
            "--devices", str(devices)]


def run_valgrind(tool_args, cmd, expect_pushes):
    result = subprocess.run(["valgrind", "--quiet", *tool_args, *cmd],
                            capture_output=True, text=True, timeout=1800)
    # push-bench resets the simulator's counts and reports them itself.
    accepted = re.search(r"simulator accepted (\d+)", result.stdout)
    delivered = int(accepted.group(1)) if accepted else 0
    if result.returncode != 0 or delivered != expect_pushes:
        raise SystemExit(f"{' '.join(cmd[:1])} under valgrind: exit {result.returncode}, "
                         f"{delivered} of {expect_pushes} delivered\n{result.stderr[-2000:]}")
    return result


def instructions(bin_dir, sim, scenario, devices, work):
    out = work / f"callgrind.{scenario}.{devices}"
    run_valgrind([f"--callgrind-out-file={out}", "--tool=callgrind"],
                 push_bench(bin_dir, sim, scenario, devices), devices)
    for line in out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise SystemExit(f"no totals in {out}")


def allocations(bin_dir, sim, scenario, devices, work):
    out = work / f"dhat.{scenario}.{devices}.json"
    run_valgrind([f"--dhat-out-file={out}", "--tool=dhat"],
                 push_bench(bin_dir, sim, scenario, devices), devices)
    blocks = bytes_ = 0
    for record in json.loads(out.read_text())["pps"]:
        # dhat's JSON: `tbk` total blocks, `tb` total bytes of a program point.
        blocks += record["tbk"]
        bytes_ += record["tb"]
    return blocks, bytes_


def profile(bin_dir, sim, scenario, work):
    i_small = instructions(bin_dir, sim, scenario, SMALL, work)
    i_large = instructions(bin_dir, sim, scenario, LARGE, work)
    (b_small, y_small) = allocations(bin_dir, sim, scenario, SMALL, work)
    (b_large, y_large) = allocations(bin_dir, sim, scenario, LARGE, work)
    pushes = LARGE - SMALL
    return {"instructions_per_push": round((i_large - i_small) / pushes),
            "allocations_per_push": round((b_large - b_small) / pushes, 1),
            "bytes_allocated_per_push": round((y_large - y_small) / pushes)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin-dir", type=Path, required=True)
    parser.add_argument("--scenarios", default="apns,fcm")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="notify-profile-"))
    sim = Simulator(args.bin_dir, work / "simulator", lean=True)
    figures = {}
    try:
        for scenario in args.scenarios.split(","):
            figures[scenario] = profile(args.bin_dir, sim, scenario, work)
            f = figures[scenario]
            print(f"{scenario}: {f['instructions_per_push']:,} instructions, "
                  f"{f['allocations_per_push']} heap allocations "
                  f"({f['bytes_allocated_per_push']:,} bytes) per push "
                  f"(push-bench, {SMALL:,} vs {LARGE:,} devices under valgrind)", flush=True)
    finally:
        sim.process.kill()
        sim.process.wait()
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
