"""The documentation: API coverage, docstring sections, runnable snippets.

The Sphinx build (``.ci/run``) checks rendering, references and the gallery;
these tests check, without Sphinx, what the build cannot: that every public
name is listed in the API reference, that every public method carries the
numpydoc sections it needs, and that the code on the getting-started and
user-guide pages runs and does what the text says.
"""

import ast
import contextlib
import doctest
import inspect
import io
import re
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning

import sklearn_charrnn
import sklearn_charrnn.datasets
from sklearn_charrnn import CharRNNGenerator

DOCS = Path(__file__).resolve().parents[1] / "docs"


def autosummary_blocks(text):
    """The ``(options, entries)`` of every ``.. autosummary::`` block of text."""
    blocks = []
    for block in re.split(r"^\.\. autosummary::\n", text, flags=re.M)[1:]:
        options, entries = set(), set()
        for line in block.splitlines():
            if line.strip() and not line.startswith(" "):
                break
            item = line.strip()
            if item.startswith(":"):
                options.add(item.split(":")[1])
            elif item:
                entries.add(item)
        blocks.append((options, entries))
    return blocks


def autosummary_entries(text):
    """Every name listed in an ``.. autosummary::`` block of ``text``."""
    return set().union(*(entries for _, entries in autosummary_blocks(text)))


def docstring_sections(doc):
    """Titles of the numpydoc sections of a docstring (underlined with ---)."""
    lines = inspect.cleandoc(doc).splitlines()
    return {
        lines[i].strip()
        for i in range(len(lines) - 1)
        if lines[i].strip() and re.fullmatch(r"-{3,}", lines[i + 1].strip())
    }


def documented_parameters(doc):
    """Names documented in the Parameters section of a numpydoc docstring."""
    text = inspect.cleandoc(doc)
    section = r"^Parameters\n-+\n(.*?)(?=^\S[^\n]*\n-+\n|\Z)"
    match = re.search(section, text, re.M | re.S)
    if match is None:
        return set()
    names = set()
    for line in match.group(1).splitlines():
        if line and not line.startswith(" "):
            head = line.split(" : ")[0]
            names.update(name.strip() for name in head.split(","))
    return names


def public_names():
    top = [name for name in sklearn_charrnn.__all__ if name != "__version__"]
    return top + list(sklearn_charrnn.datasets.__all__)


def own_public_methods(cls):
    """Public methods a class defines itself (inherited ones are sklearn's)."""
    return [
        name
        for name, value in vars(cls).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or isinstance(value, classmethod))
    ]


# ------------------------------------------------------------- API reference


def test_autosummary_blocks_parses_a_block():
    text = ".. autosummary::\n   :toctree: generated\n\n   A\n   b.C\n\nText\n   D\n"
    assert autosummary_blocks(text) == [({"toctree"}, {"A", "b.C"})]


@pytest.mark.parametrize("name", public_names())
def test_every_public_name_is_in_the_api_reference(name):
    entries = autosummary_entries((DOCS / "api.rst").read_text())
    assert name in entries, f"{name} is public but missing from docs/api.rst"


def test_nn_is_documented_recursively():
    # A recursive autosummary of the package documents every public module in
    # it, present and future, so none can be left out.
    blocks = autosummary_blocks((DOCS / "api.rst").read_text())
    assert any(
        "recursive" in options and "nn" in entries for options, entries in blocks
    )


# ------------------------------------------------------------------ docstrings


def test_docstring_helpers_read_numpydoc():
    doc = """Summary.

    Parameters
    ----------
    a, b : int
        Two numbers.
    c : str

    Returns
    -------
    d : int
    """
    assert docstring_sections(doc) == {"Parameters", "Returns"}
    assert documented_parameters(doc) == {"a", "b", "c"}


def _callables():
    for name in public_names():
        obj = getattr(sklearn_charrnn, name, None) or getattr(
            sklearn_charrnn.datasets, name
        )
        yield name, obj
    for method in own_public_methods(CharRNNGenerator):
        yield f"CharRNNGenerator.{method}", getattr(CharRNNGenerator, method)


@pytest.mark.parametrize("name, obj", list(_callables()), ids=lambda x: str(x))
def test_public_docstrings_document_every_parameter(name, obj):
    doc = inspect.getdoc(obj)
    assert doc and doc.strip(), f"{name} has no docstring"
    if inspect.isclass(obj):
        return
    parameters = [
        p
        for p in inspect.signature(obj).parameters
        if p not in ("self", "cls", "args", "kwargs")
    ]
    documented = documented_parameters(doc)
    assert set(parameters) <= documented, (
        f"{name}: parameters {sorted(set(parameters) - documented)} are not in "
        "its Parameters section"
    )
    assert documented <= set(parameters), (
        f"{name}: documents {sorted(documented - set(parameters))}, "
        "which it does not take"
    )


EXAMPLES_REQUIRED = [
    CharRNNGenerator,
    sklearn_charrnn.datasets.load_dinosaurs,
    sklearn_charrnn.datasets.load_names,
    *(getattr(CharRNNGenerator, m) for m in own_public_methods(CharRNNGenerator)),
]


@pytest.mark.parametrize("obj", EXAMPLES_REQUIRED, ids=lambda o: o.__qualname__)
def test_public_methods_have_an_examples_section(obj):
    doc = inspect.getdoc(obj)
    assert "Examples" in docstring_sections(doc), f"{obj.__qualname__}: no Examples"
    assert ">>> " in doc.split("Examples\n--------", 1)[1]


# ---------------------------------------------------------------- doc pages


def code_blocks(path, after_heading):
    """The python code blocks of ``path`` in the section ``after_heading``."""
    text = path.read_text()
    section = text.split(after_heading + "\n", 1)[1]
    section = re.split(r"\n\S[^\n]*\n=+\n", section, maxsplit=1)[0]
    blocks = re.findall(
        r"^\.\. code-block:: python\n\n((?:   .*\n|\n)+)", section, flags=re.M
    )
    return [
        inspect.cleandoc("\n".join(line[3:] for line in b.splitlines())) for b in blocks
    ]


def test_first_model_in_ten_lines_runs():
    (code,) = code_blocks(DOCS / "getting_started.rst", "A first model in ten lines")
    lines = [line for line in code.splitlines() if line.strip()]
    assert len(lines) <= 10, f"the first model takes {len(lines)} lines"
    out = io.StringIO()
    namespace = {}
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # it must stop early
        exec(compile(code, "getting_started.rst", "exec"), namespace)
    gen = namespace["gen"]
    assert gen.n_iter_ < gen.max_iter
    printed = out.getvalue().splitlines()
    assert len(printed) == 4
    samples = ast.literal_eval(printed[0])
    assert len(samples) == 5 and all(isinstance(s, str) for s in samples)
    assert printed[1].startswith("tyra")
    beam = ast.literal_eval(printed[2])
    assert [name.startswith("stego") for name, _ in beam] == [True] * 3
    assert [ll for _, ll in beam] == sorted((ll for _, ll in beam), reverse=True)
    assert float(printed[3]) == pytest.approx(gen.score(["tyrannosaurus"]))
    assert float(printed[3]) < 0


def test_user_guide_doctests_pass():
    with warnings.catch_warnings():
        # The guide's tiny models are small and quick on purpose.
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = doctest.testfile(
            str(DOCS / "user_guide.rst"),
            module_relative=False,
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
            verbose=False,
        )
    assert result.attempted > 10
    assert result.failed == 0
