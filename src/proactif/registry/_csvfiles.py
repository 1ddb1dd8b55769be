"""Reading administrative CSV files as they come: UTF-8 (with or without BOM) or Windows-1252,
separated by semicolons, commas or tabs, with line numbers kept for error reports."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


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
            for values in reader:
                if not any(v.strip() for v in values):
                    continue
                row = {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(self.header)}
                if len(values) > width:
                    row["__extra__"] = str(len(values) - width)
                yield reader.line_num, row


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
    first_line = next(io.StringIO(text), "")
    if not first_line.strip():
        raise CsvFormatError("fichier vide : la première ligne doit nommer les colonnes")
    delimiter = max(";,\t", key=first_line.count)
    header = [h.strip().lower().lstrip("\ufeff") for h in next(csv.reader([first_line], delimiter=delimiter))]
    if len(set(header)) != len(header):
        raise CsvFormatError("l'en-tête contient des colonnes en double")
    return CsvFile(path, digest, encoding, delimiter, header)
