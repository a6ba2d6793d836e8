"""A school whose guardians sign in to the parents' app (#24): its SMS gateway and mail server are the real local
receivers (edge/central/notify/receivers.py), so a test reads the code the parent would have received."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from edge.central.notify.receivers import HttpReceiver, SmtpReceiver
from edge.central.web.context import WebContext
from tests.web_support import SITE, TZ, csrf_from, make_web

AN_PHONE = "0912 345 678"
AN_PHONE_E164 = "+84912345678"
BINH_PHONE = "0987 654 321"
DUNG_EMAIL = "me@example.org"
GUARDIANS = """person_id,name,phone,email,channel,language,kinds
an,Nguyễn Văn Ba,0912 345 678,,sms,vi,arrived;absent
binh,Trần Văn Cường,0987 654 321,,sms,vi,arrived;absent
dung,Phạm Mẹ,,me@example.org,mail,en,arrived
"""


def central(sms: HttpReceiver, smtp: SmtpReceiver, vapid: Path | None = None) -> str:
    push = (
        f'      - {{name: push, type: webpush, vapid_key_file: "{vapid}", subject: "mailto:it@school.example"}}\n'
        if vapid is not None
        else ""
    )
    return f"""
schools:
  - id: {SITE}
    name: Trường THCS Thử
    timezone: {TZ}
    roster: roster.csv
    guardians: guardians.csv
    calendar:
      terms: [{{name: "Học kỳ I", start: 2026-09-05, end: 2027-01-15}}]
      holidays: [{{name: "Nghỉ thử", start: 2026-11-20}}]
      cutoff: "07:45"
      dismissal: "16:30"
    gates: {{main-in: {{vi: "cổng chính", en: "main gate"}}}}
    channels:
      - {{name: sms, type: sms_http, url: "{sms.url}"}}
      - {{name: mail, type: email, host: 127.0.0.1, port: {smtp.port}, cafile: "{smtp.cafile}",
          sender: "Trường THCS Thử <diemdanh@school.example>", timeout_s: 10}}
{push}"""


@dataclass
class ParentsSchool:
    ctx: WebContext
    app: FastAPI
    sms: HttpReceiver
    smtp: SmtpReceiver

    def last_code(self, to: str) -> str:
        """The code in the newest SMS or e-mail sent to `to` (E.164 phone or e-mail address)."""
        for r in reversed(self.sms.received + self.smtp.received):
            if r.body.get("to") in (to, [to]):
                m = re.search(r"\b(\d{6})\b", str(r.body.get("text")))
                assert m, r.body
                return m.group(1)
        raise AssertionError(f"no code sent to {to}")


@contextmanager
def parents_school(
    tmp_path: Path, store_url: str | None = None, *, vapid: Path | None = None, guardians: str = GUARDIANS
) -> Iterator[ParentsSchool]:
    """The school (and its receivers); with `vapid` (a key file) it also has a Web Push channel named `push`."""
    sms = HttpReceiver()
    smtp = SmtpReceiver(tmp_path)
    ctx, app = make_web(tmp_path, store_url, central=central(sms, smtp, vapid), guardians=guardians)
    try:
        yield ParentsSchool(ctx, app, sms, smtp)
    finally:
        ctx.close()
        sms.close()
        smtp.close()


def sign_in(c: TestClient, school: ParentsSchool, address: str, to: str) -> httpx.Response:
    page = c.get("/p/login")
    r = c.post("/p/login", data={"address": address, "csrf_token": csrf_from(page.text)})
    assert r.status_code == 200 and 'id="code-sent"' in r.text, r.text
    done: httpx.Response = c.post(
        "/p/login/code",
        data={"address": to, "code": school.last_code(to), "csrf_token": csrf_from(r.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/p/", done.text
    return done
