"""Chinese phone numbers and e-mail addresses: validation, normal form and masking.
Pure functions."""

import re
import unicodedata

MOBILE = re.compile(r"1[3-9]\d{9}")
EXTENSION = re.compile(r"^(.*?)\s*(?:转|分机|ext\.?|x|#)\s*(\d{1,6})$", re.IGNORECASE)
GROUP_SEPARATORS = re.compile(r"[\s\-()]+")
COUNTRY_PREFIX = re.compile(r"^(?:\+|00)86[\s-]*")
EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
MAX_EMAIL = 254
MAX_EMAIL_LOCAL = 64


class FormatError(ValueError):
    pass


def _landline(digits: str) -> tuple[str, str] | None:
    """(area code, local number) when `digits` is a landline with its area code: 010 and
    02x are three-digit area codes, every other one has four; local numbers have 7 or 8
    digits and start with 2-9."""
    if len(digits) < 10 or digits[0] != "0":
        return None
    area = digits[:3] if digits[1] in "12" else digits[:4]
    local = digits[len(area) :]
    if len(local) not in (7, 8) or local[0] in "01":
        return None
    return area, local


def normalize_phone(raw: str) -> str:
    """`13812345678` for a mobile, `025-83201234` (or `0510-8270123-801` with an extension)
    for a landline with its area code. Spaces, dashes, brackets, full-width digits, a +86
    prefix (also before a landline's area code) and 转/ext/x/# before an extension
    are understood."""
    text = unicodedata.normalize("NFKC", raw).strip()
    international = COUNTRY_PREFIX.match(text) is not None
    text = COUNTRY_PREFIX.sub("", text)
    extension = None
    match = EXTENSION.match(text)
    if match:
        text, extension = match.group(1), match.group(2)
    groups = [group for group in GROUP_SEPARATORS.split(text) if group]
    if not groups or not all(group.isascii() and group.isdigit() for group in groups):
        raise FormatError("a phone number has digits, spaces, dashes and brackets only")
    digits = "".join(groups)
    if international and not digits.startswith(("0", "1")):
        digits = "0" + digits  # +86 25 8320 1234: the area code without its trunk 0
        groups[0] = "0" + groups[0]
    if MOBILE.fullmatch(digits) and extension is None:
        return digits
    landline = _landline(digits)
    if landline is None and extension is None and len(groups) >= 3 and len(groups[-1]) <= 6:
        # 025-83201234-801: the last group is an extension
        landline, extension = _landline("".join(groups[:-1])), groups[-1]
    if landline is None:
        raise FormatError(
            "not a Chinese mobile number (11 digits, 1[3-9]…) nor a landline with its area "
            "code (e.g. 025-83201234, 0510-82701234)"
        )
    area, local = landline
    return f"{area}-{local}" + (f"-{extension}" if extension else "")


def normalize_email(raw: str) -> str:
    """The address with its domain in lower case."""
    text = raw.strip()
    if len(text) > MAX_EMAIL or not EMAIL.fullmatch(text):
        raise FormatError("not an e-mail address such as jiuye@nanjing.gov.cn")
    local, _, domain = text.rpartition("@")
    if len(local) > MAX_EMAIL_LOCAL:
        raise FormatError(f"the part before @ may have at most {MAX_EMAIL_LOCAL} characters")
    return f"{local}@{domain.lower()}"


def mask_phone(phone: str) -> str:
    """`138****5678`, `025-****1234`, `0510-****0123-801`: only the last four digits of the
    number (and the area code, an extension) stay visible."""
    if "-" not in phone:
        return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:]
    area, local, *extension = phone.split("-")
    return "-".join([area, "*" * (len(local) - 4) + local[-4:], *extension])


def mask_email(email: str) -> str:
    """`z***@nanjing.gov.cn`: the first character of the name and the domain."""
    local, _, domain = email.rpartition("@")
    visible = local[:1] if len(local) > 1 else ""
    return f"{visible}***@{domain}"
