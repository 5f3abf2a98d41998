"""Chinese phone numbers and e-mail addresses: normal forms, refusals, masking."""

import pytest

from app.contacts.formats import (
    FormatError,
    mask_email,
    mask_phone,
    normalize_email,
    normalize_phone,
)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0086-19912345678", "19912345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("025-83201234", "025-83201234"),
        ("02583201234", "025-83201234"),
        ("(025) 8320 1234", "025-83201234"),
        ("（025）83201234", "025-83201234"),
        ("010-6520-1234", "010-65201234"),
        ("0510-82701234", "0510-82701234"),
        ("051082701234", "0510-82701234"),
        ("0518-8523456", "0518-8523456"),
        ("025-83201234-801", "025-83201234-801"),
        ("025-83201234转801", "025-83201234-801"),
        ("025 83201234 ext. 12", "025-83201234-12"),
        ("+86 25 8320 1234", "025-83201234"),
        ("+86-510-82701234", "0510-82701234"),
    ],
)
def test_phone_numbers_are_normalised(raw: str, normal: str) -> None:
    assert normalize_phone(raw) == normal


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12345",
        "12812345678",  # no mobile prefix 12x
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "83201234",  # no area code
        "025-0320123",  # a local number cannot start with 0
        "025-132012345",  # nor be 9 digits
        "0510-123456",  # 6 digits
        "13812345678转8",  # mobiles have no extension
        "abc-83201234",
        "025-8320 1234; DROP TABLE",
        "٠٢٥٨٣٢٠١٢٣٤",  # Arabic-Indic digits are not ASCII digits
    ],
)
def test_bad_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(FormatError):
        normalize_phone(raw)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("jiuye@nanjing.gov.cn", "jiuye@nanjing.gov.cn"),
        ("  Wang.Min+spring@NJHRSS.GOV.CN ", "Wang.Min+spring@njhrss.gov.cn"),
        ("a@b.co", "a@b.co"),
    ],
)
def test_emails_are_normalised(raw: str, normal: str) -> None:
    assert normalize_email(raw) == normal


@pytest.mark.parametrize(
    "raw",
    [
        "jiuye",
        "jiuye@",
        "@nanjing.gov.cn",
        "jiuye@nanjing",
        "ji uye@nanjing.gov.cn",
        "jiuye@@nanjing.gov.cn",
        ".jiuye@nanjing.gov.cn",
        "jiu..ye@nanjing.gov.cn",
        "jiuye@-nanjing.gov.cn",
        "王敏@nanjing.gov.cn",
        "x" * 65 + "@nanjing.gov.cn",
        "a@" + "b" * 250 + ".cn",
    ],
)
def test_bad_emails_are_refused(raw: str) -> None:
    with pytest.raises(FormatError):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("025-83201234", "025-****1234"),
        ("0518-8523456", "0518-***3456"),
        ("0510-82701234-801", "0510-****1234-801"),
    ],
)
def test_phone_masking(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("jiuye@nanjing.gov.cn", "j***@nanjing.gov.cn"),
        ("a@b.co", "***@b.co"),
    ],
)
def test_email_masking(email: str, masked: str) -> None:
    assert mask_email(email) == masked
