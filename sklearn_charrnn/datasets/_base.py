"""Loaders for the name lists shipped inside the package."""

from importlib import resources


def _read_lines(filename, encoding="ascii"):
    path = resources.files(__package__).joinpath("data", filename)
    return path.read_text(encoding).splitlines()


def _clean(lines, *, lowercase, deduplicate):
    names = [line.strip() for line in lines]
    if lowercase:
        names = [name.lower() for name in names]
    names = [name for name in names if name]
    if deduplicate:
        names = list(dict.fromkeys(names))
    return names


def load_dinosaurs(*, lowercase=True, deduplicate=True):
    """Load the 1,530 dinosaur genus names shipped with the package (1,543 lines).

    The file is kept as it was published, real-world dirt included: names
    are capitalised except on one line, ``Skeleton`` appears three times and
    a few lines hold two names run together. This loader strips white space,
    lowercases (so the capital first letter does not double the alphabet),
    drops blank lines and removes duplicates, keeping the first occurrence in
    file order. It does not split run-together names: nothing in the file
    says where one ends.

    Parameters
    ----------
    lowercase : bool, default=True
        Lowercase every name.
    deduplicate : bool, default=True
        Keep only the first occurrence of each name (after lowercasing).

    Returns
    -------
    names : list of str
        1,530 names with the defaults, 1,543 with both options off.

    Examples
    --------
    >>> from sklearn_charrnn.datasets import load_dinosaurs
    >>> names = load_dinosaurs()
    >>> len(names), names[0]
    (1530, 'aachenosaurus')
    """
    return _clean(
        _read_lines("dinos.txt"), lowercase=lowercase, deduplicate=deduplicate
    )


def load_names(*, deduplicate=False):
    """Load the 32,033 most common US given names of 2018.

    The list comes from the makemore project (MIT licence), compiled from the
    US Social Security Administration's baby-names data. It is already
    lowercase ASCII, one name per line; 2,539 lines repeat an earlier name,
    kept by default because the list is a sample of a population.

    Parameters
    ----------
    deduplicate : bool, default=False
        Keep only the first occurrence of each name.

    Returns
    -------
    names : list of str
        32,033 names, or 29,494 with ``deduplicate=True``.

    Examples
    --------
    >>> from sklearn_charrnn.datasets import load_names
    >>> names = load_names()
    >>> len(names), names[0]
    (32033, 'emma')
    """
    return _clean(_read_lines("names.txt"), lowercase=False, deduplicate=deduplicate)
