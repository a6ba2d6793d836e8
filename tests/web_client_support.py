"""The office's browser against a web app started from its unit (tests/test_deploy_centre.py,
tests/test_acceptance_school_day.py): plain HTTP to 127.0.0.1, its Secure cookies kept by hand."""

from __future__ import annotations

import httpx


class CookieClient:
    """A browser's cookies over plain HTTP: the unit serves 127.0.0.1 behind a TLS proxy, so its cookies are Secure
    (httpx would not send them back to http://); here they are sent back by hand."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=10)
        self.jar: dict[str, str] = {}

    def request(self, method: str, path: str, **kw: object) -> httpx.Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())} if self.jar else {}
        r = self.http.request(method, path, headers=headers, **kw)  # type: ignore[arg-type]
        for raw in r.headers.get_list("set-cookie"):
            name, _, rest = raw.partition("=")
            self.jar[name] = rest.split(";", 1)[0]
        return r
