"""Every write to the inbox goes through one function here; each publishes its event."""
