"""Typed SQLAlchemy models, one module per aggregate."""
from shipments.models.divisions import Division, Province, Station
from shipments.models.operations import Heartbeat, ImportJob
from shipments.models.network import CentreCapacity, CentreDay, Route, RouteStop, StationAction, station_attendants
from shipments.models.organisations import ApiToken, Organisation, User
from shipments.models.programs import Program, program_organisations
from shipments.models.reports import (
    ReportDay, ReportDelta, ReportNetworkDay, ReportNetworkMonth, ReportProgramDay, ReportProgramDim, ReportProgramMonth, ReportProgressDay,
    ReportProgressMonth, ReportQualityCarrierMonth, ReportQualityDay, ReportQualityDelta, ReportQualityMonth,
    ReportQualityYear,
)
from shipments.models.shipments import Shipment, TrackingEvent
from shipments.models.trace import ImportBatch, PollLog, PollLogDay, ShipmentChange
from shipments.models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "ApiToken", "CentreCapacity", "CentreDay", "Division", "Heartbeat", "ImportBatch", "ImportJob", "PollLog",
    "PollLogDay", "Route", "RouteStop", "StationAction", "station_attendants", "Organisation", "Program", "Province",
    "ReportDay", "ReportDelta", "ReportProgramDay",
    "ReportProgramDim", "ReportProgramMonth", "ReportProgressDay", "ReportProgressMonth", "ReportNetworkDay", "ReportNetworkMonth",
    "ReportQualityCarrierMonth", "ReportQualityDay", "ReportQualityDelta", "ReportQualityMonth", "ReportQualityYear", "Shipment",
    "ShipmentChange", "Station",
    "TrackingEvent", "User", "WebhookDelivery", "WebhookSubscription", "program_organisations",
]
