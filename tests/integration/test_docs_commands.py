"""Every command in README.md and docs/*.md runs, and every link between those pages resolves.

Fenced `bash`, `sh`, `console` (its `$ ` lines) and `python` blocks are run, page by page, in a sandbox: a
temporary directory with a link to the project's `.venv`, the Boston data as `train.csv`, `data/train.csv` and
`data/test.csv`, its own HOME, an empty runtimes directory and no AWS_*/HARNESS_* variables. One bash runs a
page's blocks in order (`set -euo pipefail`), so `export`s and `harness serve &` carry on to later blocks as in
a terminal; where `unshare` can make a network namespace, the page runs in one with only a loopback interface,
so port 8765 is the page's own and nothing reaches the network. A python block runs with the venv's Python in
that shell; one that defines a `test_` function runs with pytest.

A block that cannot run here has `<!-- not run in tests: <reason> -->` on the line before its fence
(docs/testing.md). A marker without a reason, a marker before no checked block and an unmarked block that
fails each fail the test.
"""

from __future__ import annotations

import functools
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.datasets import load_boston

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = (ROOT / "README.md", *sorted(DOCS.glob("*.md")))
CHECKED = {"bash": "bash", "sh": "bash", "shell": "bash", "console": "console", "python": "python"}
MARKER = re.compile(r"^\s*<!--\s*not run in tests\b:?(?P<reason>.*?)-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)\s*$")
LINK = re.compile(r"\[(?:[^\]]*)\]\((?P<target>[^)\s]+)\)")
SERVE_IN_BACKGROUND = re.compile(r"harness serve\b(?P<args>[^\n&]*)&")
BLOCK_TIMEOUT_SECONDS = 240.0
DONE = "__docs_block_done__"


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    skip_reason: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def kind(self) -> str | None:
        return CHECKED.get(self.lang)

    def script(self) -> str:
        """What runs: the block itself, or for `console` its `$ ` lines."""
        if self.kind == "console":
            return "\n".join(line[2:] for line in self.code.splitlines() if line.startswith("$ ")) + "\n"
        return self.code


@dataclass(frozen=True)
class Page:
    path: Path
    blocks: tuple[Block, ...]
    problems: tuple[str, ...]  # marker mistakes
    headings: tuple[str, ...]
    text_outside_code: str


@functools.cache
def parse(path: Path) -> Page:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    headings: list[str] = []
    prose: list[str] = []
    pending: tuple[int, str] | None = None  # a marker waiting for its fence: (line, reason)
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = MARKER.match(line)
        fence = FENCE.match(line)
        if marker:
            if pending is not None:
                problems.append(f"{path.name}:{pending[0]}: marker not followed by a checked code block")
            reason = marker.group("reason").strip()
            if not reason:
                problems.append(f"{path.name}:{index + 1}: marker without a reason")
            pending = (index + 1, reason)
        elif fence:
            start = index
            body: list[str] = []
            index += 1
            while index < len(lines) and lines[index].strip() != "```":
                body.append(lines[index])
                index += 1
            lang = fence.group("lang").lower()
            if pending is not None and lang not in CHECKED:
                problems.append(f"{path.name}:{pending[0]}: marker before a `{lang or 'plain'}` block, which is "
                                "never run")
            blocks.append(Block(path, start + 1, lang, "\n".join(body) + "\n",
                                pending[1] if pending is not None else None))
            pending = None
        elif line.strip():
            if pending is not None:
                problems.append(f"{path.name}:{pending[0]}: marker not followed by a checked code block")
                pending = None
            if line.startswith("#"):
                headings.append(line.lstrip("#").strip())
            prose.append(line)
        index += 1
    if pending is not None:
        problems.append(f"{path.name}:{pending[0]}: marker not followed by a checked code block")
    return Page(path, tuple(blocks), tuple(problems), tuple(headings), "\n".join(prose))


def anchors(page: Page) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    out = set()
    for heading in page.headings:
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return out


# --- markers and links: no sandbox, no processes ---------------------------------------------------------

def test_markers_have_reasons_and_precede_checked_blocks() -> None:
    problems = [problem for path in PAGES for problem in parse(path).problems]
    assert not problems, "\n".join(problems)
    checked = [block for path in PAGES for block in parse(path).blocks if block.kind]
    assert len(checked) >= 20, "the pages should hold the project's commands"
    assert any(block.skip_reason is None for block in checked)


def test_relative_links_resolve() -> None:
    broken = []
    for path in PAGES:
        page = parse(path)
        for match in LINK.finditer(page.text_outside_code):
            target = match.group("target")
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / file_part).resolve() if file_part else path
            if not resolved.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(parse(resolved)):
                broken.append(f"{path.relative_to(ROOT)}: {target} (no heading #{anchor} in {resolved.name})")
    assert not broken, "\n".join(broken)


def test_the_operations_table_lists_what_the_emulator_implements(tmp_path: Path) -> None:
    """docs/emulator.md's operations table names exactly the SageMaker operations the emulator answers."""
    from backends.emulator.server import Emulator, EmulatorConfig

    section = (DOCS / "emulator.md").read_text().split("## Operations", 1)[1].split("\n## ", 1)[0]
    documented = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            documented.update(re.findall(r"`([A-Z][A-Za-z]+)`", row.split("|")[1]))
    implemented = set(Emulator(EmulatorConfig(state_dir=tmp_path)).gateway.sagemaker.implemented())
    assert documented == implemented, (f"implemented, not in the table: {sorted(implemented - documented)}; "
                                       f"in the table, not implemented: {sorted(documented - implemented)}")


def test_every_docs_page_is_linked_from_the_readme_and_the_docs_index() -> None:
    def linked(path: Path) -> set[Path]:
        return {(path.parent / match.group("target").partition("#")[0]).resolve()
                for match in LINK.finditer(parse(path).text_outside_code)
                if not re.match(r"^[a-z][a-z0-9+.-]*:", match.group("target"))}

    pages = {path.resolve() for path in DOCS.glob("*.md")} - {(DOCS / "README.md").resolve()}
    assert pages - linked(ROOT / "README.md") == set()
    assert pages - linked(DOCS / "README.md") == set()


# --- the commands -----------------------------------------------------------------------------------------

@functools.cache
def network_namespace_prefix() -> tuple[str, ...]:
    """`unshare` into a fresh network namespace with loopback up, when this machine allows it; else ()."""
    unshare = shutil.which("unshare")
    ip = shutil.which("ip", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if unshare is None or ip is None:
        return ()
    prefix = (unshare, "--net", "--map-root-user")
    probe = subprocess.run([*prefix, ip, "link", "set", "lo", "up"], capture_output=True, timeout=30)
    return prefix if probe.returncode == 0 else ()


def make_sandbox(root: Path, mpl_dir: Path) -> dict[str, str]:
    (root / "home").mkdir(parents=True)
    (root / "runtimes").mkdir()
    (root / "data").mkdir()
    (root / ".venv").symlink_to(ROOT / ".venv")
    features, label = load_boston()
    labelled = features.assign(MEDV=label)[["MEDV", *features.columns]]
    labelled.to_csv(root / "train.csv", header=False, index=False)
    labelled.iloc[:400].to_csv(root / "data" / "train.csv", header=False, index=False)
    features.iloc[400:].to_csv(root / "data" / "test.csv", header=False, index=False)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AWS_", "HARNESS_", "SAGEMAKER_", "PYTEST_"))}
    env.update(HOME=str(root / "home"), PATH=f"{root / '.venv' / 'bin'}:{env.get('PATH', '')}",
               HARNESS_RUNTIMES_DIR=str(root / "runtimes"), MPLBACKEND="Agg", MPLCONFIGDIR=str(mpl_dir),
               PYTHONDONTWRITEBYTECODE="1")
    return env


WAIT_FOR_SERVER = """\
import sys, time, urllib.request
url, deadline = f"http://127.0.0.1:{sys.argv[1]}/_harness/health", time.time() + float(sys.argv[2])
while True:
    try:
        urllib.request.urlopen(url, timeout=1)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit(f"nothing answered {url}")
        time.sleep(0.2)
"""


class PageShell:
    """One bash for a page's blocks, fed a block at a time; a failing command ends it (set -e)."""

    def __init__(self, sandbox: Path, env: dict[str, str]) -> None:
        self.sandbox = sandbox
        self.blocks_dir = sandbox / ".docs-blocks"
        self.blocks_dir.mkdir()
        (self.blocks_dir / "wait_for_server.py").write_text(WAIT_FOR_SERVER)
        prefix = network_namespace_prefix()
        self.isolated = bool(prefix)
        self.process = subprocess.Popen([*prefix, "bash", "--noprofile", "--norc"], cwd=sandbox, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        setup = "set -euo pipefail\n"
        if self.isolated:
            ip = shutil.which("ip", path=f"{env['PATH']}:/usr/sbin:/sbin")
            setup += f"{ip} link set lo up\n"
        self._send(setup + f"echo {DONE}\n")
        self._wait_done(30.0, "the shell did not start")

    def run(self, number: int, block: Block) -> str | None:
        """Run one block; None when it succeeded, else what went wrong with its output."""
        output = self.blocks_dir / f"{number}.out"
        if block.kind == "python":
            if re.search(r"^def test_", block.code, re.MULTILINE):
                source = self.blocks_dir / f"test_block_{number}.py"
                command = f".venv/bin/python -m pytest -q -p no:cacheprovider --rootdir {self.blocks_dir} {source}"
            else:
                source = self.blocks_dir / f"block_{number}.py"
                command = f".venv/bin/python {source}"
            source.write_text(block.code)
        else:
            source = self.blocks_dir / f"block_{number}.sh"
            source.write_text(self._with_waits(block.script()))
            command = f"source {source}"
        self._send(f"{command} > {output} 2>&1 < /dev/null\necho {DONE}\n")
        problem = self._wait_done(BLOCK_TIMEOUT_SECONDS, "failed")
        if problem is None:
            return None
        text = output.read_text(errors="replace") if output.exists() else ""
        tail = "\n".join(text.splitlines()[-60:])
        return f"{block.where}: the block {problem}\n--- block ---\n{block.code}--- output (tail) ---\n{tail}"

    def _with_waits(self, script: str) -> str:
        """After each `harness serve ... &` line, wait until the server answers, as a person typing the next
        line would: the commands after it expect it to be up."""
        lines = []
        for line in script.splitlines():
            lines.append(line)
            serve = SERVE_IN_BACKGROUND.search(line)
            if serve:
                port = re.search(r"--port[ =](\d+)", serve.group("args"))
                lines.append(f".venv/bin/python {self.blocks_dir / 'wait_for_server.py'} "
                             f"{port.group(1) if port else 8765} 60")
        return "\n".join(lines) + "\n"

    def _send(self, text: str) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(text.encode())
            self.process.stdin.flush()
        except BrokenPipeError:
            pass

    def _wait_done(self, timeout: float, failure: str) -> str | None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        received = b""
        while DONE.encode() not in received:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return f"did not finish within {timeout:.0f} s"
            ready, _, _ = select.select([self.process.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:  # set -e ended the shell
                    return f"{failure} (exit status {self.process.wait()})"
                received += chunk
        return None

    def close(self) -> None:
        """Stop the shell and everything it started in the background (SIGTERM, then SIGKILL)."""
        for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _group_alive(self.process.pid):
                self.process.poll()
                time.sleep(0.1)
            if not _group_alive(self.process.pid):
                break
        self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def matplotlib_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One matplotlib config and font cache for every page (building it takes seconds)."""
    return tmp_path_factory.mktemp("matplotlib")


def runnable_blocks(path: Path) -> list[Block]:
    """The page's unmarked checked blocks, less those an earlier page (README first) already runs word for word."""
    earlier = {block.code for other in PAGES[:PAGES.index(path)] for block in parse(other).blocks}
    return [block for block in parse(path).blocks
            if block.kind and block.skip_reason is None and block.code not in earlier]


# Pages whose every command is marked with its reason (checked above) have nothing to run here.
RUNNABLE_PAGES = [path for path in PAGES if runnable_blocks(path)]


@pytest.mark.parametrize("path", RUNNABLE_PAGES, ids=[str(path.relative_to(ROOT)) for path in RUNNABLE_PAGES])
def test_page_commands_run(path: Path, tmp_path: Path, matplotlib_dir: Path) -> None:
    runnable = runnable_blocks(path)
    assert runnable
    needs_port = any(SERVE_IN_BACKGROUND.search(block.script()) for block in runnable)
    if needs_port and not network_namespace_prefix() and _port_in_use(8765):
        pytest.fail("this page starts `harness serve` on port 8765, which is in use, and no network namespace "
                    "can be made here (unshare) to give the page its own")
    env = make_sandbox(tmp_path / "sandbox", matplotlib_dir)
    shell = PageShell(tmp_path / "sandbox", env)
    try:
        for number, block in enumerate(runnable):
            problem = shell.run(number, block)
            if problem is not None:
                pytest.fail(problem, pytrace=False)
    finally:
        shell.close()
