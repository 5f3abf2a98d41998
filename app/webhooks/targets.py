"""Where webhooks may go: http(s) URLs whose host is on the operator's allow-list (SSRF).

The URL is parsed the way httpx, which sends the deliveries, parses it, so the host checked
is the host connected to. The check runs when a subscription is made and again before every
delivery (the allow-list may have shrunk since); redirects are never followed.
"""

import re
from collections.abc import Sequence

import httpx

SCHEMES = frozenset({"http", "https"})
ALLOW_LIST_SETTING = "WEBHOOK_ALLOWED_HOSTS"
# Parsers disagree about these (a backslash ends the authority for browsers, not for
# httpx): a URL that could be read two ways is refused rather than interpreted.
_AMBIGUOUS = re.compile(r"[\s\\\x00-\x1f\x7f]")


def _normal_host(host: str) -> str:
    return host.lower().rstrip(".")


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """`host` equals an entry, or ends with ".suffix" for an entry "*.suffix"."""
    host = _normal_host(host)
    for entry in allowed:
        entry = _normal_host(entry)
        if entry.startswith("*."):
            suffix = entry[1:]
            if host.endswith(suffix) and len(host) > len(suffix):
                return True
        elif host == entry:
            return True
    return False


def target_problem(url: str, allowed: Sequence[str]) -> str | None:
    """Why a webhook may not be sent to `url`, or None when it may."""
    if _AMBIGUOUS.search(url):
        return "the URL contains white space, a backslash or a control character"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"not a valid URL: {exc}"
    if parsed.scheme not in SCHEMES:
        return f"only http and https URLs are allowed, not {parsed.scheme or 'none'!r}"
    if parsed.userinfo:
        return "credentials in the URL (user:password@) are not allowed"
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return f"port {parsed.port} is out of range"
    host = parsed.raw_host.decode("ascii")
    if not host:
        return "the URL has no host"
    if not host_allowed(host, allowed):
        hosts = ", ".join(allowed) or "none"
        return (
            f"host {host!r} is not on the webhook allow-list ({hosts}); an operator adds "
            f"hosts with the {ALLOW_LIST_SETTING} setting"
        )
    return None
