"""The ``charrnn`` command line: commands, progress line, exit codes."""

import io
import os
import pty
import signal
import subprocess
import sys
import zipfile
from importlib.metadata import entry_points

import numpy as np
import pytest

import sklearn_charrnn
from sklearn_charrnn import (
    CharRNNClassifier,
    CharRNNGenerator,
    GeneratorMixture,
    KneserNeyGenerator,
    cli,
    load_model,
)

FIT_FLAGS = ["--model", "rnn", "--hidden-size", "12", "--max-iter", "3", "--seed", "0"]


@pytest.fixture(scope="module")
def names(dinosaurs):
    return dinosaurs[:80]


@pytest.fixture(scope="module")
def names_file(tmp_path_factory, names):
    path = tmp_path_factory.mktemp("cli") / "names.txt"
    path.write_text("\n".join(names) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def model_file(names_file):
    path = os.path.join(os.path.dirname(names_file), "model.npz")
    assert cli.main(["fit", names_file, "-o", path, *FIT_FLAGS, "--cell", "gru"]) == 0
    return path


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


# ------------------------------------------------------------------ fit


def test_fit_saves_a_model_with_the_given_hyperparameters(capsys, names_file, tmp_path):
    path = str(tmp_path / "m.npz")
    code, out, err = _run(
        capsys,
        "fit",
        names_file,
        "-o",
        path,
        *FIT_FLAGS,
        "--cell",
        "rnn",
        "--no-early-stopping",
        "--clip-norm",
        "none",
        "--learning-rate-init",
        "0.01",
    )
    assert code == 0
    model = CharRNNGenerator.load(path)
    params = model.get_params()
    assert params["hidden_size"] == 12 and params["cell"] == "rnn"
    assert params["early_stopping"] is False and params["clip_norm"] is None
    assert params["learning_rate_init"] == 0.01 and params["random_state"] == 0
    assert model.n_iter_ == 3
    assert len(out) == 1 and out[0].startswith("Trained on 80 names in ")
    assert out[0].endswith(f"(3 epochs); saved {path}.")
    # piped: one plain progress line per epoch, then the convergence warning
    progress = [line for line in err if line.startswith("epoch ")]
    assert [line.split()[1] for line in progress] == ["1/3", "2/3", "3/3"]
    assert all("loss" in line and "left" in line for line in progress)
    assert "charrnn: warning: Maximum iterations (3) reached" in err[-1]
    assert "_epoch_callback" not in vars(model)


def test_fit_is_reproducible_with_a_seed(capsys, names_file, tmp_path, model_file):
    again = str(tmp_path / "again.npz")
    assert cli.main(["fit", names_file, "-o", again, *FIT_FLAGS, "--cell", "gru"]) == 0
    first, second = CharRNNGenerator.load(model_file), CharRNNGenerator.load(again)
    for name, weight in first.weights_.items():
        np.testing.assert_array_equal(weight, second.weights_[name])


def test_fit_quiet_prints_no_progress(capsys, names_file, tmp_path):
    code, _, err = _run(
        capsys, "fit", names_file, "-o", str(tmp_path / "q.npz"), *FIT_FLAGS, "-q"
    )
    assert code == 0
    assert not [line for line in err if line.startswith("epoch")]


def test_fit_reads_stdin_other_encodings_and_a_byte_order_mark(
    capsys, monkeypatch, tmp_path
):
    latin = tmp_path / "latin.txt"
    latin.write_bytes("zoë\nchloé\n".encode("latin-1"))
    path = str(tmp_path / "latin.npz")
    assert (
        cli.main(
            ["fit", str(latin), "-o", path, *FIT_FLAGS, "-q", "--encoding", "latin-1"]
        )
        == 0
    )
    assert set("ëé") <= set(CharRNNGenerator.load(path).vocabulary_)

    data = "\ufeffanna\r\n\n  bob  \r\ncarla\n".encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    path = str(tmp_path / "stdin.npz")
    assert cli.main(["fit", "-", "-o", path, *FIT_FLAGS, "-q"]) == 0
    model = CharRNNGenerator.load(path)
    assert sorted(model.vocabulary_) == sorted(set("annabobcarla"))
    assert model.training_hashes_.size == 3


def test_live_progress_line_on_a_terminal(names_file, tmp_path):
    """On a terminal, fit rewrites one line with \\r and ends it once."""
    primary, secondary = pty.openpty()
    path = str(tmp_path / "tty.npz")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sklearn_charrnn",
            "fit",
            names_file,
            "-o",
            path,
            *FIT_FLAGS,
        ],
        stdout=subprocess.PIPE,
        stderr=secondary,
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=120)
    os.close(primary)
    assert process.returncode == 0
    text = b"".join(chunks).decode()
    progress = text.split("charrnn: warning")[0]
    assert progress.count("\repoch ") == 3  # rewritten once per epoch
    assert "\n" not in progress.rstrip("\r\n")  # one line, ended once


def test_progress_estimates_time_left_from_the_mean_epoch():
    stream = io.StringIO()
    progress = cli.Progress(stream, max_iter=5, live=False)
    progress({"n_iter": 1, "loss": 2.0, "validation_score": -2.1, "time": 1.0})
    progress({"n_iter": 2, "loss": 1.5, "validation_score": None, "time": 3.0})
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("epoch 1/5  loss 2.0000  validation score -2.1000")
    assert lines[0].endswith("up to 4s left")  # 4 epochs x 1.0 s
    assert "validation" not in lines[1]
    assert lines[1].endswith("up to 6s left")  # 3 epochs x mean 2.0 s
    assert cli.format_duration(185) == "3m05s"
    assert cli.format_duration(3720) == "1h02m"

    live = io.StringIO()
    progress = cli.Progress(live, max_iter=2, live=True)
    progress({"n_iter": 1, "loss": 2.0, "validation_score": None, "time": 1.0})
    progress({"n_iter": 2, "loss": 1.0, "validation_score": None, "time": 1.0})
    assert "\n" not in live.getvalue() and live.getvalue().count("\r") == 2
    progress.close()
    assert live.getvalue().endswith("0s left\n")


# ------------------------------------------------------------- generate


def test_sample(capsys, model_file, names):
    code, out, _ = _run(capsys, "sample", model_file, "-n", "7", "--seed", "1")
    assert code == 0 and len(out) == 7 and all(out)
    assert _run(capsys, "sample", model_file, "-n", "7", "--seed", "1")[1] == out
    assert out == CharRNNGenerator.load(model_file).sample(
        7, min_length=1, random_state=np.random.RandomState(1)
    )
    code, out, _ = _run(
        capsys,
        "sample",
        model_file,
        "-n",
        "30",
        "--seed",
        "2",
        "--temperature",
        "0.7",
        "--top-k",
        "5",
        "--top-p",
        "0.9",
        "--min-length",
        "4",
        "--max-length",
        "8",
    )
    assert code == 0 and all(4 <= len(name) <= 8 for name in out)


def test_sample_exclude_training(capsys, model_file, names):
    code, out, _ = _run(
        capsys,
        "sample",
        model_file,
        "-n",
        "20",
        "--exclude-training",
        "--temperature",
        "0.5",
        "--seed",
        "0",
    )
    assert code == 0 and len(out) == 20
    assert not set(out) & set(names)


def test_complete(capsys, model_file):
    code, out, _ = _run(
        capsys, "complete", model_file, "ab", "ty", "-n", "3", "--seed", "0"
    )
    assert code == 0 and len(out) == 6
    assert all(c.startswith("ab") for c in out[:3])
    assert all(c.startswith("ty") for c in out[3:])
    code, out, _ = _run(capsys, "complete", model_file, "ste")
    assert code == 0 and len(out) == 1 and out[0].startswith("ste")


def test_complete_most_likely_prints_log_likelihoods(capsys, model_file):
    code, out, _ = _run(
        capsys, "complete", model_file, "br", "-n", "4", "--most-likely"
    )
    assert code == 0 and len(out) == 4
    rows = [line.split("\t") for line in out]
    model = CharRNNGenerator.load(model_file)
    np.testing.assert_allclose(
        [float(ll) for _, ll in rows],
        model.score_samples([name for name, _ in rows]),
        atol=1e-4,
    )


def test_names_holding_line_breaks_or_tabs_stay_on_one_line(capsys, tmp_path):
    """A model fitted in Python may write them; printed as they are, one
    name would be two lines, or shift the tab-separated columns. Once escaped,
    a backslash is escaped too: 'a\\nb' and 'a' newline 'b' stay apart."""
    X = ["a\nb", "a\tb", "a\rb", "a\\nb"] * 5
    path = str(tmp_path / "breaks.npz")
    KneserNeyGenerator(order=2).fit(X).save(path)
    code, out, err = _run(capsys, "sample", path, "-n", "40", "--seed", "0")
    assert code == 0 and len(out) == 40
    assert {"a\\nb", "a\tb", "a\\rb", "a\\\\nb"} <= set(out)  # a tab is fine here
    assert len(err) == 1
    assert "line breaks: every name is printed with backslash escapes" in err[0]
    code, out, err = _run(capsys, "complete", path, "a", "-n", "4", "--most-likely")
    assert code == 0 and len(out) == 4
    assert all(len(line.split("\t")) == 2 for line in out)
    assert "(\\n, \\r, \\t, and \\\\ for a backslash)" in err[0]
    names = tmp_path / "tabbed.txt"
    names.write_text("a\tb\nab\n")
    code, out, err = _run(capsys, "score", path, str(names))
    assert code == 0 and [line.split("\t")[0] for line in out] == ["a\\tb", "ab"]
    plain = KneserNeyGenerator(order=2).fit(["ab", "a\\b"] * 3)
    plain.save(path)
    code, out, err = _run(capsys, "sample", path, "-n", "20", "--seed", "0")
    assert "a\\b" in out and not err  # nothing to escape: printed as it is


def test_score(capsys, model_file, names_file, names):
    code, out, err = _run(capsys, "score", model_file, names_file)
    assert code == 0 and len(out) == len(names)
    rows = [line.split("\t") for line in out]
    assert [name for name, _ in rows] == names
    model = CharRNNGenerator.load(model_file)
    np.testing.assert_allclose(
        [float(ll) for _, ll in rows], model.score_samples(names), atol=1e-4
    )
    assert err[-1].startswith(f"{len(names)} names: mean log-likelihood ")
    assert f"{model.score(names):.4f}" in err[-1]


# --------------------------------------------------------------- errors


def _user_error(capsys, *argv):
    code, out, err = _run(capsys, *argv)
    assert code == 1
    assert len(err) == 1 and err[0].startswith("charrnn: error: ")
    return err[0]


def test_user_errors_exit_1_with_one_line(capsys, tmp_path, model_file, names_file):
    out = str(tmp_path / "out.npz")
    missing = str(tmp_path / "missing.txt")
    assert "no such file" in _user_error(capsys, "fit", missing, "-o", out)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n\n")
    assert "holds no names" in _user_error(capsys, "fit", str(empty), "-o", out)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"anna\nbob\n\xff\xfecarla\n")
    message = _user_error(capsys, "fit", str(binary), "-o", out)
    assert "line 3 is not valid utf-8 (byte 0xff)" in message
    assert "is a directory" in _user_error(capsys, "fit", str(tmp_path), "-o", out)
    assert "unknown encoding" in _user_error(
        capsys, "fit", names_file, "-o", out, "--encoding", "klingon"
    )
    assert not os.path.exists(out)

    assert "no such model file" in _user_error(capsys, "sample", missing)
    message = _user_error(capsys, "sample", names_file)
    assert names_file in message and "charrnn fit" in message
    assert "no such file" in _user_error(capsys, "score", model_file, missing)
    assert "cannot write" in _user_error(
        capsys,
        "fit",
        names_file,
        "-o",
        str(tmp_path / "no" / "dir.npz"),
        *FIT_FLAGS,
        "-q",
    )
    message = _user_error(capsys, "fit", names_file, "-o", out, "--hidden-size", "0")
    assert "--hidden-size must be an int" in message


@pytest.mark.parametrize(
    "argv",
    [
        ["nonsense"],
        ["sample", "model.npz", "--temperature", "0"],
        ["sample", "model.npz", "--top-p", "1.5"],
        ["sample", "model.npz", "-n", "0"],
        ["fit", "names.txt"],  # no -o
        ["fit", "names.txt", "-o", "m.npz", "--cell", "transformer"],
        ["complete", "model.npz"],  # no prefix
        ["complete", "model.npz", "ab", "--most-likely", "--temperature", "0.5"],
    ],
)
def test_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_python_dash_m_and_console_script(model_file):
    (script,) = [
        e for e in entry_points(group="console_scripts") if e.name == "charrnn"
    ]
    assert script.value == "sklearn_charrnn.cli:main"
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_charrnn", "sample", model_file, "-n", "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_charrnn", "sample", "missing.npz"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr == "charrnn: error: missing.npz: no such model file\n"


@pytest.mark.parametrize(
    "argv, max_iter, prefix",
    [
        ([], 60, "tyra"),
        (["--max-iter", "3", "--prefix", "ab"], 3, "ab"),
        (["-q", "--seed", "4"], 60, "tyra"),
        (["demo", "--max-iter", "2"], 2, "tyra"),
    ],
)
def test_options_without_a_command_go_to_the_demo(monkeypatch, argv, max_iter, prefix):
    seen = []
    monkeypatch.setattr(cli, "demo", lambda args: seen.append(args) or 0)
    assert cli.main(argv) == 0
    (args,) = seen
    assert (args.command, args.max_iter, args.prefix) == ("demo", max_iter, prefix)


# ------------------------------------------------- a shell user's edges


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"charrnn {sklearn_charrnn.__version__}\n"


@pytest.mark.parametrize("command", [["sample", "m.npz"], ["fit", "names.txt"]])
def test_a_bad_flag_after_a_command_shows_that_commands_usage(capsys, command):
    with pytest.raises(SystemExit) as info:
        cli.main([*command, "-o", "m.npz", "--bogus"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: charrnn {command[0]} ")
    assert "unrecognized arguments: " in err and "--bogus" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["sample", "m.npz", "-n", "abc"],
            "-n/--n-samples: expected a positive integer, got 'abc'",
        ),
        (["sample", "m.npz", "-n", "0"], "expected a positive integer, got '0'"),
        (["sample", "m.npz", "--temperature", "nan"], "expected a number > 0"),
        (
            ["sample", "m.npz", "--seed", "1.5"],
            "expected an integer from 0 to 4294967295, got '1.5'",
        ),
        (["fit", "n.txt", "-o", "m", "--dropout", "x"], "expected a number, got 'x'"),
        (["fit", "n.txt", "-o", "m", "--clip-norm", "-1"], "or 'none', got '-1'"),
        (
            ["sample", "m.npz", "--max-length", str(10**15)],
            f"expected a positive integer up to {cli.MAX_LENGTH}",
        ),
    ],
)
def test_bad_values_are_explained_in_words(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "invalid" not in err and "_int" not in err and "_float" not in err


def test_help_shows_what_each_option_is(capsys):
    with pytest.raises(SystemExit):
        cli.main(["fit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in [
        "--dropout P",
        "--learning-rate-init RATE",
        "--beta-2 DECAY",
        "--epsilon EPS",
        "--validation-fraction FRACTION",
        "--tol NATS",
        "--weight-averaging DECAY",
        "--clip-norm NORM",
        "--hidden-size N",
    ]:
        assert option in text
    assert "--no-optimizer-state" in text
    with pytest.raises(SystemExit):
        cli.main(["sample", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--temperature T" in text and "--top-p P" in text


def test_cell_choices_come_from_the_table_of_cells(capsys, monkeypatch):
    from sklearn_charrnn.nn import cells

    with pytest.raises(SystemExit):
        cli.main(["fit", "--help"])
    assert "--cell {" + ",".join(cells.CELLS) + "}" in capsys.readouterr().out
    monkeypatch.setitem(cells.CELLS, "toy", cells.CELLS["rnn"])
    args = cli.build_parser().parse_args(["fit", "n.txt", "-o", "m", "--cell", "toy"])
    assert args.cell == "toy"


def test_weight_averaging_and_no_optimizer_state(capsys, names_file, tmp_path):
    full, small = str(tmp_path / "full.npz"), str(tmp_path / "small.npz")
    flags = [*FIT_FLAGS, "-q", "--weight-averaging", "0"]
    assert cli.main(["fit", names_file, "-o", full, *flags]) == 0
    assert (
        cli.main(["fit", names_file, "-o", small, *flags, "--no-optimizer-state"]) == 0
    )
    model = CharRNNGenerator.load(small)
    assert model.weight_averaging == 0
    assert model._optimizer.t == 0 and model.t_ > 0
    assert os.path.getsize(small) < os.path.getsize(full) / 2
    np.testing.assert_array_equal(
        model.weights_["W_y"], CharRNNGenerator.load(full).weights_["W_y"]
    )


def test_plurals(capsys, tmp_path):
    one = tmp_path / "one.txt"
    one.write_text("anna\n")
    path = str(tmp_path / "one.npz")
    code, out, _ = _run(
        capsys,
        "fit",
        str(one),
        "-o",
        path,
        "--model",
        "rnn",
        "--max-iter",
        "1",
        "--hidden-size",
        "4",
        "--no-early-stopping",
        "-q",
    )
    assert code == 0
    assert out[0].startswith("Trained on 1 name in ")
    assert out[0].endswith(f"(1 epoch); saved {path}.")


def test_errors_name_the_flag_to_use(capsys, tmp_path):
    one = tmp_path / "one.txt"
    one.write_text("anna\n")
    message = _user_error(capsys, "fit", str(one), "-o", str(tmp_path / "m.npz"))
    assert "set --no-early-stopping" in message
    assert "early_stopping=False" not in message
    message = _user_error(
        capsys, "fit", str(one), "-o", str(tmp_path / "m.npz"), "--epsilon", "1e-300"
    )
    assert "--epsilon" in message and "--dtype float64" in message


def test_an_unwritable_output_fails_before_training(capsys, tmp_path, monkeypatch):
    def never(*args):
        raise AssertionError("read the names before checking the output")

    monkeypatch.setattr(cli, "read_names", never)
    message = _user_error(capsys, "fit", "names.txt", "-o", str(tmp_path))
    assert "is a directory" in message
    for folder in ("models" + os.sep, os.path.join("models", ".")):
        folder = os.path.join(str(tmp_path), folder)
        message = _user_error(capsys, "fit", "names.txt", "-o", folder)
        assert "is a directory" in message
        assert not os.path.exists(os.path.join(str(tmp_path), "models"))
    assert "cannot write '': expected a file name" in _user_error(
        capsys, "fit", "names.txt", "-o", ""
    )
    real_open = os.open

    def denied(path, flags, mode=0o777):
        if os.path.dirname(path) == str(tmp_path) and flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", denied)
    message = _user_error(capsys, "fit", "names.txt", "-o", str(tmp_path / "m.npz"))
    assert f"cannot write {tmp_path / 'm.npz'}: Permission denied" in message


def test_fit_never_writes_over_names(capsys, tmp_path, names_file, model_file):
    """-o naming the names file (or a link to it), a text file, or the names
    file and -o swapped: refused before training, every file as it was."""
    names = tmp_path / "names.txt"
    names.write_text(open(names_file).read())
    link = tmp_path / "link.npz"
    link.symlink_to(names)
    before = names.read_bytes()
    message = _user_error(capsys, "fit", str(names), "-o", str(names), *FIT_FLAGS)
    assert "it is the names file being read" in message
    message = _user_error(capsys, "fit", str(names), "-o", str(link), *FIT_FLAGS)
    assert "it is the names file being read" in message
    other = tmp_path / "other.txt"
    other.write_text("anna\nbob\n")
    message = _user_error(capsys, "fit", str(names), "-o", str(other), *FIT_FLAGS)
    assert "exists and is not a model file" in message
    message = _user_error(
        capsys, "fit", model_file, "-o", str(names), "--encoding", "latin-1"
    )
    assert "exists and is not a model file (the names file and -o swapped?)" in message
    new = str(tmp_path / "new.npz")
    message = _user_error(capsys, "fit", model_file, "-o", new, "--encoding", "latin-1")
    assert "is a zip archive (a model file?)" in message and not os.path.exists(new)
    assert names.read_bytes() == before and other.read_text() == "anna\nbob\n"
    document = tmp_path / "report.docx"  # a zip archive, but not a model file
    with zipfile.ZipFile(document, "w") as archive:
        archive.writestr("word/document.xml", "<doc>thesis</doc>")
    kept = document.read_bytes()
    message = _user_error(capsys, "fit", str(names), "-o", str(document), *FIT_FLAGS)
    assert "exists and is not a model file" in message
    assert document.read_bytes() == kept
    out = tmp_path / "out.npz"  # an existing model file is replaced
    out.write_bytes(open(model_file, "rb").read())
    code, _, _ = _run(capsys, "fit", str(names), "-o", str(out), *FIT_FLAGS, "-q")
    assert code == 0 and out.read_bytes() != open(model_file, "rb").read()


def test_fit_refuses_a_pipe_or_a_device_as_output_without_waiting(tmp_path):
    fifo = tmp_path / "out.npz"
    os.mkfifo(fifo)
    for output in (str(fifo), "/dev/null"):
        result = subprocess.run(
            [sys.executable, "-m", "sklearn_charrnn", "fit", "names.txt", "-o", output],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1
        assert f"cannot write {output}: not a regular file" in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_sample_refuses_pipes_and_devices_without_waiting(tmp_path, kind):
    if kind == "fifo":
        path = str(tmp_path / "model.npz")
        os.mkfifo(path)
    else:
        path = "/dev/zero"
    result = subprocess.run(
        [sys.executable, "-m", "sklearn_charrnn", "sample", path],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "not a regular file" in result.stderr


def test_names_are_read_up_to_a_bound(capsys, model_file, monkeypatch):
    monkeypatch.setattr(cli, "MAX_NAMES_BYTES", 2**20)
    message = _user_error(capsys, "score", model_file, "/dev/zero")
    assert "/dev/zero holds more than 1 MiB" in message
    data = b"anna\n" * 2**19
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    message = _user_error(capsys, "score", model_file, "-")
    assert "standard input holds more than 1 MiB" in message


def test_out_of_memory_is_an_error_not_a_traceback(capsys, model_file, monkeypatch):
    def exhausted(self, *args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(CharRNNGenerator, "sample", exhausted)
    message = _user_error(capsys, "sample", model_file, "-n", "1000000000")
    assert "out of memory" in message and "-n" in message


def test_ctrl_c_during_fit_saves_and_exits_130(names_file, tmp_path):
    path = tmp_path / "interrupted.npz"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sklearn_charrnn",
            "fit",
            names_file,
            "-o",
            str(path),
            "--model",
            "rnn",
            "--hidden-size",
            "8",
            "--max-iter",
            "100000",
            "--no-early-stopping",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in process.stderr:
        if line.startswith("epoch 2/"):
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert f"charrnn: interrupted; saved the model fitted so far to {path}" in err
    assert "saved" in out
    model = CharRNNGenerator.load(path)
    assert 2 <= model.n_iter_ < 100000


# ------------------------------------------------------- the model kinds

MIXTURE_FLAGS = ["--hidden-size", "8", "--max-iter", "2", "--seed", "0"]


@pytest.fixture(scope="module")
def mixture_file(names_file):
    path = os.path.join(os.path.dirname(names_file), "mixture.npz")
    assert cli.main(["fit", names_file, "-o", path, *MIXTURE_FLAGS, "-q"]) == 0
    return path


@pytest.fixture(scope="module")
def ngram_file(names_file):
    path = os.path.join(os.path.dirname(names_file), "ngram.npz")
    assert cli.main(["fit", names_file, "-o", path, "--model", "ngram"]) == 0
    return path


def test_fit_trains_a_mixture_by_default(capsys, names_file, tmp_path):
    path = str(tmp_path / "m.npz")
    code, out, err = _run(
        capsys, "fit", names_file, "-o", path, *MIXTURE_FLAGS, "--cell", "gru"
    )
    assert code == 0
    model = load_model(path)
    assert type(model) is GeneratorMixture and model.random_state == 0
    rnn, ngram = model.named_estimators_["rnn"], model.named_estimators_["ngram"]
    assert type(rnn) is CharRNNGenerator and type(ngram) is KneserNeyGenerator
    assert (rnn.hidden_size, rnn.cell, rnn.max_iter) == (8, "gru", 2)
    # the mixture seeds its components from --seed
    assert isinstance(rnn.random_state, int) and isinstance(ngram.random_state, int)
    weights = ", ".join(
        f"{name} {w:.2f}"
        for name, w in zip(["rnn", "ngram"], model.weights_, strict=True)
    )
    assert out == [
        f"Trained on 80 names in {out[0].split(' in ')[1].split('s ')[0]}s "
        f"(rnn: 2 epochs, held-out score {rnn.best_validation_score_:.3f} "
        f"nats/token; ngram: order {ngram.order_}; weights {weights}); saved {path}."
    ]
    # the rnn is fitted twice: for the weights, then on all the names
    progress = [line for line in err if "epoch " in line]
    assert [line.split(":")[0] for line in progress] == ["rnn fit 1/2"] * 2 + [
        "rnn fit 2/2"
    ] * 2
    assert all(line.split(": ")[1].startswith("epoch ") for line in progress)
    assert "_epoch_callback" not in vars(CharRNNGenerator) or (
        CharRNNGenerator._epoch_callback is None
    )


def test_fit_of_a_mixture_is_reproducible_with_a_seed(
    capsys, names_file, tmp_path, mixture_file, names
):
    again = str(tmp_path / "again.npz")
    assert cli.main(["fit", names_file, "-o", again, *MIXTURE_FLAGS, "-q"]) == 0
    first, second = load_model(mixture_file), load_model(again)
    np.testing.assert_array_equal(first.weights_, second.weights_)
    np.testing.assert_array_equal(
        first.score_samples(names), second.score_samples(names)
    )


def test_fit_ngram_alone(capsys, names_file, tmp_path):
    path = str(tmp_path / "k.npz")
    code, out, err = _run(
        capsys, "fit", names_file, "-o", path, "--model", "ngram", "--seed", "3"
    )
    assert code == 0 and not [line for line in err if "epoch" in line]
    model = load_model(path)
    assert type(model) is KneserNeyGenerator and model.random_state == 3
    assert out[0].endswith(f"(order {model.order_}); saved {path}.")


@pytest.mark.parametrize(
    "flags", [["--hidden-size", "8"], ["--no-optimizer-state"], ["--no-shuffle"]]
)
def test_rnn_flags_with_the_ngram_are_usage_errors(capsys, names_file, flags):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["fit", names_file, "-o", "m.npz", "--model", "ngram", *flags])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"{flags[0]} set the rnn's training; --model ngram has no rnn" in err


def test_mixture_without_optimizer_state(capsys, names_file, tmp_path, mixture_file):
    small = str(tmp_path / "small.npz")
    flags = [*MIXTURE_FLAGS, "-q", "--no-optimizer-state"]
    assert cli.main(["fit", names_file, "-o", small, *flags]) == 0
    rnn = load_model(small).named_estimators_["rnn"]
    assert rnn._optimizer.t == 0 and rnn.t_ > 0
    assert os.path.getsize(small) < os.path.getsize(mixture_file)


@pytest.mark.parametrize("kind", ["mixture", "ngram"])
def test_sample_complete_and_score_load_any_kind(
    capsys, mixture_file, ngram_file, names_file, names, kind
):
    path = mixture_file if kind == "mixture" else ngram_file
    model = load_model(path)
    code, out, _ = _run(capsys, "sample", path, "-n", "5", "--seed", "1")
    assert code == 0
    assert out == model.sample(5, min_length=1, random_state=np.random.RandomState(1))
    code, out, _ = _run(capsys, "complete", path, "br", "-n", "3", "--most-likely")
    rows = [line.split("\t") for line in out]
    assert code == 0 and len(rows) == 3 and all(n.startswith("br") for n, _ in rows)
    np.testing.assert_allclose(
        [float(ll) for _, ll in rows],
        model.score_samples([name for name, _ in rows]),
        atol=1e-4,
    )
    code, out, err = _run(capsys, "score", path, names_file)
    assert code == 0
    np.testing.assert_allclose(
        [float(line.split("\t")[1]) for line in out],
        model.score_samples(names),
        atol=1e-4,
    )
    assert f"{model.score(names):.4f}" in err[-1]


def test_ctrl_c_during_a_mixtures_fit_finishes_it_saves_and_exits_130(
    names_file, tmp_path
):
    path = tmp_path / "interrupted.npz"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sklearn_charrnn",
            "fit",
            names_file,
            "-o",
            str(path),
            "--hidden-size",
            "8",
            "--max-iter",
            "100000",
            "--no-early-stopping",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in process.stderr:
        lines.append(line)
        if line.startswith("rnn fit 1/2: epoch 2/"):
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert f"charrnn: interrupted; saved the model fitted so far to {path}" in err
    # the last rnn fit stopped after its first epoch; the n-gram fitted whole
    assert "rnn fit 2/2: epoch 1/" in err and "rnn fit 2/2: epoch 2/" not in err
    assert err.count("Training interrupted by user") == 1
    model = load_model(path)
    assert type(model) is GeneratorMixture and "saved" in out
    assert model.named_estimators_["rnn"].n_iter_ == 1
    assert model.named_estimators_["ngram"].order_ >= 2
    assert np.isclose(model.weights_.sum(), 1)


# ---------------------------------------------------------------- labels


@pytest.fixture(scope="module")
def labelled_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("labels") / "names.tsv"
    rows = [("tanaka", "ja"), ("suzuki", "ja"), ("sato", "ja"), ("rossi", "it")]
    rows += [("bianchi", "it"), ("ferrari", "it"), ("watanabe", "ja")]
    path.write_text("".join(f"{n}\t{label}\n" for n, label in rows), "utf-8")
    return str(path)


def test_labels_through_fit_sample_complete_and_score(capsys, labelled_file, tmp_path):
    path = str(tmp_path / "labelled.npz")
    flags = ["--model", "rnn", "--hidden-size", "8", "--max-iter", "2", "--seed", "0"]
    code, out, _ = _run(
        capsys, "fit", labelled_file, "--label-column", "2", "-o", path, *flags, "-q"
    )
    assert code == 0
    model = load_model(path)
    assert isinstance(model, CharRNNGenerator)
    assert list(model.classes_) == ["it", "ja"]
    argv = ["sample", path, "--label", "ja", "-n", "4", "--seed", "1"]
    code, out, _ = _run(capsys, *argv)
    options = cli._generation_options(cli.build_parser().parse_args(argv))
    assert code == 0 and out == model.sample(4, y="ja", **options)
    code, out, _ = _run(capsys, "complete", path, "ta", "--label", "it", "--seed", "1")
    assert code == 0 and out[0].startswith("ta")
    code, out, _ = _run(capsys, "score", path, labelled_file, "--label-column", "2")
    expected = model.score_samples(["tanaka", "suzuki"], ["ja", "ja"])
    assert [float(line.split("\t")[1]) for line in out[:2]] == pytest.approx(
        expected, abs=1e-4
    )


def test_score_under_one_label(capsys, labelled_file, tmp_path):
    path = str(tmp_path / "labelled.npz")
    rows = ["fit", labelled_file, "--label-column", "2", "-o", path, "-q"]
    assert _run(capsys, *rows, "--model", "ngram")[0] == 0
    model = load_model(path)
    names = ["tanaka", "rossi", "ferrara"]
    plain = tmp_path / "names.txt"
    plain.write_text("\n".join(names), "utf-8")
    code, out, _ = _run(capsys, "score", path, str(plain), "--label", "it")
    expected = model.score_samples(names, ["it"] * len(names))
    assert code == 0 and [line.split("\t")[0] for line in out] == names
    assert [float(line.split("\t")[1]) for line in out] == pytest.approx(
        expected, abs=1e-4
    )
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["score", path, labelled_file, "--label", "it", "--label-column", "2"])
    assert exit_info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_a_classifier_file_samples_completes_and_scores_with_its_generator(
    capsys, labelled_file, tmp_path
):
    names = ["tanaka", "suzuki", "sato", "rossi", "bianchi", "ferrari"] * 3
    labels = ["ja", "ja", "ja", "it", "it", "it"] * 3
    clf = CharRNNClassifier(hidden_size=8, max_iter=2, random_state=0)
    path = str(tmp_path / "classifier.npz")
    with pytest.warns(UserWarning):  # ConvergenceWarning at max_iter=2
        clf.fit(names, labels).save(path)
    argv = ["sample", path, "--label", "ja", "-n", "3", "--seed", "1"]
    code, out, _ = _run(capsys, *argv)
    assert code == 0 and out == clf.generator_.sample(3, y="ja", random_state=1)
    code, out, _ = _run(capsys, "complete", path, "ros", "--label", "it", "--seed", "1")
    assert code == 0 and out[0].startswith("ros")
    code, out, _ = _run(capsys, "score", path, labelled_file, "--label-column", "2")
    expected = clf.generator_.score_samples(["tanaka", "suzuki"], ["ja", "ja"])
    assert code == 0
    assert [float(line.split("\t")[1]) for line in out[:2]] == pytest.approx(
        expected, abs=1e-4
    )


def test_tabs_without_label_column_warn(capsys, labelled_file, tmp_path):
    path = str(tmp_path / "tabs.npz")
    code, _, err = _run(capsys, "fit", labelled_file, "-o", path, "--model", "ngram")
    assert code == 0
    assert "holds tabs ('tanaka\\tja')" in err[0] and "--label-column N" in err[0]
    code, _, err = _run(capsys, "score", path, labelled_file)
    assert code == 0 and "holds tabs" in err[0] and "instead of" not in err[0]
    code, _, err = _run(capsys, "score", path, labelled_file, "--label-column", "2")
    assert code == 1 and not any("holds tabs" in line for line in err)
    labelled = str(tmp_path / "labelled.npz")
    fit = ["--label-column", "2", "-o", labelled, "--model", "ngram"]
    assert _run(capsys, "fit", labelled_file, *fit)[0] == 0
    code, _, err = _run(capsys, "score", labelled, labelled_file, "--label", "ja")
    assert code == 0 and "(N the labels' column) instead of --label" in err[0]


def test_a_header_line_gets_a_warning(capsys, labelled_file, tmp_path):
    """On the line it is on; not when no label is on several lines."""
    with_header = tmp_path / "header.tsv"
    with open(labelled_file, encoding="utf-8") as rows:
        with_header.write_text("\nname\tlanguage\n" + rows.read(), "utf-8")
    once_each = tmp_path / "once.tsv"
    once_each.write_text("anna\tf\nbob\tm\n", "utf-8")
    path = str(tmp_path / "header.npz")
    fit = ["--label-column", "2", "-o", path, "--model", "ngram"]
    code, _, err = _run(capsys, "fit", str(with_header), *fit)
    assert code == 0 and "the label of line 2, 'language', is on no other" in err[0]
    assert "if line 2 ('name') is a header, remove it" in err[0]
    for quiet in (labelled_file, str(once_each)):
        code, _, err = _run(capsys, "fit", quiet, *fit)
        assert code == 0 and not err


def test_label_errors_name_the_problem(capsys, labelled_file, tmp_path):
    path = str(tmp_path / "x.npz")
    code, _, err = _run(capsys, "fit", labelled_file, "--label-column", "3", "-o", path)
    assert code != 0 and "line 1" in err[-1] and "--label-column 3" in err[-1]
    with pytest.raises(SystemExit):
        cli.main(["fit", labelled_file, "--label-column", "1", "-o", path])


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_closed_or_full_standard_stream_is_one_line(model_file, tmp_path):
    command = [sys.executable, "-m", "sklearn_charrnn.cli"]
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [*command, "sample", model_file, "-n", "2"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert done.returncode == 1
    assert done.stderr == (
        "charrnn: error: cannot write the output: No space left on device\n"
    )
    done = subprocess.run(
        [*command, "fit", "-", "-o", str(tmp_path / "m.npz"), "--model", "ngram"],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.close(0),
    )
    assert done.returncode == 1
    assert "standard input is closed" in done.stderr
    assert "Traceback" not in done.stderr
    # standard output closed: the names would go nowhere, and exit 0 said
    # they had gone (the demo says so before it trains)
    for argv in (["sample", model_file, "-n", "2"], ["demo"]):
        done = subprocess.run(
            [*command, *argv],
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: os.close(1),
            timeout=120,
        )
        assert done.returncode == 1
        assert done.stderr == (
            "charrnn: error: standard output is closed: nowhere to write to\n"
        )


def test_a_fit_stopped_before_its_first_epoch_shows_no_score():
    from types import SimpleNamespace

    stopped = SimpleNamespace(n_iter_=0, best_validation_score_=-np.inf)
    assert cli._details(stopped) == "0 epochs"
    done = SimpleNamespace(n_iter_=2, best_validation_score_=-1.5)
    assert cli._details(done) == "2 epochs, held-out score -1.500 nats/token"


def test_a_fit_that_diverges_says_nothing_was_saved(
    capsys, names_file, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    flags = [*FIT_FLAGS, "--learning-rate-init", "1e300"]
    for path in ("m.npz", "dropout-0.3.npz", "tol"):  # as typed, never a flag
        message = _user_error(capsys, "fit", names_file, "-o", path, *flags)
        assert "Training diverged" in message and "--learning-rate-init" in message
        assert message.endswith(f"Nothing was saved to {path}.")
        assert not os.path.exists(path)


def test_demo_checks_its_prefix_before_training(capsys, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("trained before checking --prefix")

    monkeypatch.setattr(cli, "_fit", never)
    message = _user_error(capsys, "demo", "--prefix", "Tyra")
    assert "--prefix 'Tyra' holds 'T', which no dinosaur name holds" in message


def test_label_errors_count_blank_lines(capsys, tmp_path):
    gappy = tmp_path / "gap.tsv"
    gappy.write_text("anna\tF\n\n\nbob\tM\n\ncarl\n\t\nemma\t\n", "utf-8")
    path = str(tmp_path / "g.npz")
    code, _, err = _run(
        capsys, "fit", str(gappy), "--label-column", "2", "-o", path, "--model", "ngram"
    )
    assert code == 1 and "line 6 ('carl') has 1 tab-separated column" in err[-1]
    gappy.write_text("anna\tF\n\n\t\nemma\t\n", "utf-8")
    code, _, err = _run(
        capsys, "fit", str(gappy), "--label-column", "2", "-o", path, "--model", "ngram"
    )
    assert code == 1 and "line 4 ('emma\\t') has an empty label" in err[-1]


def test_lines_are_the_files_own(capsys, tmp_path):
    """A form feed, NEL or U+2028 inside a line does not end it: line
    numbers are an editor's, and a name holding one stays one name."""
    tsv = tmp_path / "odd.tsv"
    tsv.write_text("anna\tF\nbo\u2028b\tM\n\x85\ncarl\n", "utf-8")
    message = _user_error(
        capsys,
        "fit",
        str(tsv),
        "--label-column",
        "2",
        "-o",
        str(tmp_path / "m.npz"),
        "--model",
        "ngram",
    )
    assert "line 4 ('carl') has 1 tab-separated column" in message
    names = tmp_path / "names.txt"
    names.write_text("anna\r\nbo\x0cb\rcarl\n\n", "utf-8")
    assert cli.read_names(str(names)) == ["anna", "bo\x0cb", "carl"]


def test_paths_in_errors_are_not_read_as_parameters(capsys, tmp_path):
    """Error messages name flags for parameters, but a path that holds a
    parameter's name stays as the user typed it."""
    for command in (["sample", "greedy.npz"], ["sample", "greedy"]):
        message = _user_error(capsys, *command)
        assert message == f"charrnn: error: {command[1]}: no such model file"
    folder = os.path.join(str(tmp_path), "dropout", "cell.txt")
    message = _user_error(capsys, "fit", folder, "-o", str(tmp_path / "m.npz"))
    assert message == f"charrnn: error: {folder}: no such file"
    message = _user_error(
        capsys, "fit", "names.txt", "-o", os.path.join(str(tmp_path), "tol", "m.npz")
    )
    assert os.path.join(str(tmp_path), "tol", "m.npz") in message
    assert "--tol" not in message
    # the estimators' messages, which are rewritten, may hold paths too
    flags = {"dropout": "--dropout", "greedy": "--greedy"}
    assert (
        cli.for_the_shell(
            "Cannot save models/dropout/m.npz or greedy.npz: set dropout=0.5 "
            "or 'greedy'.",
            flags,
        )
        == "Cannot save models/dropout/m.npz or greedy.npz: set --dropout 0.5 "
        "or --greedy."
    )


def test_label_and_seed_errors_speak_of_flags(capsys, labelled_file, tmp_path):
    labelled = str(tmp_path / "labelled.npz")
    plain = str(tmp_path / "plain.npz")
    fit = ["--model", "ngram", "-q"]
    _run(capsys, "fit", labelled_file, "--label-column", "2", "-o", labelled, *fit)
    _run(capsys, "fit", labelled_file, "-o", plain, *fit)
    message = _user_error(capsys, "sample", labelled)
    assert "trained with labels ['it', 'ja']: pass --label" in message
    message = _user_error(capsys, "sample", labelled, "--label", "fr")
    assert "--label 'fr' is not a label of" in message
    message = _user_error(capsys, "complete", plain, "ta", "--label", "ja")
    assert "trained without labels: drop --label" in message
    message = _user_error(capsys, "score", plain, labelled_file, "--label-column", "2")
    assert "trained without labels: drop --label-column" in message
    other = tmp_path / "other.tsv"
    other.write_text("anna\tit\ntaro\tfr\n")
    message = _user_error(capsys, "score", labelled, str(other), "--label-column", "2")
    assert "holds the label 'fr', which is not a label of" in message
    message = _user_error(capsys, "complete", plain, "tan", "--max-length", "2")
    assert "pass --max-length >= 3, or leave it out." in message
    for command in (["sample", plain], ["fit", labelled_file, "-o", plain]):
        with pytest.raises(SystemExit):
            cli.main([*command, "--seed", "-1"])
        assert (
            "--seed: expected an integer from 0 to 4294967295"
            in capsys.readouterr().err
        )


def test_an_empty_name_or_label_is_named(capsys, tmp_path):
    out = str(tmp_path / "m.npz")
    for text, what in [
        ("anna\tf\nbob\t\n", "label (column 2)"),
        ("anna\tf\n\tm\n", "name (column 1)"),
    ]:
        path = tmp_path / "labels.tsv"
        path.write_text(text)
        message = _user_error(
            capsys, "fit", str(path), "--label-column", "2", "-o", out
        )
        assert f"line 2 ({text.splitlines()[1]!r}) has an empty {what}" in message


def test_label_as_text_matches_int_labels(capsys, tmp_path):
    path = str(tmp_path / "ints.npz")
    KneserNeyGenerator().fit(["anna", "bob", "bella", "carl"], [0, 1, 0, 1]).save(path)
    code, out, _ = _run(
        capsys, "sample", path, "--label", "1", "-n", "3", "--seed", "0"
    )
    expected = load_model(path).sample(3, y=1, random_state=0, min_length=1)
    assert code == 0 and out == expected
    names = tmp_path / "ints.tsv"
    names.write_text("anna\t0\ncarl\t1\n")
    code, out, _ = _run(capsys, "score", path, str(names), "--label-column", "2")
    scores = load_model(path).score_samples(["anna", "carl"], [0, 1])
    assert code == 0 and out == [
        f"{n}\t{s:.4f}" for n, s in zip(["anna", "carl"], scores, strict=True)
    ]


def test_a_mixture_components_error_names_the_rnn_and_its_flag(capsys, tmp_path):
    """One name: the mixture's rnn cannot hold any out for early stopping.
    The message says which component, with the flag that sets it (not the
    Python API's rnn__ prefix)."""
    names = tmp_path / "one.txt"
    names.write_text("ab\n")
    message = _user_error(capsys, "fit", str(names), "-o", str(tmp_path / "m.npz"))
    assert message.startswith(
        "charrnn: error: the mixture's rnn: --early-stopping needs at least 2"
    )
    assert "rnn__" not in message and "--no-early-stopping" in message
