"""`render` is pure: every kind renders zh-CN first, then English; nothing from user data reaches a header."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from notifications.addresses import BadAddress, mailbox, validate_address
from notifications.render import kinds, render

ITEMS = [
    {
        "application_id": 7,
        "title": "A & B <script>",
        "tier": "excellent",
        "tier_label": "卓越级",
        "enterprise_name": "甲",
    }
]
CONTEXT = {
    "recipient_name": "张三",
    "deadline": "2025-07-18",
    "days_left": 3,
    "days_overdue": 1,
    "items": ITEMS,
    "count": 1,
    "source": "251 §2(二)1",
    "unit_zh": "青浦区",
    "unit_en": "Qingpu District",
    "overdue_unit_zh": "青浦区",
    "overdue_unit_en": "Qingpu District",
    "notice": "沪经信制〔2025〕430号",
    "contact_office": "上海市经济和信息化委员会",
    "contact_person": "陈珂",
    "contact_phone": "23117664",
    "platform_url": "https://zngc.example.gov.cn",
    # a late expert review (reminder_review): one review of one application
    **{k: ITEMS[0][k] for k in ("application_id", "title", "tier", "tier_label", "enterprise_name")},
    "review_id": 3,
    "review_url": "https://zngc.example.gov.cn/reviews/3",
    "panel": "领航级材料评审第一组",
    "stage": "material_review",
    "stage_label": "材料评审",
}


@pytest.mark.parametrize("kind", [k for k in kinds() if k != "transition"])
def test_every_reminder_kind_renders_chinese_first_then_english(kind: str) -> None:
    rendered = render(kind, CONTEXT)
    assert rendered.subject.startswith("【智能工厂梯度培育】")
    assert "\n" not in rendered.subject
    for body in (rendered.text, rendered.html):
        assert "2025-07-18" in body
        chinese, english = body.index("您好"), body.index("Dear")
        assert chinese < english
        for fact in ("沪经信制〔2025〕430号", "上海市经济和信息化委员会", "23117664", "https://zngc.example.gov.cn"):
            assert fact in body[:english] and fact in body[english:]
    assert "A & B <script>" in rendered.text  # plain text is not HTML-escaped
    assert "A &amp; B &lt;script&gt;" in rendered.html and "<script>" not in rendered.html


def test_subject_folds_line_breaks_from_user_data() -> None:
    rendered = render("reminder_recommend", {**CONTEXT, "unit_zh": "青浦区\r\nBcc: victim@example.com"})
    assert "\r" not in rendered.subject and "\n" not in rendered.subject


def test_missing_field_is_an_error_not_a_blank() -> None:
    with pytest.raises(UndefinedError):
        render("reminder_submit", {k: v for k, v in CONTEXT.items() if k != "deadline"})


def test_render_is_pure() -> None:
    assert render("escalation", CONTEXT) == render("escalation", CONTEXT)


@pytest.mark.parametrize(
    "address",
    ["a@b.com\r\nBcc: x@y.com", "a@b.com\nX: y", "no-at-sign", "a@@b.com", "a b@c.com", "<a@b.com>", "a@b", ""],
)
def test_addresses_with_line_breaks_or_bad_form_are_refused(address: str) -> None:
    with pytest.raises(BadAddress):
        validate_address(address)


def test_names_with_line_breaks_are_refused_and_good_ones_quoted() -> None:
    with pytest.raises(BadAddress):
        mailbox("张三\r\nBcc: x@y.com", "a@example.com")
    assert mailbox('Zhang, "San"', "a@example.com") == '"Zhang, \\"San\\"" <a@example.com>'
    assert validate_address(" officer@qingpu.gov.cn ") == "officer@qingpu.gov.cn"
