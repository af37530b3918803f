from shipments import create_app, freeze_start_up_objects

app = create_app()
freeze_start_up_objects()
