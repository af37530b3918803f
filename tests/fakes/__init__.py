"""Local fake aggregator servers (WSGI apps) shared by integration, poller and bench tests.

    from tests.fakes.server import serve
    from tests.fakes.kuaidi100 import Kuaidi100Fake
    fake = Kuaidi100Fake(scenarios={"YT1000000000001": "delivered"})
    url, stop = serve(fake)

Modules: `server` (serve/running), `scenarios` (shared parcel stories),
`kuaidi100`, `kdniao`, `seventeentrack`.
"""
