"""The delivery network: stations, centres, 客货邮 routes, the station desk and their figures."""
from shipments.services.network import demo, desk, figures, routes, stations

__all__ = ["demo", "desk", "figures", "routes", "stations"]
