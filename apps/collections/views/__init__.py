"""Registry App pages that show collections, one module per page: registry, collection, version, link."""
