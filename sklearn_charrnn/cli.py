"""Command line: ``charrnn`` and ``python -m sklearn_charrnn``."""

import argparse
import sys
import time


def demo(args):
    """Train on the bundled dinosaur names, print new names and completions."""
    from ._estimator import CharRNNGenerator
    from .datasets import load_dinosaurs

    names = load_dinosaurs()
    start = time.perf_counter()
    gen = CharRNNGenerator(random_state=args.seed, max_iter=args.max_iter)
    gen.fit(names)
    elapsed = time.perf_counter() - start
    print(
        f"Trained on {len(names)} dinosaur names in {elapsed:.1f}s "
        f"({gen.n_iter_} epochs, held-out score "
        f"{gen.best_validation_score_:.3f} nats/token)."
    )
    print("\nTen new names:")
    for name in gen.sample(10):
        print(f"  {name}")
    print(f"\nThree completions of {args.prefix!r}:")
    for name in gen.complete([args.prefix] * 3):
        print(f"  {name}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="charrnn", description="Character-level RNN name generator."
    )
    commands = parser.add_subparsers(dest="command")
    p_demo = commands.add_parser(
        "demo", help="train on the bundled dinosaur names and print new ones"
    )
    p_demo.add_argument("--seed", type=int, default=0, help="random seed")
    p_demo.add_argument("--max-iter", type=int, default=60, help="maximum epochs")
    p_demo.add_argument("--prefix", default="tyra", help="prefix to complete")
    p_demo.set_defaults(func=demo)
    return parser


def main(argv=None):
    """Run the command line; with no command, run the demo."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo", *(argv or [])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
