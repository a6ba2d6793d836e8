"""The school web app (#10): `edge server run` serves HTML pages and a JSON API over the central store.

Layout: context.py (what the app needs, built once), app.py (create_app + ROUTERS), deps.py (what every route
uses: the user, roles, CSRF, templates, audit), db.py (the web tables on either engine), one module per job for
accounts, sessions, CSRF, rate limiting, audit, i18n, the live feed and the gates; routes/ one module per area."""
