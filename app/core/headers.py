"""Security headers on every response, and no caching of what a token unlocked."""

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from app.core.asgi import HttpMiddleware

# API answers are data, never a page: nothing may load from them or frame them.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# The offline docs (Swagger UI, ReDoc): their own scripts, styles and workers, nothing else.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
DOCS_PATHS = ("/docs", "/redoc")  # also /docs-assets/… and /docs-redoc.standalone.js
# The dashboard (app/dashboard): its own scripts, styles and images, the API it reads; no
# inline script or style, nothing from another host.
DASHBOARD_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
DASHBOARD_PATH = "/dashboard"

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeaders(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        docs = path.startswith(DOCS_PATHS)
        dashboard = path == DASHBOARD_PATH or path.startswith(DASHBOARD_PATH + "/")
        authenticated = "authorization" in Headers(scope=scope)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
                policy = DOCS_POLICY if docs else DASHBOARD_POLICY if dashboard else API_POLICY
                headers.setdefault("Content-Security-Policy", policy)
                if authenticated:
                    # Answers to a token may carry personal or unpublished data: no shared
                    # cache may keep them; a route that allows revalidation stays private.
                    cache = headers.get("cache-control")
                    if cache is None:
                        headers["Cache-Control"] = "no-store"
                    elif "private" not in cache and "no-store" not in cache:
                        headers["Cache-Control"] = f"private, {cache}"
            await send(message)

        await self.app(scope, receive, with_headers)
