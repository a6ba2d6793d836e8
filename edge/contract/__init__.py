"""The contract between the two halves: the wire language a gateway and the centre speak, and nothing else.

  topics.py     the MQTT topic layout (`edge/v1/…`: the prefix is the version of the layout)
  checkin.py    the check-in event, its builder and its validation; schemas/checkin.v{N}.json, one file per version
  manifest.py   the signed manifest of a distributed gallery or roster, and its topics
  codec.py      a distributed artifact's bytes (a gallery's templates, a roster's CSV)
  signing.py    signed remote commands, and the signer checks the manifest shares

Why a package of its own: the gateway (edge/gateway, firmware_bridge) and the centre (edge/central) are installed
and upgraded apart, and a field or a topic is only safe to change when both sides read it from one place. Both
halves import this package; it imports neither (tests/test_import_graph.py: `python -m edge.devtools.import_graph`
prints the graph). What belongs here is what crosses the wire and must be read identically on both ends; what one
half does with it (publishing, installing, storing) stays in that half. Every format here is versioned (the topic
prefix, a check-in's `schema_version`, the domain lines of the signatures): change one by adding a version that the
other half can accept while the fleet is upgraded, never by editing a version in place.

It rests on shared libraries below both halves (edge.security.pki for the site's certificates, edge.recognition.gallery
and edge.roster for what an artifact decodes to, edge.jsonstrict), never on a half's runtime.
"""
