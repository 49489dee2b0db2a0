"""Unipile's tests (LinkedIn, WhatsApp by QR code; API v1 and v2), with its stand-in,
``peer.py`` (Unipile's REST API and hosted-auth wizard). Not shipped."""
