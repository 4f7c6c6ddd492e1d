"""What fresh memory costs ``sample(10_000)``: names per second and page faults.

The sampler allocates its arrays afresh at every step, and the C allocator
hands freed memory back to the system and faults it in again, page by page,
when the next step or call asks for it. This prints the names per second of
``sample(10_000)`` (two threads, the model ``speed.py`` samples from: a tanh
RNN of 200 units, three epochs on ``names.txt``), the minor page faults per
call and the CPU time the system spent, medians of ``--rounds`` calls::

    python benchmarks/sampler_faults.py

To see what the faults cost, run it again with glibc told to keep its
memory (Linux; the environment variable is read when the process starts)::

    MALLOC_TOP_PAD_=100000000 python benchmarks/sampler_faults.py

The package does not set this: it is process-wide and the choice is the
user's.
"""

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line  # noqa: E402
from speed import MAX_LENGTH, N_SAMPLES, find_names, read_names, sampling_model  # noqa: E402


def one_call(model):
    """Wall seconds, minor faults and system CPU seconds of one call."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    model.sample(N_SAMPLES, max_length=MAX_LENGTH, random_state=1)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    return wall, after.ru_minflt - before.ru_minflt, after.ru_stime - before.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    model = sampling_model(read_names(find_names()))
    one_call(model)  # warm up
    wall, faults, system = np.median([one_call(model) for _ in range(args.rounds)], 0)
    print(machine_line())
    print(f"sample({N_SAMPLES:,}), median of {args.rounds} calls")
    print(f"  names/s        {N_SAMPLES / wall:>10,.0f}")
    print(f"  minor faults   {faults:>10,.0f}")
    print(f"  system CPU ms  {system * 1e3:>10.1f}")


if __name__ == "__main__":
    main()
