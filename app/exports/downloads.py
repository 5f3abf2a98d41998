"""Export files as HTTP downloads (`Content-Disposition: attachment`): a built file whole, a
streamed one as it is produced or read."""

from fastapi import Response
from fastapi.responses import StreamingResponse

from app.exports.service import ExportFile, StreamedFile


def download(file: ExportFile | StreamedFile) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{file.filename}"'}
    if isinstance(file, ExportFile):
        return Response(file.body, media_type=file.media_type, headers=headers)
    return StreamingResponse(iter(file.chunks), media_type=file.media_type, headers=headers)
