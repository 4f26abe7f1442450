"""Table-driven fuzz of the command line.

Every bad input must end in exactly one line on stderr starting ``nearid: error:``, exit
code 2, nothing on stdout, and an unchanged store: the database's logical content (an
``iterdump`` through a read-only connection, so WAL checkpoints do not count as changes) and
every other file byte for byte, output folder included. Cases run in-process through
``__main__.main`` with training stubbed out (a case that gets that far fails loudly); a
handful run again as real processes, and a closed stdout pipe is tested for real.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from nearid_core import __main__ as entry
from nearid_core.cli import MIN_RADIUS, cores
from nearid_core.config import MAX_SEED, DataConfig, ModelConfig, SweepConfig, TrainConfig
from nearid_core.runs import jobs
from nearid_core.runs.jobs import run_sweep_job, submit_sweep
from nearid_core.runs.store import DB_NAME, RunStore

TINY = SweepConfig(data=DataConfig(n=512, d_x=16), model=ModelConfig(width=16),
                   train=TrainConfig(epochs=2, batch_size=128), leaks=(0.0, 0.5), seeds=2)
TINY_ARGS = ("--n", "512", "--d-x", "16", "--width", "16", "--epochs", "2", "--batch-size",
             "128", "--leaks", "0,0.5", "--seeds", "2", "--workers", "1", "--quiet")
ENDED_EARLY = ("failed", "cancelled", "interrupted")


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    needle: str = ""  # a phrase the error line must contain
    home: str = "shared"  # see make_home
    files: tuple[str, ...] = ()  # made in the working folder first; "x/" is a folder
    env: tuple[tuple[str, str], ...] = ()
    fault: str = ""  # what the stubbed training raises; "" = it must never be reached


def _c(name: str, *argv: str, **kw) -> Case:
    return Case(name, argv, **kw)


def _sweep(name: str, *extra: str, **kw) -> Case:
    return Case(f"sweep {name}", ("sweep", *TINY_ARGS, *extra), **kw)


# ---------------------------------------------------------------- the table

INTS = {"--d-u": (1, 6), "--d-x": (1, 4096), "--n": (64, 1_000_000), "--width": (1, 4096),
        "--d-z": (0, 64), "--epochs": (1, 10_000), "--batch-size": (1, 1_000_000),
        "--seeds": (1, 64), "--seed": (0, MAX_SEED), "--workers": (1, cores()),
        "--max-models": (1, None)}
REALS = {"--radius": (MIN_RADIUS, 1000.0), "--noise": (0.0, 10.0),
         "--weight-decay": (0.0, 1.0), "--lr": (0.0, 1.0), "--holdout": (0.05, 0.9)}


def numeric_cases() -> list[Case]:
    cases = []
    for opt, (lo, hi) in INTS.items():
        bad = {"below": str(lo - 1), "fraction": "1.5", "nan": "nan", "inf": "inf",
               "word": "ten", "empty": "", "hex": "0x10"}
        if hi is not None:
            bad["above"] = str(hi + 1)
        cases += [_sweep(f"{opt} {k}", opt, v, needle=opt) for k, v in bad.items()]
    for opt, (lo, hi) in REALS.items():
        bad = {"below": "0" if opt == "--lr" else f"{lo - 0.01:g}", "above": f"{hi + 0.01:g}",
               "nan": "nan", "inf": "inf", "-inf": "-inf", "word": "abc", "empty": "",
               "comma decimal": "0,5"}
        cases += [_sweep(f"{opt} {k}", opt, v, needle=opt) for k, v in bad.items()]
    return cases + [
        _sweep("--seed 10**30", "--seed", "1" + "0" * 30, needle="--seed"),
        _sweep("--seed MAX_SEED+1 as 1e16", "--seed", "1e16", needle="--seed"),
        _sweep("--n 5000 digits", "--n", "9" * 5000, needle="--n"),
        _sweep("--workers -1", "--workers", "-1", needle="--workers"),
        _sweep("--workers a million", "--workers", "1000000", needle="--workers"),
        _sweep("--epochs -0", "--epochs", "-0", needle="--epochs"),
    ]


def option_cases() -> list[Case]:
    leaks = {"empty": "", "comma": ",", "empty item": "0,,1", "trailing comma": "0,0.5,",
             "repeat": "0,0", "repeat spelled apart": "0.5,0.50", "negative": "-0.1",
             "above 1": "1.5", "nan": "nan", "inf": "inf", "huge": "1e400",
             "letters": "a,b", "semicolons": "0;0.5", "spaces": "0.5 0.6"}
    names = {"201 characters": "n" * 201, "5000 characters": "n" * 5000,
             "newline": "a\nb", "tab": "a\tb", "escape": "\x1b[31mred",
             "undecodable byte": "caf\udce9", "line separator": "a\u2028b"}
    return [
        *[_sweep(f"--leaks {k}", "--leaks", v, needle="--leaks") for k, v in leaks.items()],
        *[_sweep(f"--name {k}", "--name", v, needle="--name") for k, v in names.items()],
        # choices
        _sweep("--kind spiral", "--kind", "spiral", needle="--kind"),
        _sweep("--kind empty", "--kind", "", needle="--kind"),
        _sweep("--sources cauchy", "--sources", "cauchy", needle="--sources"),
        _sweep("--decoder upper case", "--decoder", "ORTHOGONAL", needle="--decoder"),
        # values that only clash with each other (the config's own checks)
        _sweep("width above d_x", "--width", "64", needle="width"),
        _sweep("orthogonal width below d_z", "--d-z", "8", "--width", "4", needle="width"),
        _sweep("rolled d_x below 2 d_u", "--d-u", "6", "--width", "6", "--d-x", "8",
               needle="d_x"),
        _sweep("square with 3 factors", "--kind", "square", "--d-u", "3", needle="d_u"),
        _sweep("batch above the training samples", "--batch-size", "100000",
               needle="batch_size"),
        # the resource budget
        _sweep("--max-models below the grid", "--max-models", "3"),
        _sweep("--max-memory 1K", "--max-memory", "1K"),
        _sweep("--max-memory empty", "--max-memory", "", needle="--max-memory"),
        _sweep("--max-memory lots", "--max-memory", "lots", needle="--max-memory"),
        _sweep("--max-memory 0", "--max-memory", "0", needle="--max-memory"),
        _sweep("--max-memory -5G", "--max-memory", "-5G", needle="--max-memory"),
        _sweep("--max-memory nan", "--max-memory", "nan", needle="--max-memory"),
        _sweep("data too large for --max-memory", "--n", "1000000", "--d-x", "4096",
               "--max-memory", "4G"),
        _sweep("a grid too large for this machine", "--n", "1000000", "--d-x", "4096",
               "--width", "4096", "--leaks", ",".join(f"{k / 100:.2f}" for k in range(100)),
               "--seeds", "64"),
        _sweep("NEARID_MAX_MEMORY garbage", env=(("NEARID_MAX_MEMORY", "lots"),),
               needle="NEARID_MAX_MEMORY"),
        _sweep("NEARID_MAX_MEMORY too small", env=(("NEARID_MAX_MEMORY", "1K"),)),
        # the sweep's own output files
        _sweep("--json wrong suffix", "--json", "out.txt", needle="--json"),
        _sweep("--json empty", "--json", "", needle="--json"),
        _sweep("--json missing folder", "--json", "missing/out.json", needle="--json"),
        _sweep("--json existing", "--json", "old.json", files=("old.json",), needle="--force"),
        _sweep("--json a folder", "--json", "d.json", files=("d.json/",), needle="folder"),
        _sweep("--report wrong suffix", "--report", "r.htm", needle="--report"),
        _sweep("--report existing", "--report", "old.html", files=("old.html",),
               needle="--force"),
        _sweep("--report under a file", "--report", "f.txt/r.html", files=("f.txt",),
               needle="--report"),
    ]


def id_cases() -> list[Case]:
    cases = []
    for cmd in ("show", "delete", "cancel", "export", "report"):
        out = {"export": ("--out", "ok.npz"), "report": ("--out", "ok.html")}.get(cmd, ())
        for what, key, needle in (("empty", "", "hex"), ("not hex", "zz", "hex"),
                                  ("13 digits", "0123456789abc", "hex"),
                                  ("a path", "../etc", "hex"), ("unknown", "{unknown}", "no sweep"),
                                  ("ambiguous prefix", "{ambiguous}", "ambiguous")):
            cases.append(_c(f"{cmd} id {what}", cmd, key, *out, needle=needle))
    return cases


def argument_cases() -> list[Case]:
    return [
        _c("no command"), _c("empty command", "", needle="invalid choice"),
        _c("unknown command", "frobnicate", needle="invalid choice"),
        _c("unknown top option", "--frob"), _c("unknown sweep option", "sweep", "--frob"),
        _c("sweep positional", "sweep", "extra"), _c("list extra", "list", "extra"),
        _c("runner extra", "runner", "extra"), _c("runner --stay negative", "runner", "--stay", "-1"),
        _c("runner --stay not a number", "runner", "--stay", "soon"), _c("sweep --seed without value", "sweep", "--seed"),
        _c("sweep --name without value", "sweep", "--name"),
        *[_c(f"{cmd} without id", cmd, needle="required") for cmd in
          ("show", "delete", "cancel", "export", "report")],
        _c("export without --out", "export", "{done}", needle="--out"),
        _c("report without --out", "report", "{done}", needle="--out"),
        _c("export --out without id", "export", "--out", "x.npz", needle="required"),
    ]


def out_cases() -> list[Case]:
    cases = []
    for cmd, ext, wrong in (("export", ".npz", ".npy"), ("report", ".html", ".htm")):
        bad = [("empty", "", (), "--out"), ("wrong suffix", f"x{wrong}", (), "--out"),
               ("no suffix", "x", (), "--out"), ("suffix inside", f"x{ext}.part", (), "--out"),
               ("existing", f"old{ext}", (f"old{ext}",), "--force"),
               ("missing folder", f"missing/x{ext}", (), "does not exist"),
               ("a folder", f"d{ext}", (f"d{ext}/",), "folder"),
               ("under a file", f"f.txt/x{ext}", ("f.txt",), "not a folder"),
               ("dot", ".", (), "--out")]
        cases += [_c(f"{cmd} --out {what}", cmd, "{done}", "--out", path, files=files,
                     needle=needle) for what, path, files, needle in bad]
    return cases


def state_cases() -> list[Case]:
    cases = []
    for status in (*ENDED_EARLY, "queued", "running"):
        cases.append(_c(f"export {status} sweep", "export", f"{{{status}}}", "--out", "x.npz",
                        needle="no results"))
        cases.append(_c(f"report {status} sweep", "report", f"{{{status}}}", "--out",
                        "x.html", needle="no results"))
    return cases + [
        _c("delete queued sweep", "delete", "{queued}", needle="cancel"),
        _c("delete running sweep", "delete", "{running}", needle="cancel"),
        _c("export damaged artefacts", "export", "{done}", "--out", "x.npz",
           home="damaged_artefacts"),
        _c("export missing artefacts", "export", "{done}", "--out", "x.npz",
           home="missing_artefacts", needle="missing"),
        _sweep("out of memory", fault="memory", needle="memory"),
        _sweep("torch allocation failure", fault="torch", needle="memory"),
    ]


DAMAGED_HOMES = ("home is a file", "home under a file", "proc", "random bytes",
                 "garbled header", "newer schema", "empty db beside artefacts", "db is a folder")
STORE_COMMANDS = {
    "list": ("list",), "show": ("show", "{unknown}"),
    "export": ("export", "{unknown}", "--out", "x.npz"),
    "report": ("report", "{unknown}", "--out", "x.html"), "delete": ("delete", "{unknown}"),
    "cancel": ("cancel", "{unknown}"), "sweep": ("sweep", *TINY_ARGS), "runner": ("runner",),
}


def store_cases() -> list[Case]:
    # (`list` of a folder without a store, such as /proc/1, truthfully says "no sweeps yet")
    cases = [Case(f"{cmd} with {home}", argv, home=home)
             for home in DAMAGED_HOMES for cmd, argv in STORE_COMMANDS.items()
             if (cmd, home) != ("list", "proc")]
    cases += [Case(f"{cmd} without a store", argv, home="missing", needle="no run store")
              for cmd, argv in STORE_COMMANDS.items() if cmd not in ("list", "sweep", "runner")]
    return cases


CASES = (numeric_cases() + option_cases() + id_cases() + argument_cases() + out_cases()
         + state_cases() + store_cases())


# ---------------------------------------------------------------- stores


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> dict:
    """A store with a done tiny sweep and one sweep in every other state, plus copies whose
    artefacts are damaged or missing. Returns homes and the ids to fill into the argv."""
    root = tmp_path_factory.mktemp("fuzz")
    store = RunStore(root / "store")
    ids = {"done": submit_sweep(store, TINY, name="done")}
    run_sweep_job(store, ids["done"], executor=ThreadPoolExecutor(1))
    for status in ENDED_EARLY:
        sid = ids[status] = submit_sweep(store, TINY, name=status)
        if status == "cancelled":
            store.request_cancel(sid)
        else:
            assert store.start_sweep(sid)
            store.finish_sweep(sid, status, reason=f"{status} for the test")
    ids["queued"] = submit_sweep(store, TINY, name="queued")
    ids["running"] = submit_sweep(store, TINY, name="running", claim=True)
    with sqlite3.connect(store.db_path) as c:  # never stale: reading must not reap it
        c.execute("UPDATE sweeps SET heartbeat = ? WHERE id = ?",
                  (time.time() + 1e7, ids["running"]))
    c.close()
    while not (amb := _shared_prefix(s["id"] for s in store.list_sweeps())):
        store.request_cancel(submit_sweep(store, TINY, name="filler"))
    ids["ambiguous"] = amb
    ids["unknown"] = next(k for k in ("0123456789ab", "ba9876543210", "fedcba012345")
                          if k not in {s["id"] for s in store.list_sweeps()})
    store.close()
    homes = {"shared": store.home}
    for kind in ("damaged_artefacts", "missing_artefacts"):
        home = homes[kind] = root / kind
        shutil.copytree(store.home, home)
        for f in sorted((home / "artefacts" / ids["done"]).rglob("*.npz")):
            if kind == "missing_artefacts":
                f.unlink()
            else:
                f.write_bytes(random.Random(f.name).randbytes(f.stat().st_size))
    return {"homes": homes, "ids": ids}


def _shared_prefix(ids) -> str:
    seen: set[str] = set()
    for sid in ids:
        if sid[0] in seen:
            return sid[0]
        seen.add(sid[0])
    return ""


def make_home(kind: str, case_dir: Path, shared: dict) -> Path:
    """The store home for a case; damaged ones are made fresh inside ``case_dir``."""
    if kind in shared["homes"]:
        return shared["homes"][kind]
    home = case_dir / "home"
    if kind == "proc":
        return Path("/proc/1")
    if kind == "missing":
        return home
    if kind == "home is a file":
        home.write_text("not a folder")
        return home
    if kind == "home under a file":
        (case_dir / "file").write_text("not a folder")
        return case_dir / "file" / "home"
    if kind == "db is a folder":
        (home / DB_NAME).mkdir(parents=True)
        return home
    if kind == "empty db beside artefacts":
        (home / "artefacts" / "0123456789ab").mkdir(parents=True)
        (home / "artefacts" / "0123456789ab" / "data.npz").write_bytes(b"PK\x05\x06" + bytes(18))
        (home / DB_NAME).write_bytes(b"")
        return home
    RunStore(home).close()  # a valid store, then damaged
    db = home / DB_NAME
    if kind == "random bytes":
        db.write_bytes(random.Random(0).randbytes(8192))
    elif kind == "garbled header":
        with open(db, "r+b") as fh:
            fh.write(b"garbage garbage!")
    elif kind == "newer schema":
        with sqlite3.connect(db) as c:
            c.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        c.close()
    else:
        raise ValueError(kind)
    return home


# ---------------------------------------------------------------- snapshots


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _db_digest(path: Path) -> tuple:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return ("dump", tuple(conn.iterdump()))
        finally:
            conn.close()
    except sqlite3.DatabaseError:  # not a database (that is the case): compare its bytes
        return ("bytes", _sha(path))


def snapshot(root: Path) -> dict | str | None:
    """Everything under ``root`` that a command could change; the database logically."""
    if not os.path.lexists(root):
        return None
    if str(root).startswith("/proc/"):
        return "proc"
    if not root.is_dir():
        return _sha(root)
    out: dict = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.name in (f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
            continue  # their content is compared through the logical dump
        if p.is_symlink():
            out[rel] = ("link", os.readlink(p))
        elif p.is_dir():
            out[rel] = "folder"
        elif p.name == DB_NAME:
            out[rel] = _db_digest(p)
        else:
            out[rel] = _sha(p)
    return out


# ---------------------------------------------------------------- running a case


def _argv(case: Case, ids: dict) -> list[str]:
    def fill(arg: str) -> str:
        for key, value in ids.items():
            arg = arg.replace(f"{{{key}}}", value)
        return arg
    return [fill(a) for a in case.argv]


def _prepare(case: Case, tmp_path: Path, shared: dict, monkeypatch) -> tuple[Path, list[Path]]:
    work = tmp_path / "work"
    work.mkdir()
    for f in case.files:
        (work / f).mkdir() if f.endswith("/") else (work / f).write_text("keep me")
    home = make_home(case.home, tmp_path, shared)
    monkeypatch.chdir(work)
    monkeypatch.setenv("NEARID_HOME", str(home))
    monkeypatch.delenv("NEARID_MAX_MEMORY", raising=False)
    for key, value in case.env:
        monkeypatch.setenv(key, value)
    roots = [tmp_path] + ([home] if case.home in shared["homes"] else [])
    return home, roots


def _stub_training(monkeypatch, fault: str) -> None:
    def never(*_a, **_k):
        raise AssertionError("a bad input got as far as training or the runner")

    def fake_submit(*_a, **_k):
        return "feedc0ffee00"  # writes nothing

    def fail(*_a, **_k):
        if fault == "memory":
            raise MemoryError
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:114] . DefaultCPUAllocator: "
                           "can't allocate memory: you tried to allocate 1099511627776 bytes.")

    monkeypatch.setattr(jobs, "submit_sweep", fake_submit if fault else never)
    monkeypatch.setattr(jobs, "run_sweep_job", fail if fault else never)
    monkeypatch.setattr(jobs, "runner_loop", never)


def _check(case: Case, code: int, out: str, err: str) -> None:
    lines = err.splitlines()
    assert code == 2, f"exit {code}, stderr: {err[-2000:]}"
    assert len(lines) == 1, f"stderr is not one line: {err[-2000:]}"
    assert lines[0].startswith("nearid: error: "), lines[0]
    assert case.needle in lines[0], f"{case.needle!r} not in {lines[0]!r}"
    assert out == "", f"stdout not empty: {out[:500]}"


def test_the_table_is_large_enough():
    assert len(CASES) >= 80
    assert len({c.name for c in CASES}) == len(CASES)  # names are the test ids


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(case, shared, tmp_path, monkeypatch,
                                                          capsys):
    _, roots = _prepare(case, tmp_path, shared, monkeypatch)
    _stub_training(monkeypatch, case.fault)
    before = [snapshot(r) for r in roots]
    code = entry.main(_argv(case, shared["ids"]))
    out, err = capsys.readouterr()
    _check(case, code, out, err)
    assert [snapshot(r) for r in roots] == before, "the store or the working folder changed"


AS_PROCESSES = ("sweep --seed 10**30", "sweep --workers -1", "export --out empty",
                "report failed sweep", "show with random bytes", "sweep --name 5000 characters",
                "sweep --leaks repeat", "delete running sweep", "sweep with home is a file")


@pytest.mark.parametrize("name", AS_PROCESSES)
def test_bad_input_as_a_real_process(name, shared, tmp_path, monkeypatch):
    case = next(c for c in CASES if c.name == name)
    home, roots = _prepare(case, tmp_path, shared, monkeypatch)
    before = [snapshot(r) for r in roots]
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    res = subprocess.run([sys.executable, "-m", "nearid_core", *_argv(case, shared["ids"])],
                         env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in res.stderr
    _check(case, res.returncode, res.stdout, res.stderr)
    assert [snapshot(r) for r in roots] == before


# ---------------------------------------------------------------- valid inputs, pipes


def test_export_and_report_refuse_to_overwrite_without_force(shared, tmp_path, monkeypatch,
                                                             capsys):
    monkeypatch.setenv("NEARID_HOME", str(shared["homes"]["shared"]))
    done = shared["ids"]["done"]
    for cmd, name in (("export", "s.npz"), ("report", "s.html")):
        path = str(tmp_path / name)
        assert entry.main([cmd, done[:6], "--out", path]) == 0
        first = Path(path).read_bytes()
        assert entry.main([cmd, done, "--out", path]) == 2
        assert Path(path).read_bytes() == first
        assert entry.main([cmd, done, "--out", path, "--force"]) == 0
    capsys.readouterr()
    with np.load(tmp_path / "s.npz", allow_pickle=False) as z:
        assert z["model3_latents"].shape == (102, 2)
    assert "<html>" in (tmp_path / "s.html").read_text()[:200]


def test_show_and_list_say_why_a_sweep_ended(shared, monkeypatch, capsys):
    monkeypatch.setenv("NEARID_HOME", str(shared["homes"]["shared"]))
    ids = shared["ids"]
    assert entry.main(["list"]) == 0
    listing = capsys.readouterr().out
    for status in ("failed", "interrupted"):
        assert entry.main(["show", ids[status]]) == 0
        shown = capsys.readouterr().out
        assert f"{status} ({status} for the test)" in shown and "no results" in shown
        assert f"{ids[status]}  {status}: {status} for the test" in listing


def _closed_pipe_run(argv: list[str], home: Path) -> subprocess.CompletedProcess:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written: every write fails
    env = dict(os.environ, NEARID_HOME=str(home), OMP_NUM_THREADS="1")
    try:
        return subprocess.run([sys.executable, "-m", "nearid_core", *argv], env=env,
                              stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)


@pytest.mark.parametrize(("argv", "codes"), [(["show", "{done}"], (141,)), (["list"], (141,)),
                                             (["--help"], (0, 141))])  # argparse ignores it
def test_a_closed_stdout_pipe_exits_quietly(argv, codes, shared):
    ids = shared["ids"]
    res = _closed_pipe_run([a.replace("{done}", ids["done"]) for a in argv],
                           shared["homes"]["shared"])
    assert res.stderr == "" and res.returncode in codes


def test_show_piped_into_head(shared):
    env = dict(os.environ, NEARID_HOME=str(shared["homes"]["shared"]), OMP_NUM_THREADS="1")
    cmd = (f"set -o pipefail; {sys.executable} -m nearid_core show {shared['ids']['done']} "
           "| head -1")
    res = subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.stdout.startswith(f"sweep {shared['ids']['done']}")
    assert res.stderr == "" and res.returncode in (0, 141)
