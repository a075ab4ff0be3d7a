"""Official documents as printable HTML and PDF: the 申报书 with its frozen hash and a QR code of it, the
承诺书, the 推荐函, the 公示名单 and the 推荐汇总表 ready to stamp (盖章).

One Jinja2 environment over `documents/templates/`, one PDF renderer (WeasyPrint, "Noto Sans CJK SC"),
and one builder per document that reads the database and returns the template's context.
"""
