import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from nearid_core.runs.store import RunStore

TINY = ["--n", "512", "--d-x", "16", "--width", "16", "--epochs", "2", "--batch-size", "128",
        "--leaks", "0,0.5", "--seeds", "2", "--workers", "1", "--quiet"]


def nearid(*args, home, timeout=300, check_rc=None):
    env = dict(os.environ, NEARID_HOME=str(home), OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-m", "nearid_core", *args], env=env,
                         capture_output=True, text=True, timeout=timeout)
    if check_rc is not None:
        assert res.returncode == check_rc, res.stderr
    return res


@pytest.mark.parametrize(("args", "needle"), [
    (["sweep", "--leaks", "a,b"], "argument --leaks: wants distinct leaks"),
    (["sweep", "--width", "64"], "ModelConfig.width must satisfy d_z <= width <= d_x"),
    (["sweep", "--leaks", "0,1.5"], "1.5 is outside [0, 1]"),
    (["sweep", "--kind", "spiral"], "invalid choice"),
    (["sweep", "--epochs", "many"], "argument --epochs: wants a whole number"),
    (["show", "0123456789ab"], "no run store at"),
    (["export", "0123456789ab", "--out", "x.npz"], "no run store at"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_ends_in_one_line_and_exit_code_2(tmp_path, args, needle):
    res = nearid(*args, home=tmp_path, check_rc=2)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and lines[0].startswith("nearid: error:")
    assert "Traceback" not in res.stderr


def test_help_explains_the_leak_convention(tmp_path):
    out = " ".join(nearid("sweep", "--help", home=tmp_path, check_rc=0).stdout.split())
    assert "negative slope 1 - alpha" in out and "--json" in out and "--report" in out


def test_the_fast_exit_keeps_exit_codes_output_and_a_profilers_results(tmp_path):
    # The command leaves by os._exit once its output is flushed (skipping the interpreter's
    # teardown), except under a profiler, which writes its results after the command.
    res = nearid("sweep", "--leaks", "a,b", home=tmp_path, check_rc=2)
    assert res.stderr.startswith("nearid: error:")
    assert "--leaks" in nearid("sweep", "--help", home=tmp_path, check_rc=0).stdout
    prof = tmp_path / "cli.prof"
    env = dict(os.environ, NEARID_HOME=str(tmp_path))
    run = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m",
                          "nearid_core", "list"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert prof.stat().st_size > 0


def test_sweep_is_reproducible_and_browsable(tmp_path):
    home = tmp_path / "store"
    docs = []
    for k in range(2):
        path = tmp_path / f"s{k}.json"
        res = nearid("sweep", *TINY, "--json", str(path), home=home, check_rc=0)
        assert "Theorem-1 fit" in res.stdout and "rigid" in res.stdout
        docs.append(json.loads(path.read_text()))
    rows = [[{k: v for k, v in r.items() if not k.endswith("_s")}
             for r in d["analysis"]["per_leak"]] for d in docs]
    assert rows[0] == rows[1]  # the same command twice gives the same numbers
    assert len(docs[0]["models"]) == 4 and docs[0]["settings"]["seeds"] == 2
    sweep_id = docs[0]["sweep"]
    assert sweep_id in nearid("list", home=home, check_rc=0).stdout
    assert "Theorem-1 fit" in nearid("show", sweep_id[:6], home=home, check_rc=0).stdout
    out = tmp_path / "e.npz"
    nearid("export", sweep_id, "--out", str(out), home=home, check_rc=0)
    with np.load(out, allow_pickle=False) as z:
        assert z["x_test"].shape == (102, 16) and z["u_test"].shape == (102, 2)
        assert z["model3_latents"].shape == (102, 2) and z["model3_ica_latents"].shape == (102, 2)
        assert json.loads(str(z["config_json"]))["seeds"] == 2
    nearid("delete", sweep_id, home=home, check_rc=0)
    assert sweep_id not in nearid("list", home=home, check_rc=0).stdout


def test_killed_sweep_leaves_a_consistent_store(tmp_path):
    home = tmp_path / "store"
    nearid("sweep", *TINY, "--name", "finished", home=home, check_rc=0)
    env = dict(os.environ, NEARID_HOME=str(home), OMP_NUM_THREADS="1")
    long = list(TINY)
    long[long.index("--epochs") + 1] = "400"  # minutes of training: killed long before
    proc = subprocess.Popen([sys.executable, "-m", "nearid_core", "sweep", *long], env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    store = RunStore(home)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until training is under way
        running = [s for s in store.list_sweeps() if s["status"] == "running"]
        if running and running[0]["progress"] > 0:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the sweep never started")
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker processes
    proc.wait(timeout=30)
    with sqlite3.connect(store.db_path) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    fresh = RunStore(home)
    report = fresh.recover()
    assert running[0]["id"] in report["sweeps"]
    killed = fresh.get_sweep(running[0]["id"])
    assert killed["status"] == "interrupted" and "ended without finishing" in killed["reason"]
    assert all(r["status"] != "done" for r in fresh.list_runs(killed["id"]))
    done = next(s for s in fresh.list_sweeps() if s["name"] == "finished")
    assert done["status"] == "done" and done["analysis"]["per_leak"]
    for r in fresh.list_runs(done["id"]):
        assert fresh.load_arrays(r["id"], "heldout")["latents"].shape == (102, 2)


def _wait_until_training(store: RunStore) -> str:
    deadline = time.time() + 120
    while time.time() < deadline:
        running = [s for s in store.list_sweeps() if s["status"] == "running"]
        if running and running[0]["progress"] > 0:
            return running[0]["id"]
        time.sleep(0.2)
    pytest.fail("the sweep never started")


def test_sigterm_ends_a_sweep_in_one_line_with_exit_code_143(tmp_path):
    home = tmp_path / "store"
    env = dict(os.environ, NEARID_HOME=str(home), OMP_NUM_THREADS="1")
    long = list(TINY)
    long[long.index("--epochs") + 1] = "400"
    proc = subprocess.Popen([sys.executable, "-m", "nearid_core", "sweep", *long], env=env,
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        sweep_id = _wait_until_training(RunStore(home))
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.strip().splitlines() == ["nearid: interrupted by SIGTERM"], err
    sweep = RunStore(home).get_sweep(sweep_id)
    assert sweep["status"] == "interrupted" and "SIGTERM" in sweep["reason"]


def test_a_missing_home_is_created_with_a_note_only_by_commands_that_write(tmp_path,
                                                                           monkeypatch, capsys):
    from nearid_core.__main__ import main

    home = tmp_path / "new" / "store"
    monkeypatch.setenv("NEARID_HOME", str(home))
    assert main(["list"]) == 0 and "no sweeps yet" in capsys.readouterr().out
    assert main(["show", "abc"]) == 2 and "no run store" in capsys.readouterr().err
    assert not home.exists()
    assert main(["runner"]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"nearid: note: created a new run store at {home}"]
    assert out.strip() == "runner: ran 0 sweep(s)" and (home / "nearid.sqlite").is_file()
    assert main(["list"]) == 0
    assert capsys.readouterr().err == ""  # an existing store: no note


def test_cancel_says_whether_the_sweep_was_live(tmp_path, monkeypatch, capsys):
    from nearid_core.__main__ import main
    from nearid_core.config import SweepConfig
    from nearid_core.runs.jobs import submit_sweep

    monkeypatch.setenv("NEARID_HOME", str(tmp_path))
    sweep_id = submit_sweep(RunStore(tmp_path), SweepConfig(leaks=(0.0,), seeds=1))
    assert main(["delete", sweep_id]) == 2
    assert "cancel it first" in capsys.readouterr().err
    assert main(["cancel", sweep_id[:5]]) == 0
    assert "it was queued" in capsys.readouterr().out
    assert main(["cancel", sweep_id]) == 0
    assert "already ended: cancelled" in capsys.readouterr().out
    assert main(["list"]) == 0
    assert f"{sweep_id}  cancelled: cancelled by the user" in capsys.readouterr().out
    assert main(["delete", sweep_id]) == 0
    assert RunStore(tmp_path).list_sweeps() == []
