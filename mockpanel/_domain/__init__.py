"""The panel's domain: plain Python, no HTTP, no JSON, no field spellings."""
