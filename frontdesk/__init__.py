"""Frontdesk: a self-hosted unified team inbox with a built-in CRM."""
