"""MQTT topic layout. One place builds and parses every topic.

{prefix}/{site}/{gateway}/checkin   check-in events, QoS 1, never retained
{prefix}/{site}/{gateway}/status    'online' (retained) / 'offline' (retained LWT) / 'stopped' (retained)
{prefix}/{site}/{gateway}/health    periodic JSON health report, QoS 0, not retained
{prefix}/{site}/{gateway}/receipt   collector -> gateway: {"seq", "event_id", "status"} once a check-in is
                                    committed (stored / duplicate) or dead-lettered (rejected); QoS 1
{prefix}/{site}/{gateway}/device    gate hardware events and alarms (edge/gateway/device_events.py), QoS 1
{prefix}/{site}/{gateway}/cmd/{name}         remote command request (edge/gateway/remote_commands.py), QoS 1
{prefix}/{site}/{gateway}/cmd/{name}/result  its result, echoing the request_id, QoS 1
{prefix}/collectors/{id}/status     a collector's 'online' / 'offline' / 'stopped' (retained)
{prefix}/servers/{id}/status        a web server's, the same way (retained)
{prefix}/{site}/distribution/{kind}/manifest, …/{kind}/{version}/{index}   the centre's signed gallery and roster
                                    (retained; edge/contract/manifest.py)
{prefix}/{site}/notify/{guardian}   the notifier's MQTT channel (edge/central/notify/channels/mqtt.py)

The site-level names `distribution` and `notify` sit where a gateway id sits: `{site}/notify/checkin` would read
as a check-in of a gateway called `notify`. No gateway may be called so (RESERVED_GATEWAY_IDS): the PKI does not
issue one, the broker's ACL gives none any right, and the collector and the web app ignore such topics.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "edge/v1"
RESERVED_GATEWAY_IDS = frozenset({"distribution", "notify"})
"""Site-level topic names ({prefix}/{site}/distribution/#, {prefix}/{site}/notify/#) that no gateway may be called."""


@dataclass(frozen=True)
class GatewayTopics:
    prefix: str
    site_id: str
    gateway_id: str

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.site_id}/{self.gateway_id}"

    @property
    def checkin(self) -> str:
        return f"{self.base}/checkin"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def health(self) -> str:
        return f"{self.base}/health"

    @property
    def receipt(self) -> str:
        return f"{self.base}/receipt"

    @property
    def device(self) -> str:
        return f"{self.base}/device"


def checkin_filter(prefix: str = DEFAULT_PREFIX, site_id: str = "+") -> str:
    """Subscription filter for all check-ins (of one site, or of every site)."""
    return f"{prefix}/{site_id}/+/checkin"


def shared(group: str, topic_filter: str) -> str:
    """MQTT 5 shared subscription: the broker gives each message to one member of `group`."""
    return f"$share/{group}/{topic_filter}"


def parse_checkin_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> tuple[str, str] | None:
    """(site_id, gateway_id) of a check-in topic, or None when the topic is not one."""
    if not topic.startswith(prefix + "/"):
        return None
    parts = topic[len(prefix) + 1 :].split("/")
    if len(parts) != 3 or parts[2] != "checkin" or not parts[0] or not parts[1] or parts[1] in RESERVED_GATEWAY_IDS:
        return None
    return parts[0], parts[1]


def collector_status(collector_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}/collectors/{collector_id}/status"
