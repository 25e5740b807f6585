"""Chapter logic of the book: one module per chapter."""
