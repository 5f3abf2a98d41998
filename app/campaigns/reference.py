"""The shipped campaigns' indicator tables, in Markdown for the API description (the OpenAPI
document's `info.description`, after `app.core.openapi.API_DESCRIPTION`)."""

from app.campaigns.definition import read_definition_file
from app.campaigns.service import DEFINITIONS_DIR


def indicator_reference() -> str:
    """Every indicator of every shipped campaign, with its Chinese and English label."""
    sections = []
    for path in sorted(DEFINITIONS_DIR.glob("*.yaml")):
        definition = read_definition_file(path)
        for table in definition.tables:
            rows = [
                f"| {i.seq} | `{i.key}` | {i.name_zh} | {i.name_en} | {i.unit_zh} / {i.unit_en} "
                f"| {f'`{i.parent}`' if i.parent else ''} |"
                for i in table.indicators
            ]
            sections.append(
                f"### `{definition.id}` table `{table.id}`: {table.attachment} "
                f"{table.title_zh} ({table.title_en})\n\n"
                "| 序号 | key | 中文 | English | unit | 其中 of |\n|---|---|---|---|---|---|\n"
                + "\n".join(rows)
            )
    return "## Indicators\n\n" + "\n\n".join(sections)
