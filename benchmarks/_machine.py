"""The machine line a benchmark table prints: what ran it, without any path.

Run it alone to see the line for this machine::

    python benchmarks/_machine.py
"""

import os
import platform

import numpy as np
import sklearn
from threadpoolctl import threadpool_info


def cpu_model():
    """Return the CPU's model name, from ``/proc/cpuinfo`` where there is one.

    Returns
    -------
    name : str
        For example ``"AMD EPYC"``; ``platform.processor()`` or the
        architecture (``"x86_64"``) where ``/proc/cpuinfo`` is absent.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_libraries():
    """Describe every BLAS NumPy loaded: library, version and kernel.

    Returns
    -------
    descriptions : list of str
        One per library, for example ``"openblas 0.3.30 (SkylakeX kernel)"``.
        ``architecture`` is the kernel OpenBLAS chose at start-up (the CPU it
        detected, or ``OPENBLAS_CORETYPE`` where that is set).
    """
    libraries = [i for i in threadpool_info() if i["user_api"] == "blas"]
    descriptions = []
    for library in libraries:
        kernel = library.get("architecture")
        text = f"{library['internal_api']} {library.get('version') or '?'}"
        descriptions.append(f"{text} ({kernel} kernel)" if kernel else text)
    return descriptions


def machine_line():
    """Return the one line that says what a benchmark table ran on.

    Returns
    -------
    line : str
        CPU model, logical core count, the BLAS libraries with their kernels,
        and the Python, NumPy and scikit-learn versions. No file paths.
    """
    blas = ", ".join(blas_libraries()) or "no BLAS found by threadpoolctl"
    return (
        f"machine: {cpu_model()}, {os.cpu_count()} logical cores; {blas}; "
        f"Python {platform.python_version()}, NumPy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}"
    )


if __name__ == "__main__":
    print(machine_line())
