"""HTML blueprints, one per audience."""


def blueprints():
    """Return the HTML blueprints to register, in order."""
    from shipments.web.admin import bp as admin
    from shipments.web.auth import bp as auth
    from shipments.web.dashboard import bp as dashboard
    from shipments.web.filters import bp as filters
    from shipments.web.i18n import bp as i18n
    from shipments.web.network import bp as network
    from shipments.web.portal import bp as portal
    from shipments.web.public import bp as public
    from shipments.web.security import bp as security
    from shipments.web.seller import bp as seller
    from shipments.web.station import bp as station
    from shipments.web.track import bp as track
    from shipments.web.webhooks import bp as webhooks

    return [security, filters, i18n, public, auth, track, portal, webhooks, seller, station, dashboard, network, admin]
