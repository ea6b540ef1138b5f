"""Registry pages, one module per page: registry (create, star), settings, audit."""
