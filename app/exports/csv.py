"""CSV for analysts: UTF-8 with a BOM (so Excel opens Chinese text correctly), stable column
names, produced row by row so large answers stream."""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

BOM = "\ufeff"


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> bytes:
        chunk = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return chunk

    buffer.write(BOM)
    writer.writerow(header)
    yield flush()
    for count, row in enumerate(rows, start=1):
        writer.writerow(["" if cell is None else cell for cell in row])
        if count % 500 == 0:
            yield flush()
    yield flush()
