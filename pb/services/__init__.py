"""Services: one module per area. They take a database session and plain values, never a
request, and never commit: the caller frames the transaction."""
