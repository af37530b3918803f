"""HTML blueprints, one per audience."""


def blueprints():
    """Return the HTML blueprints to register, in order."""
    from shipments.web.auth import bp as auth
    from shipments.web.dashboard import bp as dashboard
    from shipments.web.public import bp as public

    return [public, auth, dashboard]
