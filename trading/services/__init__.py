"""Trading's write side. Import from the sub-modules (states, orders, holds)."""
