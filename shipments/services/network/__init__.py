"""The delivery network: stations, centres, 客货邮 routes, station desks and their figures."""
