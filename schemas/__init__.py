"""Avro schemas of the event contract and the code that frames, resolves and decodes them."""
