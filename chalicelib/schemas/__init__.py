"""Request and response bodies as pydantic models, one module per resource; field names and limits here are
what the OpenAPI file shows.

- `base`: the two base classes (`Strict` for request bodies, `Out` for responses) and the shared field types
- `common`: errors (problem details), health, the caller, the OpenAPI document, non-JSON bodies (`Text`)
- `clients`, `villages`, `records`, `photos`, `reports`, `escalations`: one resource each

Request bodies refuse unknown fields, strip and bound strings, and are strict about numbers and booleans (no
"1" for 1 or "yes" for true). Rules that need stored data (the client's supervision start) or the clock (no
future times) live in the services.
"""
