"""The closed vocabularies stored in the database (lower-case values)."""
import enum

from integrations.models import TERMINAL, Status


class StrEnum(str, enum.Enum):
    def __str__(self):
        return self.value


# The carriers' normalised statuses are the shipments' statuses: one vocabulary.
ShipmentStatus = Status
TERMINAL_STATUSES = TERMINAL


class Direction(StrEnum):
    OUTBOUND = "outbound"  # 出村
    INBOUND = "inbound"  # 进村


class Channel(StrEnum):
    DOUYIN = "douyin"
    KUAISHOU = "kuaishou"
    TAOBAO = "taobao"
    PINDUODUO = "pinduoduo"
    WECHAT = "wechat"
    OFFLINE = "offline"
    OTHER = "other"


class OrganisationKind(StrEnum):
    COOPERATIVE = "cooperative"
    FARM = "farm"
    ENTERPRISE = "enterprise"
    SELLER = "seller"
    AUTHORITY = "authority"  # the officials' bureau (邮政管理局, 商务局…)
    OPERATOR = "operator"  # whoever runs this service


class Role(StrEnum):
    ADMIN = "admin"
    OFFICIAL = "official"
    MEMBER = "member"


class Product(StrEnum):
    PEARL = "pearl"
    TEA = "tea"
    BAYBERRY = "bayberry"
    PEACH_PLUM = "peach_plum"
    GREEN_PLUM = "green_plum"
    TORREYA = "torreya"
    OTHER = "other"


class DivisionLevel(StrEnum):
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"


class StationLevel(StrEnum):
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


class StationKind(StrEnum):
    CO_DISTRIBUTION_CENTRE = "co_distribution_centre"  # 共配中心
    VILLAGE_STATION = "village_station"  # 村级快递服务站
    PASSENGER_FREIGHT_MAIL = "passenger_freight_mail"  # 客货邮融合站点


class EventSource(StrEnum):
    POLL = "poll"
    PUSH = "push"
    DEMO = "demo"
    STATION = "station"  # recorded by a village station attendant (/station/)


class RegistrationSource(StrEnum):
    """How a shipment came to be registered (its provenance)."""

    IMPORT = "import"  # a CSV/XLSX upload or a JSON bulk request: see its import batch and row
    FORM = "form"  # the portal's register form
    API = "api"  # POST /api/v1/shipments with a token
    STATION = "station"  # a village station's outbound (出村) registration
    PUSH = "push"  # first heard of in a carrier push


class RouteKind(StrEnum):
    PASSENGER_FREIGHT_MAIL = "passenger_freight_mail"  # 客货邮融合线路
    COMMON_PROSPERITY = "common_prosperity"  # 共富邮路 (富盛)


class StationActionKind(StrEnum):
    ARRIVAL = "arrival"  # 到站
    HANDOVER = "handover"  # 交给村民（手机尾号核验）
    OUTBOUND = "outbound"  # 出村登记


class PollOutcome(StrEnum):
    OK = "ok"
    NOT_FOUND = "not_found"
    INVALID_NUMBER = "invalid_number"
    NEEDS_PHONE = "needs_phone"
    SUBSCRIBED = "subscribed"
    REFUSED = "refused"  # the subscription was refused
    ERROR = "error"  # timeout, 5xx, 429, bad credentials: the whole call failed


class StopReason(StrEnum):
    DELIVERED = "delivered"
    RETURNED = "returned"
    EXPIRED_NO_NEWS = "expired_no_news"
    INVALID_NUMBER = "invalid_number"
    NEEDS_PHONE = "needs_phone"
    CANCELLED = "cancelled"


class TrackingAlert(StrEnum):
    """Why the carrier side needs an operator's look (STATUS_MODEL.md, alerts)."""

    NO_RECORD_YET = "no_record_yet"  # the carrier has no record of the number yet
    TRACKING_ABORTED = "tracking_aborted"  # the aggregator stopped tracking (Kuaidi100 abort)


class SubscriptionState(StrEnum):
    NONE = "none"
    SUBSCRIBED = "subscribed"
    FAILED = "failed"


class DeliveryState(StrEnum):
    """A webhook delivery: waiting (or retrying), delivered, or given up."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
