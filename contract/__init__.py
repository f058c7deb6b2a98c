"""Zone 2: pure functions from model instances to the public v1 shapes."""
