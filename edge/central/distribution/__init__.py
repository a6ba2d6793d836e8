"""Galleries and rosters pushed from the centre (#11): enrol at the centre, build a versioned artifact, sign its
manifest with a server identity of the site PKI, announce it retained on the site broker; each gateway verifies,
installs atomically and reports the version (edge/gateway/distribution.py).

  centre.py     enrolment and rosters per school (a folder of sealed galleries, not a database table: why there)
  codec.py      the artifact bytes (a gallery's templates without the at-rest envelope; a roster's CSV)
  manifest.py   the signed manifest, its checks, the topics
  publisher.py  chunks + manifest on MQTT (why MQTT and not HTTPS there)
  commands.py   `edge distribution enroll|roster|publish|status`
"""
