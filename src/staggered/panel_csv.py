"""Read a panel CSV so that data errors name the file's lines.

:func:`read_panel_csv` refuses files that are not comma-separated text (workbooks, archives,
binary or empty files) with a :class:`~staggered.errors.PanelError` that says what is expected,
and keeps each row's line in the file as the index, which :func:`staggered.data.encode_panel`
uses to name rows. Importable from :mod:`staggered.data`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from staggered.errors import CSV_LINES, PanelError, _fmt

__all__ = ["read_panel_csv"]


# first bytes of files that are often taken for a panel CSV, and what they are
_MAGIC = {
    b"PK\x03\x04": "a zip archive or an Excel .xlsx workbook",
    b"\xd0\xcf\x11\xe0": "an Excel .xls workbook",
    b"PAR1": "a Parquet file",
    b"\x1f\x8b": "a gzip-compressed file",
    b"%PDF": "a PDF",
}
_EXPECTED = (
    "staggered reads a long panel as comma-separated text: a header line naming the columns, "
    "then one line per unit x period"
)


def read_panel_csv(path: str | Path) -> pd.DataFrame:
    """Read a panel CSV so that data errors name the file's lines.

    Empty cells are read as missing. The index holds each row's line in the file (the header
    is line 1, so the first row is line 2), and ``encode_panel`` names rows by these lines
    (``1 row (line 7 (-3.0))``). Blank lines are skipped. Line numbers assume one line per
    row (a quoted value with a line break shifts the later ones).

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file (UTF-8, or Windows-1252 as Excel writes it).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    PanelError
        The file is empty, has no data rows, is binary (e.g. an Excel workbook) or cannot be
        parsed as CSV; the message names the file and says what is expected.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Panel file {path} does not exist.")
    head = path.read_bytes()[:8192]
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            raise PanelError(
                f"{path} is {kind}, not a CSV file: {_EXPECTED}. Save or export it as CSV."
            )
    if b"\x00" in head:
        raise PanelError(f"{path} is a binary file, not a CSV file: {_EXPECTED}.")
    if not head.strip():
        raise PanelError(f"{path} is empty: {_EXPECTED}.")
    df = _parse_csv(path)
    if len(df) == 0:
        raise PanelError(
            f"{path} has a header line ({_fmt([repr(c) for c in df.columns], limit=30)}) but "
            f"no data rows: {_EXPECTED}."
        )
    df.attrs[CSV_LINES] = str(path)
    return df


def _parse_csv(path: Path) -> pd.DataFrame:
    """Parse with pandas (UTF-8, else Windows-1252); index = line numbers; blank lines out."""
    for encoding in ("utf-8", "cp1252"):
        try:
            df = pd.read_csv(path, keep_default_na=True, skip_blank_lines=False, encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
            raise PanelError(
                f"{path} could not be read as CSV ({str(err).strip()}): {_EXPECTED}, every line "
                "with the same number of commas."
            ) from err
    else:
        raise PanelError(
            f"{path} is neither UTF-8 nor Windows-1252 text: {_EXPECTED}. Save it as CSV UTF-8."
        )
    df.index = pd.RangeIndex(2, len(df) + 2)
    return df[df.notna().any(axis=1)]
