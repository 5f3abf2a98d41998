"""ZIP-based files (xlsx, docx) judged from their directory before anything is inflated: a
"bomb" packs gigabytes of repeated text into a few hundred kilobytes."""

MAX_RATIO = 100
RATIO_CHECKED_FROM = 1024 * 1024


def unpacking_problem(members: dict[str, tuple[int, int]], *, max_total: int) -> str | None:
    """Why an archive whose members have these (compressed, uncompressed) sizes must not be
    opened, or None."""
    total = sum(uncompressed for _, uncompressed in members.values())
    if total > max_total:
        return f"the archive unpacks to {total} bytes, more than {max_total}"
    for name, (compressed, uncompressed) in members.items():
        if uncompressed >= RATIO_CHECKED_FROM and uncompressed > MAX_RATIO * max(compressed, 1):
            return (
                f"the part {name[:100]!r} unpacks {uncompressed // max(compressed, 1)} times "
                f"larger than it is stored (at most {MAX_RATIO}): refused as a compression bomb"
            )
    return None
