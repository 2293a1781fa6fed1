"""The web layer: app factory, middleware, routes and views. Views parse input, call one
service inside one transaction, and render."""
