"""Command line: ``charrnn`` and ``python -m sklearn_charrnn``.

``charrnn fit NAMES.txt -o MODEL`` trains on a file of names (one per line)
and saves the model in the safe model file format
(:meth:`CharRNNGenerator.save`); ``sample``, ``complete`` and ``score`` load
it. ``charrnn demo`` (the default command) trains on the bundled dinosaur
names and prints ten new names and three completions.

Exit codes: 0 on success, 1 for an error the user can fix (a missing, empty
or undecodable names file, a file that is not a model, an invalid value),
reported on one line as ``charrnn: error: ...``; 2 for a usage error
(argparse's own message).
"""

import argparse
import math
import os
import sys
import time
import warnings

# The hyperparameters ``fit`` takes as flags: (parameter, type, help).
_HYPERPARAMETERS = [
    ("hidden_size", int, "units in each recurrent layer"),
    ("cell", ("rnn", "gru", "lstm"), "recurrent cell"),
    ("n_layers", int, "stacked recurrent layers"),
    ("dropout", float, "dropout rate on each layer's output, in [0, 1)"),
    ("max_iter", int, "maximum number of epochs"),
    ("batch_size", int, "names per mini-batch"),
    ("learning_rate_init", float, "AdamW step size"),
    ("weight_decay", float, "AdamW decoupled weight decay"),
    ("beta_1", float, "AdamW first-moment decay"),
    ("beta_2", float, "AdamW second-moment decay"),
    ("epsilon", float, "AdamW stability term"),
    ("clip_norm", "clip", "gradient global-norm clip ('none' disables it)"),
    ("shuffle", bool, "shuffle the names every epoch"),
    ("early_stopping", bool, "hold names out and stop when their score stalls"),
    ("validation_fraction", float, "share of names held out for early stopping"),
    ("n_iter_no_change", int, "epochs without improvement before stopping"),
    ("tol", float, "improvement (nats per token) that counts as progress"),
    ("dtype", ("float32", "float64"), "floating-point type"),
]


class UserError(Exception):
    """An error the user can fix: reported in one line, exit code 1."""


# ----------------------------------------------------------------- input


def read_names(path, encoding="utf-8"):
    """Read one name per line; strip white space, skip blank lines.

    Parameters
    ----------
    path : str
        A file, or ``-`` for standard input.
    encoding : str, default="utf-8"
        A leading UTF-8 byte-order mark is dropped.

    Returns
    -------
    names : list of str
    """
    shown = "standard input" if path == "-" else path
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as file:
                data = file.read()
    except FileNotFoundError:
        raise UserError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{shown}: is a directory, expected a text file") from None
    except OSError as error:
        raise UserError(f"{shown}: cannot read: {error.strerror}") from None
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except LookupError:
        raise UserError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start]
        raise UserError(
            f"{shown}: line {line} is not valid {error.encoding} (byte "
            f"0x{byte:02x}); save the file as UTF-8 or pass --encoding"
        ) from None
    names = [line.strip() for line in text.splitlines()]
    names = [name for name in names if name]
    if not names:
        raise UserError(f"{shown} holds no names: expected one name per line")
    return names


def load_model(path):
    """Load a model file written by ``charrnn fit`` or ``save``."""
    from ._estimator import CharRNNGenerator
    from ._sequences import STRING

    if not os.path.exists(path):
        raise UserError(f"{path}: no such model file")
    if os.path.isdir(path):
        raise UserError(f"{path}: is a directory, expected a model file")
    try:
        model = CharRNNGenerator.load(path)
    except OSError as error:
        raise UserError(f"{path}: cannot read: {error.strerror}") from None
    except ValueError as error:
        # ModelFileError: the message names the file and what is wrong
        raise UserError(
            f"{error} ('charrnn fit NAMES.txt -o MODEL' writes a model file)"
        ) from None
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
    """

    def __init__(self, stream, max_iter, live):
        self.stream = stream
        self.max_iter = max_iter
        self.live = live
        self.epochs = 0
        self.seconds = 0.0
        self.width = 0

    def __call__(self, info):
        """Report one epoch (the estimator's ``_epoch_callback``)."""
        self.epochs += 1
        self.seconds += info["time"]
        left = (self.max_iter - self.epochs) * self.seconds / self.epochs
        line = f"epoch {self.epochs}/{self.max_iter}  loss {info['loss']:.4f}"
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


def _fit(model, names, quiet):
    """Fit with a progress line on standard error unless ``quiet``."""
    progress = None
    if not quiet:
        progress = Progress(sys.stderr, model.max_iter, sys.stderr.isatty())
        model._epoch_callback = progress
    start = time.perf_counter()
    caught = []
    try:
        # hold fit's warnings back until the live line is finished
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(names)
    finally:
        if progress is not None:
            progress.close()
            del model._epoch_callback
        for warning in caught:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return time.perf_counter() - start


def _summary(model, names, elapsed):
    text = f"Trained on {len(names)} names in {elapsed:.1f}s ({model.n_iter_} epochs"
    if model.best_validation_score_ is not None:
        text += f", held-out score {model.best_validation_score_:.3f} nats/token"
    return text + ")"


# -------------------------------------------------------------- commands


def demo(args):
    """Train on the bundled dinosaur names, print new names and completions."""
    from ._estimator import CharRNNGenerator
    from .datasets import load_dinosaurs

    names = load_dinosaurs()
    model = CharRNNGenerator(random_state=args.seed, max_iter=args.max_iter)
    elapsed = _fit(model, names, args.quiet)
    print(
        f"Trained on {len(names)} dinosaur names in {elapsed:.1f}s "
        f"({model.n_iter_} epochs, held-out score "
        f"{model.best_validation_score_:.3f} nats/token)."
    )
    print("\nTen new names:")
    for name in model.sample(10, min_length=1, exclude_training=True):
        print(f"  {name}")
    print(f"\nThree completions of {args.prefix!r}:")
    for name in model.complete(args.prefix, n_samples=3):
        print(f"  {name}")
    return 0


def fit(args):
    """Train on a names file and save the model."""
    from ._estimator import CharRNNGenerator

    folder = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(folder):
        raise UserError(f"cannot write {args.output}: no folder {folder}")
    names = read_names(args.names, args.encoding)
    params = {
        name: getattr(args, name)
        for name, *_ in _HYPERPARAMETERS
        if getattr(args, name) is not None
    }
    if params.get("clip_norm") == "none":
        params["clip_norm"] = None
    model = CharRNNGenerator(random_state=args.seed, **params)
    elapsed = _fit(model, names, args.quiet)
    try:
        model.save(args.output)
    except OSError as error:
        raise UserError(f"cannot write {args.output}: {error.strerror}") from None
    print(f"{_summary(model, names, elapsed)}; saved {args.output}.")
    return 0


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


def sample(args):
    """Print new names, one per line."""
    model = load_model(args.model)
    for name in model.sample(args.n_samples, **_generation_options(args)):
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
    )
    for completions in results:
        for completion in completions:
            if args.most_likely:
                name, log_likelihood = completion
                print(f"{name}\t{log_likelihood:.4f}")
            else:
                print(completion)
    return 0


def score(args):
    """Print each name's log-likelihood; the mean per token on stderr."""
    model = load_model(args.model)
    names = read_names(args.names, args.encoding)
    log_likelihoods = model.score_samples(names)
    for name, log_likelihood in zip(names, log_likelihoods, strict=True):
        print(f"{name}\t{log_likelihood:.4f}")
    per_token = log_likelihoods.sum() / (sum(map(len, names)) + len(names))
    print(
        f"{len(names)} names: mean log-likelihood {per_token:.4f} nats per token "
        f"(perplexity {math.exp(-per_token):.2f})",
        file=sys.stderr,
    )
    return 0


# ----------------------------------------------------------------- parser


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def _probability(text):
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def _clip(text):
    return "none" if text.lower() == "none" else _positive_float(text)


def _add_hyperparameters(parser):
    from ._estimator import CharRNNGenerator

    defaults = CharRNNGenerator().get_params()
    group = parser.add_argument_group("hyperparameters (default: the estimator's)")
    for name, kind, help_text in _HYPERPARAMETERS:
        flag = "--" + name.replace("_", "-")
        help_text = f"{help_text} (default: {defaults[name]})"
        if kind is bool:
            group.add_argument(
                flag, action=argparse.BooleanOptionalAction, help=help_text
            )
        elif isinstance(kind, tuple):
            group.add_argument(flag, choices=kind, help=help_text)
        elif kind == "clip":
            group.add_argument(flag, type=_clip, metavar="NORM", help=help_text)
        else:
            group.add_argument(flag, type=kind, metavar="N", help=help_text)


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
        help="> 0; lower is safer, higher more adventurous (default: 1.0)",
    )
    group.add_argument(
        "--top-k", type=_positive_int, help="draw among the k most likely characters"
    )
    group.add_argument(
        "--top-p", type=_probability, help="nucleus sampling: keep this much mass"
    )
    group.add_argument(
        "--greedy", action="store_true", help="always take the most likely character"
    )
    group.add_argument(
        "--min-length",
        type=_non_negative_int,
        default=1,
        help="no end before this many characters, prefix included (default: 1, "
        "no empty names)",
    )
    group.add_argument(
        "--max-length",
        type=_positive_int,
        help="stop at this many characters (default: twice the longest name + 10)",
    )
    group.add_argument(
        "--exclude-training",
        action="store_true",
        help="only names that are not in the training file",
    )
    group.add_argument(
        "--seed", type=int, help="seed for reproducible draws (default: fresh)"
    )


def build_parser():
    """The ``charrnn`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="charrnn",
        description="Character-level RNN name generator. Without a command, "
        "runs the demo.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    p_demo = commands.add_parser(
        "demo", help="train on the bundled dinosaur names and print new ones"
    )
    p_demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
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
    p_demo.set_defaults(func=demo)

    p_fit = commands.add_parser(
        "fit", help="train on a file of names and save the model"
    )
    p_fit.add_argument(
        "names", metavar="NAMES.txt", help="one name per line; - reads stdin"
    )
    p_fit.add_argument(
        "-o", "--output", required=True, metavar="MODEL", help="model file to write"
    )
    p_fit.add_argument("--seed", type=int, help="random seed, for a reproducible model")
    p_fit.add_argument(
        "--encoding", default="utf-8", help="encoding of NAMES.txt (default: utf-8)"
    )
    p_fit.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    _add_hyperparameters(p_fit)
    p_fit.set_defaults(func=fit)

    p_sample = commands.add_parser("sample", help="print new names")
    p_sample.add_argument("model", metavar="MODEL")
    _add_generation(p_sample, 10, "number of names")
    p_sample.set_defaults(func=sample)

    p_complete = commands.add_parser("complete", help="complete prefixes")
    p_complete.add_argument("model", metavar="MODEL")
    p_complete.add_argument("prefixes", metavar="PREFIX", nargs="+")
    _add_generation(p_complete, 1, "completions per prefix")
    p_complete.add_argument(
        "--most-likely",
        action="store_true",
        help="the n most probable completions (beam search), with their "
        "log-likelihoods",
    )
    p_complete.set_defaults(func=complete, parser=p_complete)

    p_score = commands.add_parser("score", help="log-likelihood of each name")
    p_score.add_argument("model", metavar="MODEL")
    p_score.add_argument(
        "names", metavar="NAMES.txt", help="one name per line; - reads stdin"
    )
    p_score.add_argument(
        "--encoding", default="utf-8", help="encoding of NAMES.txt (default: utf-8)"
    )
    p_score.set_defaults(func=score)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"charrnn: warning: {message}", file=sys.stderr)


def main(argv=None):
    """Run the command line; with no command, run the demo.

    Returns
    -------
    code : int
        0 on success, 1 for a user error (``charrnn: error: ...``).
        Usage errors exit with 2 from argparse.
    """
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["demo", *argv]  # the demo's options without its name
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo"])
    if args.command == "complete" and args.most_likely:
        _check_most_likely(args)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        try:
            return args.func(args)
        except (UserError, ValueError) as error:
            print(f"charrnn: error: {error}", file=sys.stderr)
            return 1
        except BrokenPipeError:
            # the reader (``| head``) left: stop quietly, as Python's docs advise
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1


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
