"""Bank reconciliation: statements parsed (parsers), imported (statements), matched to
ledger transfers in set-based passes (matching), and the breaks staff resolve (breaks)."""
