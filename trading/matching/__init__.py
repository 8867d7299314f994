"""The durable matcher's parts: feeding the engine (book), writing what it did (writes),
owning an instrument's book (locks). The public surface is trading.matcher."""
