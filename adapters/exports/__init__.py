"""Cost Management exports and Cost Details reports (EA, MCA, FOCUS 1.0) read as cost rows."""
