"""The labelled name lists: ``load_surnames`` and ``load_us_first_names``.

The expectations about the raw files are read from the files themselves
(``../shared/data`` holds the same bytes as the package's copy), so a test
checks the loader's documented cleaning against the data, not against itself.
"""

import fnmatch
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import Bunch
from sklearn.utils._param_validation import InvalidParameterError

import sklearn_charrnn.datasets
from sklearn_charrnn.datasets import load_surnames, load_us_first_names
from sklearn_charrnn.datasets._labelled import _cut_note

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "sklearn_charrnn" / "datasets" / "data"
LOADERS = [load_surnames, load_us_first_names]


def raw_fields(filename):
    text = (DATA / filename).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines()]


@pytest.fixture(scope="module")
def surnames():
    return load_surnames()


@pytest.fixture(scope="module")
def first_names():
    return load_us_first_names()


# ------------------------------------------------------------- both loaders


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_bunch_holds_names_labels_and_description(loader):
    bunch = loader()
    assert isinstance(bunch, Bunch)
    assert isinstance(bunch.data, list)
    assert all(isinstance(name, str) and name for name in bunch.data)
    assert isinstance(bunch.target, np.ndarray)
    assert bunch.target.dtype.kind == "U"
    assert bunch.target.shape == (len(bunch.data),)
    assert bunch.target_names.tolist() == sorted(set(bunch.target.tolist()))
    assert set(bunch.target.tolist()) <= set(bunch.target_names.tolist())
    assert isinstance(bunch.DESCR, str) and len(bunch.DESCR) > 500


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_return_X_y_gives_the_bunch_data_and_target(loader):
    bunch = loader()
    X, y = loader(return_X_y=True)
    assert X == bunch.data
    np.testing.assert_array_equal(y, bunch.target)


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_bad_return_X_y_is_named_in_the_error(loader):
    with pytest.raises(InvalidParameterError, match="return_X_y.*bool.*'yes'"):
        loader(return_X_y="yes")
    with pytest.raises(TypeError):
        loader(True)  # keyword-only


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_loaders_carry_a_doctest_example(loader):
    doc = loader.__doc__
    assert "Examples\n    --------\n    >>> " in doc


def test_loaders_are_public():
    for name in ["load_surnames", "load_us_first_names"]:
        assert name in sklearn_charrnn.datasets.__all__


def test_every_data_file_ships_in_the_wheel():
    # setuptools copies into the wheel the package data matched by these globs.
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["sklearn_charrnn.datasets"]
    files = sorted(p.relative_to(DATA.parent).as_posix() for p in DATA.iterdir())
    assert "data/surnames.tsv" in files and "data/us_first_names_1990.tsv" in files
    for name in files:
        assert any(fnmatch.fnmatch(name, glob) for glob in globs), name


def descr_table(descr):
    """``{label: (lines, rows)}`` read from the table at the end of DESCR."""
    rows = re.findall(r"^(\S+) +([\d,]+) +([\d,]+)$", descr, flags=re.M)
    return {
        label: (int(a.replace(",", "")), int(b.replace(",", "")))
        for label, a, b in rows
    }


@pytest.mark.parametrize(
    "loader, filename",
    [(load_surnames, "surnames.tsv"), (load_us_first_names, "us_first_names_1990.tsv")],
    ids=["surnames", "first_names"],
)
def test_descr_counts_match_the_file_and_the_rows(loader, filename):
    bunch = loader()
    table = descr_table(bunch.DESCR)
    lines = Counter(fields[1] for fields in raw_fields(filename))
    rows = Counter(bunch.target.tolist())
    assert table.pop("total") == (lines.total(), rows.total())
    assert table == {label: (lines[label], rows[label]) for label in lines}
    assert filename in bunch.DESCR


# ----------------------------------------------------------------- surnames


@pytest.mark.parametrize(
    "raw, name",
    [
        ("Rafaj1", "Rafaj"),
        ("Lu:", "Lu"),
        ("Maxa/B", "Maxa"),
        ("Lytkin,", "Lytkin"),
        ("MonkoAustria", "Monko"),
        ("StrakaO", "Straka"),
        ("O'Brien", "O'Brien"),
        ("Au-Yong", "Au-Yong"),
        ("De la fontaine", "De la fontaine"),
        ("Ter Avest", "Ter Avest"),
        ("Bélanger", "Bélanger"),
        ("Śliwa", "Śliwa"),
    ],
)
def test_cut_note_keeps_the_name_and_drops_what_is_glued_on(raw, name):
    assert _cut_note(raw) == name


def test_surnames_has_18_languages_and_the_documented_size(surnames):
    assert len(surnames.target_names) == 18
    assert len(surnames.data) == 18011
    assert "PyTorch" in surnames.DESCR and "MIT" in surnames.DESCR


def test_surnames_keeps_each_pair_once(surnames):
    pairs = list(zip(surnames.data, surnames.target.tolist(), strict=True))
    assert len(set(pairs)) == len(pairs)


def test_surnames_are_lowercase_letters_and_joiners(surnames):
    for name in surnames.data:
        assert name == name.lower() == name.strip()
        assert all(char.isalpha() or char in "' -" for char in name), name
    # Accents are kept, not folded to ASCII.
    assert {"bélanger", "bäcker"} <= set(surnames.data)


def test_surnames_loses_no_clean_pair_of_the_file(surnames):
    # Every line whose name is only letters and joiners, once stripped and
    # lowercased, is a row: the cleaning drops repeats, nothing else.
    kept = set(zip(surnames.data, surnames.target.tolist(), strict=True))
    clean = re.compile(r"[^\W\d_]+(?:[' -][^\W\d_]+)*")
    expected = {
        (name.strip().lower(), label)
        for name, label in raw_fields("surnames.tsv")
        if clean.fullmatch(name.strip()) and not re.search(r"[a-z][A-Z]", name)
    }
    assert expected <= kept
    # The rest are the names whose notes were cut; "urbanek1" became a repeat.
    assert kept - expected == {
        ("lu", "Chinese"),
        ("maxa", "Czech"),
        ("monko", "Czech"),
        ("rafaj", "Czech"),
        ("straka", "Czech"),
        ("whitmire", "Czech"),
        ("jevolojnov", "Russian"),
        ("lysansky", "Russian"),
        ("lytkin", "Russian"),
    }


def test_surnames_name_under_two_languages_is_two_rows(surnames):
    labels_of = {}
    for name, label in raw_fields("surnames.tsv"):
        labels_of.setdefault(name.strip().lower(), set()).add(label)
    multi = {name for name, labels in labels_of.items() if len(labels) > 1}
    assert len(multi) >= 465  # the README's count, before the cleaning merges
    rows = Counter(surnames.data)
    for name in multi:
        assert rows[name] == len(labels_of[name]), name
    assert sorted(surnames.target[np.asarray(surnames.data) == "baba"]) == [
        "Arabic",
        "Japanese",
    ]


def test_surnames_imbalance_is_kept_and_the_arabic_repeats_go(surnames):
    counts = Counter(surnames.target.tolist())
    lines = Counter(label for _, label in raw_fields("surnames.tsv"))
    assert counts["Arabic"] == len(
        {n for n, lab in raw_fields("surnames.tsv") if lab == "Arabic"}
    )
    assert counts["English"] == lines["English"]  # no repeats there
    assert counts.most_common(1)[0][0] == "Russian"
    assert counts["Russian"] > 100 * counts["Vietnamese"]


# -------------------------------------------------------------- first names


def test_first_names_file_is_as_documented():
    fields = raw_fields("us_first_names_1990.tsv")
    assert all(len(f) == 3 for f in fields)
    names = [name for name, _, _ in fields]
    assert all(re.fullmatch(r"[a-z]+", name) for name in names)
    pairs = [(name, sex) for name, sex, _ in fields]
    assert len(set(pairs)) == len(pairs)


def test_first_names_rows_labels_and_percent(first_names):
    assert len(first_names.data) == 5494
    assert first_names.target_names.tolist() == ["F", "M"]
    assert Counter(first_names.target.tolist()) == {"F": 4275, "M": 1219}
    percent = first_names.percent
    assert percent.dtype == np.float64 and percent.shape == (5494,)
    assert (percent > 0).all()
    for sex in ["F", "M"]:
        share = percent[first_names.target == sex]
        assert (np.diff(share) <= 0).all()  # most common first
        assert 89 < share.sum() < 91


def test_first_names_under_both_sexes_are_two_rows(first_names):
    rows = Counter(first_names.data)
    assert sum(count == 2 for count in rows.values()) == 331
    assert max(rows.values()) == 2
    mary = np.asarray(first_names.data) == "mary"
    assert first_names.target[mary].tolist() == ["F", "M"]
    assert first_names.percent[mary].tolist() == [2.629, 0.009]
