"""Command line: ``charrnn`` and ``python -m sklearn_charrnn``.

``charrnn fit NAMES.txt -o MODEL`` trains on a file of names (one per line)
and saves the model in the safe model file format (:func:`save_model`): by
default a :class:`GeneratorMixture` of a :class:`CharRNNGenerator` and a
:class:`KneserNeyGenerator`; ``--model rnn`` or ``--model ngram`` fits one
alone. ``sample``, ``complete`` and ``score`` load any of them, and a
:class:`CharRNNClassifier`'s file (they use its generator). ``charrnn
demo`` (the default command) trains a CharRNNGenerator on the bundled
dinosaur names and prints ten new names and three completions.

Exit codes: 0 on success, 1 for an error the user can fix (a missing, empty
or undecodable names file, a file that is not a model, an invalid value),
reported on one line as ``charrnn: error: ...``; 2 for a usage error
(argparse's own message, with the usage of the command at fault); 130 when
interrupted with Ctrl-C (``fit`` saves what it learnt first).
"""

import argparse
import collections
import math
import os
import re
import secrets
import signal
import stat
import sys
import time
import warnings

from ._version import __version__

# The hyperparameters ``fit`` takes as flags: (parameter, type, metavar, help).
# "cells" takes its choices from the table of cells, sklearn_charrnn.nn.cells.
_HYPERPARAMETERS = [
    ("hidden_size", int, "N", "units in each recurrent layer"),
    ("cell", "cells", None, "recurrent cell"),
    ("n_layers", int, "N", "stacked recurrent layers"),
    ("dropout", float, "P", "dropout rate on each layer's output, in [0, 1)"),
    ("max_iter", int, "N", "maximum number of epochs"),
    ("batch_size", int, "N", "names per mini-batch"),
    ("learning_rate_init", float, "RATE", "AdamW step size"),
    ("weight_decay", float, "RATE", "AdamW decoupled weight decay"),
    ("beta_1", float, "DECAY", "AdamW first-moment decay, in [0, 1)"),
    ("beta_2", float, "DECAY", "AdamW second-moment decay, in [0, 1)"),
    ("epsilon", float, "EPS", "AdamW stability term, > 0"),
    ("clip_norm", "clip", "NORM", "gradient global-norm clip ('none' disables it)"),
    ("shuffle", bool, None, "shuffle the names every epoch"),
    ("early_stopping", bool, None, "hold names out and stop when their score stalls"),
    (
        "validation_fraction",
        float,
        "FRACTION",
        "share of names held out for early stopping, in (0, 1)",
    ),
    ("n_iter_no_change", int, "N", "epochs without improvement before stopping"),
    ("tol", float, "NATS", "improvement (nats per token) that counts as progress"),
    (
        "weight_averaging",
        float,
        "DECAY",
        "decay of the moving average of the weights the model keeps, in [0, 1); "
        "0 keeps the last step's weights",
    ),
    ("dtype", ("float32", "float64"), None, "floating-point type"),
]
# Flags of the generation options, by the estimator's argument names.
_GENERATION_FLAGS = {
    "n_samples": "-n",
    "temperature": "--temperature",
    "top_k": "--top-k",
    "top_p": "--top-p",
    "greedy": "--greedy",
    "min_length": "--min-length",
    "max_length": "--max-length",
    "exclude_training": "--exclude-training",
    "random_state": "--seed",
}
# Bounds on what the command line reads and asks for.
MAX_NAMES_BYTES = 128 * 2**20
MAX_LENGTH = 1_000_000
EXIT_INTERRUPTED = 130
# What ``fit --model`` builds; the first is the default.
MODELS = ("mixture", "rnn", "ngram")
FIT_DESCRIPTION = (
    "Train on a file of names and save the model. By default the model is a "
    "mixture of a recurrent network (rnn) and a Kneser-Ney n-gram (ngram), "
    "their next-character probabilities weighted by what scores names held "
    "out best: it fits the rnn twice (on 90% of the names, to fit the "
    "weights on the rest, then on all of them) and the n-gram in seconds. "
    "--model rnn or --model ngram fits one alone. The hyperparameter flags "
    "set the rnn's (in a mixture, its rnn component's). Ctrl-C stops the "
    "training of the rnn, which keeps what it learnt; a mixture then "
    "finishes at once (an rnn fit it has left stops after its first epoch, "
    "the n-gram fits in full) and is saved with the weights it found. The "
    "model is saved and fit exits with 130. To keep most of a mixture's "
    "training, interrupt during its last rnn fit (the progress line says "
    "which); Ctrl-C while the n-gram fits saves nothing."
)


class UserError(Exception):
    """An error the user can fix: reported in one line, exit code 1."""


# ----------------------------------------------------------------- input


# white space but tabs at either end of a line
_EDGE_SPACE = re.compile(r"^[^\S\t]+|[^\S\t]+$")
# the ends of a line: \n, \r\n or \r, as Python's text files read them
_NEWLINE = re.compile(r"\r\n|\r|\n")
NAMES_HELP = (
    "one name per line (white space at either end of a line is dropped, "
    "blank lines are skipped); - reads stdin"
)
# the first bytes of a zip archive, as every model file is
_ZIP_MAGIC = b"PK\x03\x04"


def read_names(path, encoding="utf-8", keep_tabs=False):
    """Read one name per line; strip white space, skip blank lines.

    Parameters
    ----------
    path : str
        A file, or ``-`` for standard input.
    encoding : str, default="utf-8"
        A leading UTF-8 byte-order mark is dropped.
    keep_tabs : bool, default=False
        Strip white space but tabs from either end of a line (a
        tab-separated file's empty first or last cell stays), and keep blank
        lines, as ``""``, so that the lines keep their numbers.

    Returns
    -------
    names : list of str

    Raises
    ------
    UserError
        For a missing, unreadable, empty or undecodable file, and for one
        of more than ``MAX_NAMES_BYTES`` (``/dev/zero`` included): at most
        that many bytes are read.
    """
    shown = "standard input" if path == "-" else path
    text = _decoded(_read_bytes(path, shown), encoding, shown)
    # the file's own lines, as an editor counts them (str.splitlines also
    # breaks at form feeds, U+2028 and other separators inside a line)
    lines = _NEWLINE.split(text)
    if keep_tabs:  # a tab at either end still parts an empty first or last cell
        lines = [_EDGE_SPACE.sub("", line) for line in lines]
        lines = [line if line.strip() else "" for line in lines]
    else:
        lines = [line.strip() for line in lines]
    names = [line for line in lines if line]
    if not names:
        raise UserError(f"{shown} holds no names: expected one name per line")
    return lines if keep_tabs else names


def _read_bytes(path, shown):
    """The bytes of a names file (``-``: standard input), if not too many."""
    try:
        if path == "-":
            if sys.stdin is None:  # started with standard input closed
                raise UserError("standard input is closed: expected names on it")
            data = sys.stdin.buffer.read(MAX_NAMES_BYTES + 1)
        else:
            with open(path, "rb") as file:
                data = file.read(MAX_NAMES_BYTES + 1)
    except FileNotFoundError:
        raise UserError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{shown}: is a directory, expected a text file") from None
    except OSError as error:
        raise UserError(f"{shown}: cannot read: {error.strerror}") from None
    if len(data) > MAX_NAMES_BYTES:
        raise UserError(
            f"{shown} holds more than {MAX_NAMES_BYTES // 2**20} MiB: expected a "
            "text file of names, one per line"
        )
    if data.startswith(_ZIP_MAGIC):
        raise UserError(
            f"{shown} is a zip archive (a model file?): expected a text file of "
            "names, one per line"
        )
    return data


def _decoded(data, encoding, shown):
    """``data`` as text; a leading UTF-8 byte-order mark is dropped."""
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except LookupError:
        raise UserError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start]
        raise UserError(
            f"{shown}: line {line} is not valid {error.encoding} (byte "
            f"0x{byte:02x}); save the file as UTF-8 or pass --encoding"
        ) from None


def load_model(path):
    """Load a model file written by ``charrnn fit`` or ``save``: any kind.

    A :class:`CharRNNClassifier`'s file gives its generator, which writes
    and scores names under the classifier's labels.
    """
    from ._classifier import CharRNNClassifier
    from ._models import load_model as read_model
    from ._sequences import STRING

    if not os.path.exists(path):
        raise UserError(f"{path}: no such model file")
    if os.path.isdir(path):
        raise UserError(f"{path}: is a directory, expected a model file")
    try:
        # refuses a pipe or a device before opening it: nothing waits
        model = read_model(path)
    except OSError as error:
        raise UserError(f"{path}: cannot read: {error.strerror}") from None
    except ValueError as error:
        # ModelFileError: the message names the file and what is wrong
        raise UserError(
            f"{error} ('charrnn fit NAMES.txt -o MODEL' writes a model file)"
        ) from None
    if isinstance(model, CharRNNClassifier):
        model = model.generator_
    if model.input_kind_ != STRING:
        raise UserError(
            f"{path} holds a model fitted on token arrays; the command line "
            "handles models fitted on strings only"
        )
    return model


# -------------------------------------------------------------- progress


def format_duration(seconds):
    """``42s``, ``3m05s`` or ``1h02m``."""
    seconds = int(math.ceil(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """The progress of ``fit``: one line per epoch.

    On a terminal the line is rewritten in place (``\\r``); otherwise every
    epoch prints a plain line. The time left is the epochs remaining up to
    ``max_iter`` times the mean epoch time so far: an upper bound, since
    early stopping may end sooner.

    Parameters
    ----------
    stream : file
    max_iter : int
    live : bool
        Rewrite one line instead of printing one per epoch.
    label : str, default=None
        Begins every line (``rnn``, in a mixture); a new fit (an epoch
        numbered 1 again) is numbered after it when ``n_fits > 1``.
    n_fits : int, default=1
        How many fits the lines report, one after the other.
    """

    def __init__(self, stream, max_iter, live, label=None, n_fits=1):
        self.stream = stream
        self.max_iter = max_iter
        self.live = live
        self.label = label
        self.n_fits = n_fits
        self.fit = 1
        self.epochs = 0
        self.seconds = 0.0
        self.width = 0

    def __call__(self, info):
        """Report one epoch (the estimator's ``_epoch_callback``)."""
        if info["n_iter"] == 1 and self.epochs:
            self.close()
            self.fit += 1
            self.epochs, self.seconds = 0, 0.0
        self.epochs += 1
        self.seconds += info["time"]
        left = (self.max_iter - self.epochs) * self.seconds / self.epochs
        line = f"epoch {self.epochs}/{self.max_iter}  loss {info['loss']:.4f}"
        if self.label is not None:
            fit = f" fit {self.fit}/{self.n_fits}" if self.n_fits > 1 else ""
            line = f"{self.label}{fit}: {line}"
        if info["validation_score"] is not None:
            line += f"  validation score {info['validation_score']:.4f}"
        line += f"  {info['time']:.1f}s/epoch  up to {format_duration(left)} left"
        if self.live:
            self.stream.write("\r" + line.ljust(self.width))
            self.width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self):
        """End the live line."""
        if self.live and self.width:
            self.stream.write("\n")
            self.stream.flush()
            self.width = 0


class Interrupted(Exception):
    """Ctrl-C: exit 130 after the message, as shells expect."""


def split_labels(lines, column, shown):
    """Names (first tab-separated column) and labels (column ``column``).

    Parameters
    ----------
    lines : list of str
        The lines of a tab-separated file, blank ones as ``""``
        (:func:`read_names`); blank lines are skipped.
    column : int
        The label's column, counted from 1; the name is column 1.
    shown : str
        The file's name, for error messages.

    Returns
    -------
    names, labels : list of str
    """
    names, labels = [], []
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        cells = line.split("\t")
        if len(cells) < column:
            raise UserError(
                f"{shown}: line {number} ({line[:40]!r}) has {len(cells)} "
                f"tab-separated column{'s' * (len(cells) != 1)}; --label-column "
                f"{column} needs at least {column}"
            )
        name, label = cells[0].strip(), cells[column - 1].strip()
        for value, what, at in ((name, "name", 1), (label, "label", column)):
            if not value:
                raise UserError(
                    f"{shown}: line {number} ({line[:40]!r}) has an empty {what} "
                    f"(column {at})"
                )
        names.append(name)
        labels.append(label)
    return names, labels


def _read(args, header_check=False):
    """The names of ``args.names``, and their labels with ``--label-column``.

    Without it, a name that holds a tab gets a warning: the file is likely
    tab-separated, with labels. With it and ``header_check``, so does a
    first label found on no other line (:func:`_warn_if_header`).
    """
    shown = "standard input" if args.names == "-" else args.names
    if args.label_column is None:
        names = read_names(args.names, args.encoding)
        tabbed = next((name for name in names if "\t" in name), None)
        if tabbed is not None:
            instead = " instead of --label" if getattr(args, "label", None) else ""
            warnings.warn(
                f"{shown} holds tabs ({tabbed[:40]!r}): each line is read "
                "whole, as one name; for a tab-separated file of names and "
                f"labels, pass --label-column N (N the labels' column){instead}",
                UserWarning,
                stacklevel=2,
            )
        return names, None
    lines = read_names(args.names, args.encoding, keep_tabs=True)
    names, labels = split_labels(lines, args.label_column, shown)
    if header_check:
        _warn_if_header(names, labels, 1 + [bool(line) for line in lines].index(True))
    return names, labels


def _warn_if_header(names, labels, number):
    """Warn when the first label (on line ``number``) is on no other line
    while another label is on several: the first line may be a header."""
    counts = collections.Counter(labels)
    if counts[labels[0]] == 1 and max(counts.values()) > 1:
        warnings.warn(
            f"the label of line {number}, {labels[0]!r}, is on no other line: if "
            f"line {number} ({names[0]!r}) is a header, remove it (it is learnt as "
            "a name of that label)",
            UserWarning,
            stacklevel=3,
        )


def _fit(model, names, quiet, labels=None):
    """Fit with a progress line on standard error unless ``quiet``.

    Returns
    -------
    elapsed : float
        Seconds.
    interrupted : bool
        Whether Ctrl-C stopped training; the model keeps what it learnt (see
        ``CharRNNGenerator.fit``).
    """
    from ._estimator import CharRNNGenerator

    progress = None if quiet else _progress(model, len(names))
    start = time.perf_counter()
    caught = []
    with _RecordInterrupts() as interrupts:
        hook = _EpochHook(progress, interrupts)
        try:
            # hold fit's warnings back until the live line is finished
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with _epoch_hook(CharRNNGenerator, hook):
                    model.fit(names, labels)
        except KeyboardInterrupt:
            raise Interrupted(
                "interrupted before training began"
                if type(model) is CharRNNGenerator
                else "interrupted before the model was whole; nothing was saved"
            ) from None
        finally:
            if progress is not None:
                progress.close()
            _show_once(caught)
    return time.perf_counter() - start, bool(interrupts)


def _progress(model, n_names):
    """The progress lines of the RNN that ``model`` trains, if it has one."""
    kind = type(model).__name__
    if kind == "CharRNNGenerator":
        return Progress(sys.stderr, model.max_iter, sys.stderr.isatty())
    if kind != "GeneratorMixture":
        return None
    from ._mixture import _MIN_AUTO_SEQUENCES

    rnn = dict(model.estimators)["rnn"]
    auto = isinstance(model.weights, str) and len(model.estimators) > 1
    n_fits = 2 if auto and n_names >= _MIN_AUTO_SEQUENCES else 1
    return Progress(sys.stderr, rnn.max_iter, sys.stderr.isatty(), "rnn", n_fits)


class _EpochHook:
    """Every epoch: report it; after Ctrl-C, stop the fit it belongs to.

    A mixture's RNN fits after an interrupt then stop after their first
    epoch (``fit`` keeps what it learnt on a KeyboardInterrupt), so that
    the mixture finishes at once.
    """

    def __init__(self, progress, interrupts):
        self.progress = progress
        self.interrupts = interrupts

    def __call__(self, info):
        if self.progress is not None:
            self.progress(info)
        if self.interrupts:
            raise KeyboardInterrupt


class _epoch_hook:
    """Give every instance of ``cls`` the ``_epoch_callback`` ``hook``.

    A class attribute, not an instance one: a mixture fits clones of its
    components, and a clone has only its parameters. Removed on exit.
    """

    def __init__(self, cls, hook):
        self.cls, self.hook = cls, hook

    def __enter__(self):
        self.cls._epoch_callback = self.hook

    def __exit__(self, *exc_info):
        self.cls._epoch_callback = None
        return False


def _show_once(caught):
    """Show the warnings recorded, each distinct one once."""
    seen = set()
    for warning in caught:
        key = (str(warning.message), warning.category)
        if key not in seen:
            seen.add(key)
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )


class _RecordInterrupts:
    """Record every SIGINT (then raise KeyboardInterrupt as Python does).

    ``fit`` catches the KeyboardInterrupt and keeps its model; the record
    tells the command line that it must exit 130 all the same. Outside the
    main thread, signals cannot be caught: nothing is recorded.
    """

    def __enter__(self):
        self.seen = []
        self.previous = None
        try:
            self.previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread
            pass
        return self.seen

    def _handler(self, signum, frame):
        self.seen.append(signum)
        raise KeyboardInterrupt

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def plural(n, word):
    """``1 epoch``, ``2 epochs``."""
    return f"{n} {word}{'s' * (n != 1)}"


def _summary(model, names, elapsed, what="names"):
    return (
        f"Trained on {len(names)} {what if len(names) != 1 else what[:-1]} in "
        f"{elapsed:.1f}s ({_details(model)})"
    )


def _details(model):
    """What was fitted: epochs, an n-gram's order, a mixture's weights."""
    kind = type(model).__name__
    if kind == "KneserNeyGenerator":
        return f"order {model.order_}"
    if kind == "GeneratorMixture":
        names = list(model.named_estimators_)
        parts = [f"{name}: {_details(model.named_estimators_[name])}" for name in names]
        weights = ", ".join(
            f"{name} {weight:.2f}"
            for name, weight in zip(names, model.weights_, strict=True)
        )
        return "; ".join([*parts, f"weights {weights}"])
    text = plural(model.n_iter_, "epoch")
    score = model.best_validation_score_
    if score is not None and math.isfinite(score):  # -inf: no epoch ended
        text += f", held-out score {score:.3f} nats/token"
    return text


# -------------------------------------------------------------- commands


def demo(args):
    """Train on the bundled dinosaur names, print new names and completions.

    The model is the default mixture of a network and an n-gram.
    """
    from ._estimator import CharRNNGenerator
    from ._mixture import GeneratorMixture
    from .datasets import load_dinosaurs
    from .ngram import KneserNeyGenerator

    names = load_dinosaurs()
    unseen = sorted(set(args.prefix) - set("".join(names)))
    if unseen:  # complete would refuse it, after training
        raise UserError(
            f"--prefix {args.prefix!r} holds {unseen[0]!r}, which no dinosaur "
            "name holds (they are lowercase)"
        )
    rnn = CharRNNGenerator(random_state=args.seed, max_iter=args.max_iter)
    model = GeneratorMixture(
        [("rnn", rnn), ("ngram", KneserNeyGenerator())], random_state=args.seed
    )
    elapsed, interrupted = _fit(model, names, args.quiet)
    if interrupted:
        raise Interrupted("interrupted; the demo's model was not kept")
    print(_summary(model, names, elapsed, "dinosaur names") + ".")
    print("\nTen new names:")
    for name in model.sample(10, min_length=1, exclude_training=True):
        print(f"  {name}")
    print(f"\nThree completions of {args.prefix!r}:")
    for name in model.complete(args.prefix, n_samples=3):
        print(f"  {name}")
    return 0


def check_output(path, source="-"):
    """Fail now, not after training, if ``path`` cannot be written.

    A file is created beside it and removed: that is what saving does, so
    a folder, a missing or read-only folder, a read-only file or a
    read-only file system all fail here. An existing file is replaced only
    if it is empty or a model file (a zip archive that holds a model's
    metadata), and never when it is ``source``, the names file (``-`` for
    standard input).
    """
    from ._persistence import names_a_folder

    if not path:
        raise UserError("cannot write '': expected a file name")
    folder = os.path.dirname(os.path.realpath(path))  # a link: where it points
    if os.path.isdir(path) or names_a_folder(path):
        raise UserError(f"cannot write {path}: is a directory, expected a file name")
    if not os.path.isdir(folder):
        raise UserError(f"cannot write {path}: no folder {folder}")
    if source != "-" and os.path.exists(path) and os.path.exists(source):
        if os.path.samefile(path, source):
            raise UserError(
                f"cannot write {path}: it is the names file being read; "
                "give -o another file name"
            )
    _check_replaceable(path)
    effective = os.access in os.supports_effective_ids
    if os.path.exists(path) and not os.access(path, os.W_OK, effective_ids=effective):
        raise UserError(f"cannot write {path}: permission denied")
    name = os.path.basename(os.path.realpath(path))[:64]  # as saving names it
    probe = os.path.join(folder, f".{name}.{secrets.token_hex(6)}")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror}") from None
    os.unlink(probe)


def _check_replaceable(path):
    """Refuse to replace an existing file that is not empty or a model file."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # never open a pipe
            raise UserError(
                f"cannot write {path}: not a regular file (a device, pipe or socket)"
            )
        with open(path, "rb") as file:
            if not file.read(1) or _is_model_file(file):
                return
    except OSError:  # missing, or unreadable: the write probe says why
        return
    raise UserError(
        f"cannot write {path}: it exists and is not a model file (the names "
        "file and -o swapped?); remove it or give -o another file name"
    )


def _is_model_file(file):
    """Whether ``file`` is a zip archive that holds a model's metadata (a
    word processor's document or a Java archive is a zip too). Only the
    archive's directory is read."""
    import zipfile

    from ._persistence import _METADATA

    file.seek(0)
    if file.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:
        return False
    try:
        with zipfile.ZipFile(file) as archive:
            return _METADATA in archive.namelist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        return False


def fit(args):
    """Train on a names file and save the model (exit 130 if interrupted)."""
    from ._models import save_model

    check_output(args.output, args.names)
    names, labels = _read(args, header_check=True)
    kind = args.model or MODELS[0]
    params = _rnn_params(args)
    if params.get("clip_norm") == "none":
        params["clip_norm"] = None
    model = make_model(kind, params, args.seed)
    try:
        elapsed, interrupted = _fit(model, names, args.quiet, labels)
    except ValueError as error:  # a model that failed to fit is not saved
        message = for_the_shell(str(error), args.flags)  # not the path after it
        raise UserError(f"{message} Nothing was saved to {args.output}.") from None
    try:
        save_model(model, args.output, include_optimizer=not args.no_optimizer_state)
    except OSError as error:
        raise UserError(f"cannot write {args.output}: {error.strerror}") from None
    print(f"{_summary(model, names, elapsed)}; saved {args.output}.")
    if interrupted:
        raise Interrupted(
            f"interrupted; saved the model fitted so far to {args.output}"
        )
    return 0


def _rnn_params(args):
    """The hyperparameters given as flags."""
    return {
        name: getattr(args, name)
        for name, *_ in _HYPERPARAMETERS
        if getattr(args, name) is not None
    }


def make_model(kind, params, seed):
    """The estimator ``fit --model KIND`` trains.

    Parameters
    ----------
    kind : {"mixture", "rnn", "ngram"}
    params : dict
        The RNN's hyperparameters (the mixture's ``rnn`` component's).
    seed : int or None
        ``random_state`` of the model (a mixture seeds its components).
    """
    from ._estimator import CharRNNGenerator
    from ._mixture import GeneratorMixture
    from .ngram import KneserNeyGenerator

    if kind == "rnn":
        return CharRNNGenerator(random_state=seed, **params)
    if kind == "ngram":
        return KneserNeyGenerator(random_state=seed)
    return GeneratorMixture(
        [("rnn", CharRNNGenerator(**params)), ("ngram", KneserNeyGenerator())],
        random_state=seed,
    )


def _check_combinations(args):
    """Usage errors that argparse cannot see: flags that contradict others."""
    if args.command == "complete" and args.most_likely:
        _check_most_likely(args)
    if args.command == "fit" and args.model == "ngram":
        _check_ngram_flags(args)


def _check_ngram_flags(args):
    """--model ngram has no network: its flags make no sense."""
    given = [
        ("--no-" if getattr(args, name) is False else "--") + name.replace("_", "-")
        for name, *_ in _HYPERPARAMETERS
        if getattr(args, name) is not None
    ]
    if args.no_optimizer_state:
        given.append("--no-optimizer-state")
    if given:
        args.parser.error(
            f"{', '.join(given)} set the rnn's training; --model ngram has no rnn"
        )


def _generation_options(args):
    import numpy as np

    return {
        "temperature": args.temperature,
        "top_k": args.top_k,
        "top_p": args.top_p,
        "greedy": args.greedy,
        "min_length": args.min_length,
        "max_length": args.max_length,
        "exclude_training": args.exclude_training,
        # without --seed, every run draws afresh (not the model's own seed)
        "random_state": np.random.RandomState(args.seed),
    }


# Printed escaped inside a name: a line break would make one name two lines
# of output, a tab would shift tab-separated columns; then a backslash is
# escaped too, so that every printed name reads back one way.
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _lines(names, tab_separated=False):
    """Names as lines of output, one each: if a name holds a line break (or,
    with ``tab_separated``, a tab), every name is printed with backslash
    escapes (``\\n``, ``\\r``, ``\\t``, ``\\\\``), with one warning."""
    names = list(names)
    special = "\n\r\t" if tab_separated else "\n\r"
    if not any(c in name for name in names for c in special):
        return names
    what = "line breaks or tabs" if tab_separated else "line breaks"
    escapes = ", ".join(_ESCAPES[c] for c in special)
    warnings.warn(
        f"some names hold {what}: every name is printed with backslash escapes "
        f"({escapes}, and \\\\ for a backslash) so that it stays on one line",
        UserWarning,
        stacklevel=2,
    )
    table = str.maketrans({c: _ESCAPES[c] for c in "\\" + special})
    return [name.translate(table) for name in names]


def sample(args):
    """Print new names, one per line."""
    model = load_model(args.model)
    options = _generation_options(args)
    label = _label(args, model)
    for name in _lines(model.sample(args.n_samples, **options, **label)):
        print(name)
    return 0


def complete(args):
    """Print completions of each prefix, one per line."""
    model = load_model(args.model)
    if args.most_likely:
        options = {
            "min_length": args.min_length,
            "max_length": args.max_length,
            "exclude_training": args.exclude_training,
        }
    else:
        options = _generation_options(args)
    results = model.complete(
        args.prefixes,
        n_samples=args.n_samples,
        most_likely=args.most_likely,
        **options,
        **_label(args, model),
    )
    rows = [completion for completions in results for completion in completions]
    if not args.most_likely:
        for name in _lines(rows):
            print(name)
        return 0
    names = _lines((name for name, _ in rows), tab_separated=True)
    for name, (_, log_likelihood) in zip(names, rows, strict=True):
        print(f"{name}\t{log_likelihood:.4f}")
    return 0


def _label(args, model):
    """``{"y": label}`` for ``--label``, else nothing; checked against the
    labels ``model`` was trained with, if any (a label is text here: ``1``
    is the label ``1`` of a model trained with the int)."""
    from ._labels import listed

    classes = getattr(model, "classes_", None)
    if classes is None:
        if args.label is not None:
            raise UserError(f"{args.model} was trained without labels: drop --label")
        return {}
    if args.label is None:
        raise UserError(
            f"{args.model} was trained with labels {listed(classes)}: pass "
            "--label with one of them"
        )
    by_text = _labels_by_text(classes)
    if args.label not in by_text:
        raise UserError(
            f"--label {args.label!r} is not a label of {args.model} {listed(classes)}"
        )
    return {"y": by_text[args.label]}


def _labels_by_text(classes):
    """A model's labels keyed by their text, as the command line reads them."""
    return {str(c): c for c in classes.tolist()}


def _score_labels(args, model, labels):
    """The labels of ``model`` that the label texts of the scored file name
    (``1`` is the label ``1`` of a model trained with the int), or None
    without ``--label-column``."""
    from ._labels import listed

    if labels is None:
        return None
    classes = getattr(model, "classes_", None)
    if classes is None:
        raise UserError(f"{args.model} was trained without labels: drop --label-column")
    by_text = _labels_by_text(classes)
    unknown = [label for label in labels if label not in by_text]
    if unknown:
        shown = "standard input" if args.names == "-" else args.names
        raise UserError(
            f"{shown} holds the label {unknown[0]!r}, which is not a label of "
            f"{args.model} {listed(classes)}"
        )
    return [by_text[label] for label in labels]


def score(args):
    """Print each name's log-likelihood; the mean per token on stderr."""
    model = load_model(args.model)
    names, labels = _read(args)
    if args.label is not None:
        labels = _label(args, model)["y"]  # one label for every name
    else:
        labels = _score_labels(args, model, labels)
    log_likelihoods = model.score_samples(names, *([] if labels is None else [labels]))
    shown = _lines(names, tab_separated=True)
    for name, log_likelihood in zip(shown, log_likelihoods, strict=True):
        print(f"{name}\t{log_likelihood:.4f}")
    per_token = log_likelihoods.sum() / (sum(map(len, names)) + len(names))
    print(
        f"{len(names)} names: mean log-likelihood {per_token:.4f} nats per token "
        f"(perplexity {math.exp(-per_token):.2f})",
        file=sys.stderr,
    )
    return 0


# ----------------------------------------------------------------- parser


def _parse(text, kind, expected, valid=lambda value: True):
    """``kind(text)`` if it is ``valid``; else a message a person reads."""
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        value = None
    if value is None or (kind is float and not math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    if not valid(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _integer(text):
    return _parse(text, int, "an integer")


def _seed(text):  # what numpy.random.RandomState takes
    return _parse(
        text, int, f"an integer from 0 to {2**32 - 1}", lambda v: 0 <= v < 2**32
    )


def _number(text):
    return _parse(text, float, "a number")


def _positive_int(text):
    return _parse(text, int, "a positive integer", lambda v: v >= 1)


def _non_negative_int(text):
    return _parse(text, int, "an integer >= 0", lambda v: v >= 0)


def _length(text):
    return _parse(
        text,
        int,
        f"a positive integer up to {MAX_LENGTH}",
        lambda v: 1 <= v <= MAX_LENGTH,
    )


def _positive_float(text):
    return _parse(text, float, "a number > 0", lambda v: v > 0)


def _probability(text):
    return _parse(text, float, "a number in (0, 1]", lambda v: 0 < v <= 1)


def _clip(text):
    if text.lower() == "none":
        return "none"
    return _parse(text, float, "a number > 0 or 'none'", lambda v: v > 0)


_TYPES = {int: _integer, float: _number}


def _add_hyperparameters(parser):
    from ._estimator import CharRNNGenerator
    from .nn.cells import CELLS

    defaults = CharRNNGenerator().get_params()
    group = parser.add_argument_group(
        "hyperparameters of the rnn (default: CharRNNGenerator's)"
    )
    for name, kind, metavar, help_text in _HYPERPARAMETERS:
        flag = "--" + name.replace("_", "-")
        help_text = f"{help_text} (default: {defaults[name]})"
        if kind is bool:
            group.add_argument(
                flag, action=argparse.BooleanOptionalAction, help=help_text
            )
        elif kind == "cells":
            group.add_argument(flag, choices=tuple(CELLS), help=help_text)
        elif isinstance(kind, tuple):
            group.add_argument(flag, choices=kind, help=help_text)
        else:
            kind = _clip if kind == "clip" else _TYPES[kind]
            group.add_argument(flag, type=kind, metavar=metavar, help=help_text)


def _add_generation(parser, n_default, n_help):
    parser.add_argument(
        "-n",
        "--n-samples",
        type=_positive_int,
        default=n_default,
        help=f"{n_help} (default: {n_default})",
    )
    group = parser.add_argument_group("generation")
    group.add_argument(
        "--temperature",
        type=_positive_float,
        default=1.0,
        metavar="T",
        help="> 0; lower is safer, higher more adventurous (default: 1.0)",
    )
    group.add_argument(
        "--top-k",
        type=_positive_int,
        metavar="K",
        help="draw among the K most likely characters",
    )
    group.add_argument(
        "--top-p",
        type=_probability,
        metavar="P",
        help="nucleus sampling: keep this much probability mass, in (0, 1]",
    )
    group.add_argument(
        "--greedy", action="store_true", help="always take the most likely character"
    )
    group.add_argument(
        "--min-length",
        type=_non_negative_int,
        default=1,
        metavar="N",
        help="no end before this many characters, prefix included (default: 1, "
        "no empty names)",
    )
    group.add_argument(
        "--max-length",
        type=_length,
        metavar="N",
        help=f"stop at this many characters, at most {MAX_LENGTH} (default: twice "
        "the longest name + 10; complete adds the longest prefix)",
    )
    group.add_argument(
        "--exclude-training",
        action="store_true",
        help="only names that are not in the training file",
    )
    group.add_argument(
        "--seed",
        type=_seed,
        metavar="SEED",
        help="seed for reproducible draws (default: fresh)",
    )


def _add_label_column(parser, what):
    """Add ``--label-column`` to ``parser`` (or to a group of it)."""
    parser.add_argument(
        "--label-column",
        type=_label_column,
        metavar="N",
        help=f"NAMES is tab-separated, names in column 1 and labels in column "
        f"N (2 or more; white space at either end of a cell is dropped): {what}",
    )


def _add_label(parser, what="names of this kind"):
    """Add ``--label`` to ``parser`` (or to a group of it)."""
    parser.add_argument(
        "--label",
        metavar="LABEL",
        help=f"{what} (a model trained with --label-column)",
    )


def _label_column(text):
    return _parse(text, int, "a column number of 2 or more", lambda n: n >= 2)


def build_parser():
    """The ``charrnn`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="charrnn",
        description="Character-level RNN name generator. Without a command, "
        "runs the demo.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_demo = commands.add_parser(
        "demo", help="train on the bundled dinosaur names and print new ones"
    )
    p_demo.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="SEED",
        help="random seed (default: 0)",
    )
    p_demo.add_argument(
        "--max-iter",
        type=_positive_int,
        default=60,
        help="maximum epochs (default: 60)",
    )
    p_demo.add_argument(
        "--prefix", default="tyra", help="prefix to complete (default: tyra)"
    )
    p_demo.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p_demo.set_defaults(func=demo, parser=p_demo, flags={})

    p_fit = commands.add_parser(
        "fit",
        help="train on a file of names and save the model",
        description=FIT_DESCRIPTION,
    )
    p_fit.add_argument("names", metavar="NAMES.txt", help=NAMES_HELP)
    p_fit.add_argument(
        "-o", "--output", required=True, metavar="MODEL", help="model file to write"
    )
    p_fit.add_argument(
        "--model",
        choices=MODELS,
        help="mixture: an rnn and a Kneser-Ney n-gram, mixed (the best scores); "
        "rnn or ngram: one alone (the n-gram fits in seconds) (default: "
        f"{MODELS[0]})",
    )
    _add_label_column(p_fit, "learn names of a kind: the model learns p(name | label)")
    p_fit.add_argument(
        "--seed",
        type=_seed,
        metavar="SEED",
        help="random seed, for a reproducible model",
    )
    p_fit.add_argument(
        "--encoding", default="utf-8", help="encoding of NAMES.txt (default: utf-8)"
    )
    p_fit.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    p_fit.add_argument(
        "--no-optimizer-state",
        action="store_true",
        help="save the rnn without AdamW's moments: its part of the file about "
        "a third the size (the n-gram's tables, in a mixture, stay); a later "
        "warm start or partial_fit begins with fresh moments",
    )
    _add_hyperparameters(p_fit)
    fit_flags = {**_hyperparameter_flags(), "random_state": "--seed"}
    p_fit.set_defaults(func=fit, parser=p_fit, flags=fit_flags)

    p_sample = commands.add_parser("sample", help="print new names")
    p_sample.add_argument("model", metavar="MODEL")
    _add_generation(p_sample, 10, "number of names")
    _add_label(p_sample)
    p_sample.set_defaults(func=sample, parser=p_sample, flags=_GENERATION_FLAGS)

    p_complete = commands.add_parser("complete", help="complete prefixes")
    p_complete.add_argument("model", metavar="MODEL")
    p_complete.add_argument("prefixes", metavar="PREFIX", nargs="+")
    _add_generation(p_complete, 1, "completions per prefix")
    _add_label(p_complete)
    p_complete.add_argument(
        "--most-likely",
        action="store_true",
        help="the n most probable completions (beam search), with their "
        "log-likelihoods",
    )
    p_complete.set_defaults(func=complete, parser=p_complete, flags=_GENERATION_FLAGS)

    p_score = commands.add_parser(
        "score",
        help="log-likelihood of each name",
        description="Print each name's log-likelihood (nats), and the mean per "
        "token (characters and the end of a name) on standard error. A model "
        "trained with labels scores each name under the label --label or "
        "--label-column gives; with neither, under the mixture of its labels, "
        "weighted by how many training names each had.",
    )
    p_score.add_argument("model", metavar="MODEL")
    p_score.add_argument("names", metavar="NAMES.txt", help=NAMES_HELP)
    p_score.add_argument(
        "--encoding", default="utf-8", help="encoding of NAMES.txt (default: utf-8)"
    )
    labels = p_score.add_mutually_exclusive_group()
    _add_label_column(labels, "score each name under its label")
    _add_label(labels, "score every name under this label")
    p_score.set_defaults(func=score, parser=p_score, flags={})
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"charrnn: warning: {message}", file=sys.stderr)


def _arguments(argv):
    """The parsed arguments; options without a command go to the demo.

    Usage errors exit with 2 from argparse.
    """
    parser = build_parser()
    if (
        argv
        and argv[0].startswith("-")
        and argv[0] not in ("-h", "--help", "--version")
    ):
        argv = ["demo", *argv]  # the demo's options without its name
    args, unknown = parser.parse_known_args(argv)
    if args.command is None:
        args, unknown = parser.parse_known_args(["demo", *unknown])
    if unknown:
        # the usage of the command they were given to, not the top level's
        args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    _check_combinations(args)
    return args


def main(argv=None):
    """Run the command line; with no command, run the demo.

    Returns
    -------
    code : int
        0 on success, 1 for a user error (``charrnn: error: ...``).
        Usage errors exit with 2 from argparse.
    """
    args = _arguments(sys.argv[1:] if argv is None else list(argv))
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        try:
            if sys.stdout is None and args.func in (demo, sample, complete, score):
                # started with standard output closed: print would drop it all
                raise UserError("standard output is closed: nowhere to write to")
            return args.func(args)
        except (UserError, ValueError) as error:
            message = str(error)
            if not isinstance(error, UserError):  # the estimators' words
                message = for_the_shell(message, args.flags)
            print(f"charrnn: error: {message}", file=sys.stderr)
            return 1
        except MemoryError:
            print(
                "charrnn: error: out of memory; ask for fewer names (-n) or "
                "shorter ones (--max-length)",
                file=sys.stderr,
            )
            return 1
        except (Interrupted, KeyboardInterrupt) as error:
            message = str(error) or "interrupted"
            print(f"charrnn: {message}", file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            # the reader (``| head``) left: stop quietly, as Python's docs advise
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
        except OSError as error:  # files are checked: standard output failed
            print(
                f"charrnn: error: cannot write the output: {error.strerror or error}",
                file=sys.stderr,
            )
            return 1


def for_the_shell(message, flags):
    """Name the command line's flags where a message names parameters.

    With ``flags`` mapping parameter names to flags, ``The 'hidden_size'
    parameter of CharRNNGenerator must be ...`` becomes ``--hidden-size
    must be ...``, ``set early_stopping=False`` becomes ``set
    --no-early-stopping`` and a bare ``learning_rate_init`` becomes
    ``--learning-rate-init``.
    """
    from ._mixture import component_error

    # the flags set a mixture's rnn: no rnn__ prefix on the command line
    parts = component_error(message)
    if parts is not None:
        message = f"the mixture's {parts[0]}: {parts[1]}"
    if not flags:
        return message
    # a flag's default is the flag left out, not None
    message = message.replace("or None for the default", "or leave it out")
    names = "|".join(sorted(flags, key=len, reverse=True))
    message = re.sub(
        rf"The '({names})' parameter of \w+", lambda m: flags[m[1]], message
    )

    def flag(match):
        name, value = match["name"], match["value"]
        if value == "False":
            return "--no-" + flags[name][2:]
        if value in (None, "True"):
            return flags[name]
        return f"{flags[name]} {value.strip(chr(39) + chr(34))}"

    value = r"'[^']*'|\"[^\"]*\"|[\w+-]+(?:\.[\w+-]+)*"
    # not a part of a path: models/dropout/m.npz, greedy.npz
    return re.sub(
        rf"(?<![\w./\\-])'?(?P<name>{names})(?![\w/\\]|\.\w)'?"
        rf"(?:=(?P<value>{value}))?",
        flag,
        message,
    )


def _hyperparameter_flags():
    return {name: "--" + name.replace("_", "-") for name, *_ in _HYPERPARAMETERS}


def _check_most_likely(args):
    """--most-likely ranks by probability: sampling flags make no sense."""
    given = [
        flag
        for flag, value, default in [
            ("--temperature", args.temperature, 1.0),
            ("--top-k", args.top_k, None),
            ("--top-p", args.top_p, None),
            ("--greedy", args.greedy, False),
            ("--seed", args.seed, None),
        ]
        if value != default
    ]
    if given:
        args.parser.error(
            f"--most-likely does not draw at random: drop {', '.join(given)}"
        )


if __name__ == "__main__":
    sys.exit(main())
