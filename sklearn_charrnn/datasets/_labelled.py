"""Loaders for the labelled name lists: surnames by language, first names by sex.

Each loader reads its file as published, applies the cleaning its docstring
lists, and returns a :class:`~sklearn.utils.Bunch` whose ``DESCR`` is written
from the counts of this very load, so the text cannot drift from the data.
"""

from collections import Counter

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import validate_params

from ._base import _read_lines

SURNAMES_FILE = "surnames.tsv"
FIRST_NAMES_FILE = "us_first_names_1990.tsv"

# Characters a surname may hold besides letters ("O'Brien", "Au-Yong", "De luca").
_JOINERS = "' -"


def _read_fields(filename):
    """The tab-separated fields of every line of a bundled UTF-8 file."""
    return [line.split("\t") for line in _read_lines(filename, encoding="utf-8")]


def _cut_note(name):
    """Cut what is glued after a name: ``Rafaj1``, ``Lu:``, ``Maxa/B``, ``StrakaO``.

    The name ends at the first character that is neither a letter nor one of
    ``' -``, and at a capital letter that follows a small one (no surname of
    the file is written ``McDonald``-style, so such a capital starts a note).
    """
    for i, char in enumerate(name):
        glued = i > 0 and char.isupper() and name[i - 1].islower()
        if glued or not (char.isalpha() or char in _JOINERS):
            return name[:i]
    return name


def _clean_surname(name):
    """The surname as the loader returns it: stripped, note cut, lowercase."""
    return _cut_note(name.strip()).lower()


def _names_under_several_labels(pairs):
    """Distinct names that appear under two labels or more, in first-seen order."""
    labels_of = {}
    for name, label in pairs:
        labels_of.setdefault(name, set()).add(label)
    return [name for name, labels in labels_of.items() if len(labels) > 1]


def _spelling_ceiling(names):
    """Best accuracy of any function of the spelling on these rows.

    A name kept under k labels is k rows with one spelling: a classifier that
    sees only the spelling gets at most one of them right.
    """
    return len(set(names)) / len(names)


def _counts_table(column, lines, rows):
    """A reST table of lines in the file and rows kept, per label and in total.

    ``lines`` and ``rows`` are ``Counter`` objects keyed by label.
    """
    labels = sorted(lines)
    cells = [(label, f"{lines[label]:,}", f"{rows[label]:,}") for label in labels]
    cells.append(("total", f"{lines.total():,}", f"{rows.total():,}"))
    widths = [
        max(len(c[j]) for c in [(column, "lines", "rows"), *cells]) for j in (0, 1, 2)
    ]
    rule = " ".join("=" * w for w in widths)

    def line(cell):
        return f"{cell[0]:<{widths[0]}} {cell[1]:>{widths[1]}} {cell[2]:>{widths[2]}}"

    body = [line(cell) for cell in cells]
    return "\n".join([rule, line((column, "lines", "rows")), rule, *body, rule])


def _as_bunch_or_pair(names, labels, descr, return_X_y, **extra):
    """``(X, y)`` or the ``Bunch`` a loader returns."""
    target = np.asarray(labels, dtype=str)  # (n_rows,)
    if return_X_y:
        return names, target
    return Bunch(
        data=names,
        target=target,
        target_names=np.unique(target),  # sorted
        DESCR=descr,
        **extra,
    )


SURNAMES_DESCR = """\
.. _surnames_dataset:

Surnames by language of origin
------------------------------

{n_lines:,} surnames, each labelled with one of {n_labels} languages: the name
lists of PyTorch's "NLP from scratch" tutorials (classifying and generating
names with a character-level RNN), as redistributed in a public repository
under the MIT licence. Surnames are facts, not creative text. The file
``{filename}`` (in ``sklearn_charrnn/datasets/data/``) is shipped as
published: one ``surname<TAB>language`` pair a line, UTF-8, capitalised,
accents kept, in blocks of one language each.

What ``load_surnames`` does with the file's dirt, in this order:

- strips white space around a name ({n_stripped} lines end in a space,
  such as ``"Park "``);
- cuts a note glued after a name: the name ends at the first character that
  is neither a letter nor one of ``' -``, and at a capital letter after a
  small one ({n_cut} lines, lowercased in the next step)::

{cut_examples}

- lowercases every name: the first letter is always a capital, so capitals
  add an alphabet that carries almost nothing, and the file capitalises
  inconsistently after a space (``Ter Avest``, ``De la fontaine``). Accents and
  other letters are kept: {n_non_ascii} rows hold a letter outside ASCII
  (such as {non_ascii_examples});
- keeps each (surname, language) pair once, the first in file order: it
  drops {n_repeats:,} repeated lines, most of them from the Arabic list
  (see the table);
- keeps a surname filed under two languages or more as one row per language
  ({n_multi} surnames, {n_multi_rows:,} rows; for example ``{multi_example}``:
  {multi_example_labels}). The file says each is right, so nothing tells
  which to keep. A classifier that sees only the spelling gets at most one
  of such rows right: no classifier can exceed {ceiling:.1%} accuracy on all
  the rows;
- keeps the class imbalance, shown below: stratify splits and read balanced
  accuracy beside accuracy.

The result is {n_rows:,} rows with {n_names:,} distinct surnames, in file
order (grouped by language: shuffle before taking a slice).

{table}
"""


def _notes_block(names):
    """A literal block of the names whose note ``_cut_note`` cuts, before and after."""
    cut = [name for name in names if _cut_note(name) != name]
    width = max(map(len, cut))
    return len(cut), "\n".join(
        f"    {name:<{width}} -> {_cut_note(name)}" for name in cut
    )


def _several_labels_fields(names, labels):
    """DESCR fields about the names kept under several labels.

    ``multi_example`` is the first such name in file order; its rows are
    the ones whose index ``multi_example_rows`` lists.
    """
    multi = _names_under_several_labels(zip(names, labels, strict=True))
    multi_set = set(multi)
    return {
        "n_multi": len(multi),
        "n_multi_rows": sum(name in multi_set for name in names),
        "multi_example": multi[0],
        "multi_example_rows": [i for i, name in enumerate(names) if name == multi[0]],
        "ceiling": _spelling_ceiling(names),
    }


def _surnames_descr(fields, names, labels):
    """``DESCR`` of ``load_surnames`` from the file's fields and the rows kept."""
    raw_names = [name for name, _ in fields]
    stripped = [name.strip() for name in raw_names]
    n_cut, cut_examples = _notes_block(stripped)
    non_ascii = sorted({name for name in names if not name.isascii()})
    multi = _several_labels_fields(names, labels)
    example_labels = sorted(labels[i] for i in multi.pop("multi_example_rows"))
    return SURNAMES_DESCR.format(
        n_lines=len(fields),
        n_labels=len(set(labels)),
        filename=SURNAMES_FILE,
        n_stripped=sum(a != b for a, b in zip(raw_names, stripped, strict=True)),
        n_cut=n_cut,
        cut_examples=cut_examples,
        n_non_ascii=sum(not name.isascii() for name in names),
        non_ascii_examples=", ".join(f"``{name}``" for name in non_ascii[:3]),
        n_repeats=len(fields) - len(names),
        multi_example_labels=", ".join(example_labels),
        n_rows=len(names),
        n_names=len(set(names)),
        table=_counts_table(
            "language", Counter(label for _, label in fields), Counter(labels)
        ),
        **multi,
    )


@validate_params({"return_X_y": ["boolean"]}, prefer_skip_nested_validation=True)
def load_surnames(*, return_X_y=False):
    """Load 18,011 surnames labelled with their language (18 languages; 20,050 lines).

    The name lists of PyTorch's "NLP from scratch" tutorials (MIT licence),
    shipped as published, real-world dirt included. This loader:

    - strips white space around each surname;
    - cuts notes glued after a surname (``Rafaj1``, ``Lu:``, ``Maxa/B``,
      ``MonkoAustria``): a surname ends at the first character that is
      neither a letter nor one of ``' -``, and at a capital after a small
      letter;
    - lowercases, keeping accents (``bélanger``, ``bäcker``, ``o'brien``);
    - keeps each (surname, language) pair once, the first in file order
      (this takes the Arabic list from 2,000 lines to 108 rows);
    - keeps a surname filed under several languages as one row per language;
    - keeps the heavy class imbalance (Russian is about half the rows).

    ``DESCR`` gives the counts of every step and the rows per language.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a ``Bunch``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : list of str
            The surnames, lowercase, in file order (grouped by language).
        target : ndarray of str of shape (n_rows,)
            The language of each surname, capitalised as in the file
            (``"Japanese"``).
        target_names : ndarray of str of shape (18,)
            The distinct languages, sorted.
        DESCR : str
            Provenance and what the loader did, with counts.

    (data, target) : tuple if ``return_X_y`` is True
        The list of surnames and the ndarray of their languages.

    See Also
    --------
    load_us_first_names : First names labelled by sex.

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn_charrnn.datasets import load_surnames
    >>> surnames = load_surnames()
    >>> len(surnames.data), len(surnames.target_names)
    (18011, 18)
    >>> print(surnames.data[0], surnames.target[0])
    khoury Arabic
    >>> X, y = load_surnames(return_X_y=True)
    >>> counts = Counter(y.tolist())
    >>> counts["Russian"], counts["Japanese"], counts["Arabic"], counts["Vietnamese"]
    (9340, 990, 108, 70)
    """
    fields = _read_fields(SURNAMES_FILE)
    pairs = dict.fromkeys((_clean_surname(name), label) for name, label in fields)
    names = [name for name, _ in pairs]
    labels = [label for _, label in pairs]
    descr = _surnames_descr(fields, names, labels)
    return _as_bunch_or_pair(names, labels, descr, return_X_y)


FIRST_NAMES_DESCR = """\
.. _us_first_names_dataset:

US first names by sex, 1990 census
----------------------------------

{n_lines:,} first names, each with the sex it was recorded under (``F`` or
``M``) and its share, in percent, of the people of that sex: the 1990 US
Census name-frequency files (public domain), as shipped by the ``names``
package on PyPI. The file ``{filename}`` (in
``sklearn_charrnn/datasets/data/``) is shipped as published: one
``name<TAB>sex<TAB>percent`` line per name and sex, lowercase ASCII, the
women's names first, each sex from the most common name to the least.

What ``load_us_first_names`` does with the file:

- keeps every line as a row, in file order: the file holds no repeated
  (name, sex) pair, no blank line and no white space around a name;
- keeps a name recorded under both sexes as two rows ({n_multi} names,
  {n_multi_rows:,} rows; for example ``{multi_example}``: {multi_example_percents}).
  ``percent`` tells how common each is. A classifier that sees only the
  spelling gets at most one of such rows right: no classifier can exceed
  {ceiling:.1%} accuracy on all the rows;
- keeps the imbalance, shown below: women's names are more varied, so the
  census needs more of them to cover the same share of people (the percents
  of each sex sum to {percent_sums}).

``percent`` is returned beside ``data`` and ``target``, for example as a
``sample_weight`` or to keep only the common names.

{table}
"""


def _first_names_descr(names, labels, percent):
    """``DESCR`` of ``load_us_first_names`` from the rows kept."""
    multi = _several_labels_fields(names, labels)
    example = [
        f"{labels[i]} {percent[i]:.3f}%" for i in multi.pop("multi_example_rows")
    ]
    labels = np.asarray(labels)  # (n_rows,)
    sums = [f"{percent[labels == sex].sum():.1f} ({sex})" for sex in np.unique(labels)]
    counts = Counter(labels.tolist())
    return FIRST_NAMES_DESCR.format(
        n_lines=len(names),
        filename=FIRST_NAMES_FILE,
        multi_example_percents=", ".join(example),
        percent_sums=" and ".join(sums),
        table=_counts_table("sex", counts, counts),
        **multi,
    )


@validate_params({"return_X_y": ["boolean"]}, prefer_skip_nested_validation=True)
def load_us_first_names(*, return_X_y=False):
    """Load 5,494 US first names labelled by sex, from the 1990 census.

    The 1990 US Census name-frequency lists (public domain): 4,275 women's
    names and 1,219 men's, lowercase ASCII, with each name's share of the
    people of that sex. The file is clean; this loader:

    - keeps every line as a row, in file order (women's names first, each
      sex from the most common name down);
    - keeps a name recorded under both sexes as two rows (331 names, such as
      ``mary``: 2.629% of women, 0.009% of men); ``percent`` says which is
      common;
    - keeps the imbalance between the sexes.

    ``DESCR`` gives the counts.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a ``Bunch``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : list of str
            The first names, lowercase.
        target : ndarray of str of shape (n_rows,)
            The sex each name was recorded under, ``"F"`` or ``"M"``.
        target_names : ndarray of str of shape (2,)
            ``["F", "M"]``.
        percent : ndarray of float of shape (n_rows,)
            The name's share of the people of that sex, in percent.
        DESCR : str
            Provenance and what the loader did, with counts.

    (data, target) : tuple if ``return_X_y`` is True
        The list of names and the ndarray of their sexes.

    See Also
    --------
    load_surnames : Surnames labelled by language.

    Examples
    --------
    >>> from sklearn_charrnn.datasets import load_us_first_names
    >>> first_names = load_us_first_names()
    >>> len(first_names.data), first_names.target_names.tolist()
    (5494, ['F', 'M'])
    >>> print(first_names.data[0], first_names.target[0], first_names.percent[0])
    mary F 2.629
    >>> X, y = load_us_first_names(return_X_y=True)
    >>> int((y == "F").sum()), int((y == "M").sum())
    (4275, 1219)
    """
    fields = _read_fields(FIRST_NAMES_FILE)
    names = [name for name, _, _ in fields]
    labels = [label for _, label, _ in fields]
    percent = np.array([float(share) for _, _, share in fields])  # (n_rows,)
    descr = _first_names_descr(names, labels, percent)
    return _as_bunch_or_pair(names, labels, descr, return_X_y, percent=percent)
