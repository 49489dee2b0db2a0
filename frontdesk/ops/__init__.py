"""Running Frontdesk: the `frontdesk` commands (run, web, worker, demo, migrate, tokens,
members) and the demo workspace. The top floor: it may import every other part."""
