"""Typed SQLAlchemy models, one module per aggregate."""
from shipments.models.divisions import Division, Province, Station
from shipments.models.organisations import ApiToken, Organisation, User
from shipments.models.programs import Program, program_organisations
from shipments.models.reports import (
    ReportDay, ReportDelta, ReportNetworkDay, ReportProgramDay, ReportProgramDim, ReportProgramMonth, ReportQualityDay,
    ReportQualityDelta, ReportQualityMonth,
)
from shipments.models.shipments import Shipment, TrackingEvent

__all__ = [
    "ApiToken", "Division", "Organisation", "Program", "Province", "ReportDay", "ReportDelta", "ReportProgramDay",
    "ReportProgramDim", "ReportProgramMonth", "ReportNetworkDay", "ReportQualityDay", "ReportQualityDelta",
    "ReportQualityMonth", "Shipment", "Station",
    "TrackingEvent", "User", "program_organisations",
]
