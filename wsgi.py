from shipments import create_app

app = create_app()
