"""Reading administrative CSV files as they come: UTF-8 (with or without BOM) or Windows-1252,
separated by semicolons, commas or tabs, lines ending in CR LF, LF or CR alone (old Mac exports), with line
numbers kept for error reports. A line the reader cannot split (a value past the csv module's size limit)
comes out as a row holding only UNREADABLE and the reason, to be rejected like any bad line."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

UNREADABLE = "__illisible__"


@dataclass(frozen=True)
class CsvFile:
    path: Path
    sha256: str
    encoding: str
    delimiter: str
    header: list[str]

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(line number, row) for each data row; the header is line 1."""
        with self.path.open("r", encoding=self.encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter)
            next(reader, None)
            width = len(self.header)
            for values in _records(reader):
                if isinstance(values, str):
                    yield reader.line_num, {UNREADABLE: values}
                    continue
                if not any(v.strip() for v in values):
                    continue
                row = {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(self.header)}
                if len(values) > width:
                    row["__extra__"] = str(len(values) - width)
                yield reader.line_num, row


def _records(reader: Any) -> Iterator[list[str] | str]:
    """The reader's records, and in place of a record it cannot read the reason (it goes on at the next line)."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field limit" in str(exc):
                yield f"valeur de plus de {csv.field_size_limit():,} caractères".replace(",", " ")
            else:
                yield f"ligne illisible ({exc})"


class CsvFormatError(ValueError):
    pass


def open_csv(path: str | Path) -> CsvFile:
    path = Path(path)
    if not path.is_file():
        raise CsvFormatError(f"fichier introuvable : {path}")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    encoding = "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        encoding = "cp1252"
        text = raw.decode(encoding, errors="replace")
    first_line = next(io.StringIO(text, newline=None), "")  # any line end: CR LF, LF or CR
    if not first_line.strip():
        raise CsvFormatError("fichier vide : la première ligne doit nommer les colonnes")
    delimiter = max(";,\t", key=first_line.count)
    header = [h.strip().lower().lstrip("\ufeff") for h in next(csv.reader([first_line], delimiter=delimiter))]
    if len(set(header)) != len(header):
        raise CsvFormatError("l'en-tête contient des colonnes en double")
    return CsvFile(path, digest, encoding, delimiter, header)
