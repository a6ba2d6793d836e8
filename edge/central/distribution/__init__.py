"""Galleries and rosters pushed from the centre (#11): enrol at the centre, build a versioned artifact, sign its
manifest with a server identity of the site PKI, announce it retained on the site broker; each gateway verifies,
installs atomically and reports the version (edge/gateway/distribution.py).

  centre.py     enrolment and rosters per school (a folder of sealed galleries, not a database table: why there)
  distributor.py  what the gateways need, rebuilt and published when it changed
  publisher.py  chunks + manifest on MQTT (why MQTT and not HTTPS there)
  commands.py   `edge distribution enroll|roster|publish|status`

The wire format both sides read (the artifact bytes, the signed manifest, its checks and topics) is the contract's:
edge/contract/codec.py and edge/contract/manifest.py.
"""
